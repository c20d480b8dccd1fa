#!/usr/bin/env bash
# Start a three-server raftkv cluster on loopback in the background, or stop it.
#
#   scripts/cluster.sh          build cmd/raftkv, start servers 1-3, wait for a leader
#   scripts/cluster.sh stop     stop the servers started here (SIGTERM, then SIGKILL)
#   scripts/cluster.sh status   print each server's /status
#   scripts/cluster.sh kill N   SIGKILL server N (a crash: no shutdown, nothing flushed)
#   scripts/cluster.sh start N  start server N again (it recovers from its data)
#   scripts/cluster.sh add N    start server N (4 or 5) as a new server (--join) and add it
#                               with POST /members: a learner first, a voter once caught up
#   scripts/cluster.sh remove N remove server N (1-5) with DELETE /members/N, then stop it
#
# Servers 1-3 form the initial configuration; 4 and 5 may join. Raft on
# 127.0.0.1:7001-7005, HTTP on 127.0.0.1:8001-8005, data, logs and pid files
# under ./.cluster/ (kept across restarts: the cluster comes back with its data
# and its membership; delete .cluster/ for a fresh one).
set -euo pipefail

cd "$(dirname "$0")/.."
DIR=.cluster
N=3   # the initial configuration: servers 1..N
MAX=5 # servers N+1..MAX may join
PEERS=1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003,4=127.0.0.1:7004,5=127.0.0.1:7005
HTTP_PEERS=1=127.0.0.1:8001,2=127.0.0.1:8002,3=127.0.0.1:8003,4=127.0.0.1:8004,5=127.0.0.1:8005
INITIAL=1,2,3

running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

stop() {
	local any=0
	for i in $(seq 1 $MAX); do
		local pidf=$DIR/$i.pid
		if running "$pidf"; then
			any=1
			kill -TERM "$(cat "$pidf")"
			for _ in $(seq 1 50); do running "$pidf" || break; sleep 0.1; done
			if running "$pidf"; then kill -KILL "$(cat "$pidf")"; fi
			echo "stopped server $i (pid $(cat "$pidf"))"
		fi
		rm -f "$pidf"
	done
	[ $any = 1 ] || echo "no cluster running"
}

status() {
	for i in $(seq 1 $MAX); do
		if [ "$i" -le $N ] || running "$DIR/$i.pid"; then
			printf 'server %d: ' "$i"
			curl -s --max-time 2 "http://127.0.0.1:800$i/status" || printf 'not answering\n'
		fi
	done
}

# launch starts server $1; servers outside the initial configuration start
# with --join (they wait to be added, and keep the flag on every restart).
launch() {
	local join=()
	[ "$1" -le $N ] || join=(--join)
	"$DIR/raftkv" --id "$1" --peers "$PEERS" --initial-cluster "$INITIAL" "${join[@]}" \
		--http "127.0.0.1:800$1" --http-peers "$HTTP_PEERS" --data "$DIR/data$1" >>"$DIR/$1.log" 2>&1 &
	echo $! >"$DIR/$1.pid"
}

valid() {
	case "${1:-}" in
	[1-5]) ;;
	*) echo "server number must be 1 to 5, got '${1:-}'" >&2; exit 2 ;;
	esac
}

# via prints the HTTP address of a running server other than $1, for the
# admin requests (a follower redirects them to the leader; curl -L follows).
via() {
	for i in $(seq 1 $MAX); do
		if [ "$i" != "$1" ] && running "$DIR/$i.pid"; then echo "127.0.0.1:800$i"; return; fi
	done
	echo "no other server is running" >&2
	exit 1
}

# admin sends one admin request and prints the answer; it fails unless 200.
admin() {
	local out code
	out=$(curl -s -L --max-time 40 -w '\n%{http_code}' -X "$1" ${3:+--data "$3"} "http://$(via "$4")$2")
	code=${out##*$'\n'}
	echo "${out%$'\n'*}"
	[ "$code" = 200 ]
}

add() {
	valid "$1"
	if running "$DIR/$1.pid"; then echo "server $1 is already running" >&2; exit 1; fi
	[ -x "$DIR/raftkv" ] || { echo "no cluster built here; run $0 first" >&2; exit 1; }
	via "$1" >/dev/null
	if [ -d "$DIR/data$1.removed" ] && [ ! -d "$DIR/data$1" ]; then
		mv "$DIR/data$1.removed" "$DIR/data$1" # its own durable state: safe to reuse
	fi
	if [ "$1" -le $N ] && [ ! -d "$DIR/data$1" ]; then
		# A blank disk under an id of the initial configuration would start
		# as a voter with an empty log, and could vote twice in a term.
		echo "server $1 is in the initial configuration; re-adding it needs its data ($DIR/data$1)" >&2
		exit 1
	fi
	launch "$1"
	for _ in $(seq 1 50); do
		curl -s --max-time 1 "http://127.0.0.1:800$1/status" >/dev/null 2>&1 && break
		sleep 0.1
	done
	echo "started server $1 (pid $(cat "$DIR/$1.pid")); adding it:"
	admin POST /members "{\"id\":$1,\"raft\":\"127.0.0.1:700$1\",\"http\":\"127.0.0.1:800$1\"}" "$1" || {
		echo "adding server $1 failed; it is still running (scripts/cluster.sh remove $1 to undo)" >&2
		exit 1
	}
}

remove() {
	valid "$1"
	admin DELETE "/members/$1" "" "$1" || { echo "removing server $1 failed; nothing stopped" >&2; exit 1; }
	if running "$DIR/$1.pid"; then
		kill -TERM "$(cat "$DIR/$1.pid")"
		for _ in $(seq 1 50); do running "$DIR/$1.pid" || break; sleep 0.1; done
		if running "$DIR/$1.pid"; then kill -KILL "$(cat "$DIR/$1.pid")"; fi
		echo "removed and stopped server $1"
	fi
	rm -f "$DIR/$1.pid"
	# Out of the way of a restart of the cluster, which starts the servers
	# with data; add N brings it back.
	rm -rf "$DIR/data$1.removed"
	[ ! -d "$DIR/data$1" ] || mv "$DIR/data$1" "$DIR/data$1.removed"
}

case "${1:-start}" in
stop) stop; exit 0 ;;
status) status; exit 0 ;;
add) add "${2:-}"; exit 0 ;;
remove) remove "${2:-}"; exit 0 ;;
kill)
	valid "${2:-}"
	if ! running "$DIR/$2.pid"; then echo "server $2 is not running" >&2; exit 1; fi
	kill -KILL "$(cat "$DIR/$2.pid")"
	rm -f "$DIR/$2.pid"
	echo "killed server $2 (SIGKILL)"
	exit 0
	;;
start)
	if [ -n "${2:-}" ]; then
		valid "$2"
		if running "$DIR/$2.pid"; then echo "server $2 is already running" >&2; exit 1; fi
		[ -x "$DIR/raftkv" ] || { echo "no cluster built here; run $0 first" >&2; exit 1; }
		launch "$2"
		# Wait until it has heard from a leader (its first heartbeat), so
		# that requests sent to it right away are served or redirected.
		for _ in $(seq 1 50); do
			curl -s --max-time 1 "http://127.0.0.1:800$2/status" 2>/dev/null | grep -q '"leader":[1-9]' && break
			sleep 0.1
		done
		echo "started server $2 (pid $(cat "$DIR/$2.pid"))"
		exit 0
	fi
	;;
*) echo "usage: $0 [start [N]|stop|status|kill N|add N|remove N]" >&2; exit 2 ;;
esac

for i in $(seq 1 $MAX); do
	if running "$DIR/$i.pid"; then
		echo "server $i is already running (pid $(cat "$DIR/$i.pid")); run $0 stop first" >&2
		exit 1
	fi
done

# The servers to start: those with data (the membership as it was left:
# removed servers' data was moved aside), or 1..N for a fresh cluster.
servers=()
for i in $(seq 1 $MAX); do
	[ -d "$DIR/data$i" ] && servers+=("$i")
done
[ ${#servers[@]} -gt 0 ] || servers=($(seq 1 $N))

mkdir -p "$DIR"
echo "*" >"$DIR/.gitignore" # nothing in here belongs in git
echo "building raftkv..."
${GO:-go} build -o "$DIR/raftkv" ./cmd/raftkv

for i in "${servers[@]}"; do
	launch "$i"
done

leader=""
for _ in $(seq 1 100); do
	for i in "${servers[@]}"; do
		if ! running "$DIR/$i.pid"; then
			echo "server $i exited; its log ($DIR/$i.log) ends with:" >&2
			tail -5 "$DIR/$i.log" >&2
			stop >/dev/null
			exit 1
		fi
		if curl -s --max-time 1 "http://127.0.0.1:800$i/status" 2>/dev/null | grep -q '"role":"leader"'; then
			leader=$i
		fi
	done
	[ -n "$leader" ] && break
	sleep 0.1
done
if [ -z "$leader" ]; then
	echo "no leader after 10s; logs in $DIR/*.log" >&2
	stop >/dev/null
	exit 1
fi

cat <<EOF
raftkv cluster running: server $leader leads.
  servers  ${servers[*]}: HTTP 127.0.0.1:800N, Raft 127.0.0.1:700N
  data, logs and pids in $DIR/

try (-L follows the redirect from a follower to the leader):
  curl -L -X PUT --data-binary 'hello' http://127.0.0.1:8001/kv/greeting
  curl -L http://127.0.0.1:8002/kv/greeting
  curl -L -X DELETE http://127.0.0.1:8003/kv/greeting
  curl http://127.0.0.1:8001/status

crash one:     scripts/cluster.sh kill 1      and bring it back: scripts/cluster.sh start 1
grow, shrink:  scripts/cluster.sh add 4       scripts/cluster.sh remove 1   (curl http://127.0.0.1:8002/members)
stop it with:  scripts/cluster.sh stop        (or: make cluster-stop)
EOF
