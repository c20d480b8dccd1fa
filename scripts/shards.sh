#!/usr/bin/env bash
# Run one search as N shards, each a process on this machine, then merge
# them (explore check --shard I/N, explore merge; README "Beyond one
# machine"):
#
#   scripts/shards.sh N [explore check flags...]
#
# Each shard uses one worker unless the flags say otherwise; results,
# fingerprints and logs go to $SHARD_OUT (default shards/). $EXPLORE is the
# explore binary to use (default: built from this checkout). The exit
# status is explore merge's: the merged verdict.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-}
if ! [[ "$n" =~ ^[0-9]+$ ]] || [ "$n" -lt 2 ]; then
	echo "usage: scripts/shards.sh N [explore check flags...]  (N at least 2)" >&2
	exit 2
fi
shift
explore=${EXPLORE:-}
if [ -z "$explore" ]; then
	explore=$(mktemp -d)/explore
	${GO:-go} build -o "$explore" ./cmd/explore
fi
out=${SHARD_OUT:-shards}
mkdir -p "$out"
rm -f "$out"/shard-*-of-"$n".json "$out"/shard-*-of-"$n".fps
pids=()
for ((i = 0; i < n; i++)); do
	"$explore" check --workers 1 "$@" --shard "$i/$n" --shard-out "$out" --progress off \
		>"$out/shard-$i-of-$n.log" 2>&1 &
	pids+=($!)
done
for p in "${pids[@]}"; do
	# A shard's exit status is its own verdict; the merge gives the search's.
	wait "$p" || true
done
exec "$explore" merge ${MERGE_FLAGS:-} "$out"/shard-*-of-"$n".json
