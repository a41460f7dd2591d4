#!/usr/bin/env bash
# Database benchmark (issue 6): redis-benchmark against a leither node's RESP endpoint and against
# a real redis-server in the same run, unpipelined and with -P 16. Redis runs twice: with its
# defaults (no AOF) and with appendonly + everysec, the durability class of leither's default
# (every acknowledged write survives kill -9; a power loss may lose the last second).
#   N=200000 scripts/bench-redis.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-200000}
TESTS=${TESTS:-set,get,incr,lpush,hset,zadd,lrange_100}
cargo build --release -q -p cli
B=$PWD/target/release/leither
W=$(mktemp -d /tmp/leither-rbench.XXXXXX)
PIDS=()
cleanup() { $B --repo "$W/n" stop >/dev/null 2>&1 || true; kill "${PIDS[@]}" 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
free_port() { python3 -c "import socket;s=socket.socket();s.bind(('127.0.0.1',0));print(s.getsockname()[1])"; }
LP=$(free_port); RP=$(free_port); AP=$(free_port)
$B --repo "$W/n" init -p 0 --peer-port 0 --listen 127.0.0.1 --resp-addr 127.0.0.1:$LP >/dev/null
$B --repo "$W/n" run > "$W/n.log" 2>&1 &
mkdir -p "$W/r1" "$W/r2"
(cd "$W/r1" && exec redis-server --port $RP --bind 127.0.0.1 > /dev/null 2>&1) &
PIDS+=($!)
(cd "$W/r2" && exec redis-server --port $AP --bind 127.0.0.1 --save "" --appendonly yes --appendfsync everysec > /dev/null 2>&1) &
PIDS+=($!)
for _ in $(seq 200); do grep -q "Redis protocol" "$W/n.log" 2>/dev/null && redis-cli -p $RP ping >/dev/null 2>&1 && redis-cli -p $AP ping >/dev/null 2>&1 && break; sleep 0.05; done
TOKEN=$(cat "$W/n/api.token")
run() { # port pipeline [auth]
  redis-benchmark -p "$1" ${3:+-a "$3"} -t "$TESTS" -c 50 -n "$N" -P "$2" --csv 2>/dev/null | grep -v '^"test"' | cut -d, -f1,2 | tr -d '"'
}
rss() { awk '/VmRSS/{print $2}' "/proc/$1/status"; }
echo "redis-benchmark -c 50 -n $N, $(nproc) cores, $(redis-server --version | cut -d' ' -f3)"
for P in 1 16; do
  echo
  echo "== -P $P (requests/s; ratio = leither / redis) =="
  for side in "leither $LP $TOKEN" "redis $RP" "redis-aof $AP"; do
    set -- $side
    run "$2" "$P" "${3:-}" > "$W/$1.$P"
  done
  printf "%-34s %10s %10s %10s %8s %8s\n" test leither redis redis-aof ratio ratio-aof
  paste -d, "$W/leither.$P" "$W/redis.$P" "$W/redis-aof.$P" | while IFS=, read -r t a _ b _ c; do
    printf "%-34s %10.0f %10.0f %10.0f %8.2f %8.2f\n" "$t" "$a" "$b" "$c" "$(echo "$a/$b" | bc -l)" "$(echo "$a/$c" | bc -l)"
  done
done
echo
NPID=$(python3 -c "import json;print(json.load(open('$W/n/daemon.json'))['pid'])")
echo "RSS after the runs: leither $(( $(rss $NPID) / 1024 )) MiB, redis $(( $(rss ${PIDS[0]}) / 1024 )) MiB, redis-aof $(( $(rss ${PIDS[1]}) / 1024 )) MiB"
echo "leither database on disk: $(du -sh "$W/n/db" | cut -f1)"
