#!/usr/bin/env bash
# Start a three-server raftkv cluster on loopback in the background, or stop it.
#
#   scripts/cluster.sh          build cmd/raftkv, start servers 1-3, wait for a leader
#   scripts/cluster.sh stop     stop the servers started here (SIGTERM, then SIGKILL)
#   scripts/cluster.sh status   print each server's /status
#   scripts/cluster.sh kill N   SIGKILL server N (a crash: no shutdown, nothing flushed)
#   scripts/cluster.sh start N  start server N again (it recovers from its data)
#
# Raft on 127.0.0.1:7001-7003, HTTP on 127.0.0.1:8001-8003, data, logs and pid
# files under ./.cluster/ (kept across restarts: the cluster comes back with its
# data; delete .cluster/ for a fresh one).
set -euo pipefail

cd "$(dirname "$0")/.."
DIR=.cluster
N=3
PEERS=1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003
HTTP_PEERS=1=127.0.0.1:8001,2=127.0.0.1:8002,3=127.0.0.1:8003

running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

stop() {
	local any=0
	for i in $(seq 1 $N); do
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
	for i in $(seq 1 $N); do
		printf 'server %d: ' "$i"
		curl -s --max-time 2 "http://127.0.0.1:800$i/status" || printf 'not answering\n'
	done
}

launch() {
	"$DIR/raftkv" --id "$1" --peers "$PEERS" --http "127.0.0.1:800$1" --http-peers "$HTTP_PEERS" \
		--data "$DIR/data$1" >>"$DIR/$1.log" 2>&1 &
	echo $! >"$DIR/$1.pid"
}

valid() {
	case "${1:-}" in
	[1-3]) ;;
	*) echo "server number must be 1, 2 or 3, got '${1:-}'" >&2; exit 2 ;;
	esac
}

case "${1:-start}" in
stop) stop; exit 0 ;;
status) status; exit 0 ;;
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
*) echo "usage: $0 [start [N]|stop|status|kill N]" >&2; exit 2 ;;
esac

for i in $(seq 1 $N); do
	if running "$DIR/$i.pid"; then
		echo "server $i is already running (pid $(cat "$DIR/$i.pid")); run $0 stop first" >&2
		exit 1
	fi
done

mkdir -p "$DIR"
echo "*" >"$DIR/.gitignore" # nothing in here belongs in git
echo "building raftkv..."
${GO:-go} build -o "$DIR/raftkv" ./cmd/raftkv

for i in $(seq 1 $N); do
	launch "$i"
done

leader=""
for _ in $(seq 1 100); do
	for i in $(seq 1 $N); do
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
  servers  1 2 3: HTTP 127.0.0.1:8001-8003, Raft 127.0.0.1:7001-7003
  data, logs and pids in $DIR/

try (-L follows the redirect from a follower to the leader):
  curl -L -X PUT --data-binary 'hello' http://127.0.0.1:8001/kv/greeting
  curl -L http://127.0.0.1:8002/kv/greeting
  curl -L -X DELETE http://127.0.0.1:8003/kv/greeting
  curl http://127.0.0.1:8001/status

crash one:     scripts/cluster.sh kill 1      and bring it back: scripts/cluster.sh start 1
stop it with:  scripts/cluster.sh stop        (or: make cluster-stop)
EOF
