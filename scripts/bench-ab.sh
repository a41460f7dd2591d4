#!/usr/bin/env bash
# Two builds of leither, alternated in one run so the machine's noise hits both alike:
# a durable `ipfs add` of 1 GiB beside dd conv=fsync, then redis-benchmark SET/GET on each
# build's RESP endpoint (BENCHMARKS.md, "Restructure").
#   scripts/bench-ab.sh OLD_BINARY NEW_BINARY [ROUNDS]
set -u
OLD=$1 NEW=$2 ROUNDS=${3:-3}
W=$(mktemp -d /tmp/leither-ab.XXXXXX)
trap 'rm -rf "$W"' EXIT
mbps() { python3 -c "print(f'{(1<<30)/($2-$1)/1e6:.0f}')"; }
fp() { python3 -c "import socket;s=socket.socket();s.bind(('127.0.0.1',0));print(s.getsockname()[1])"; }
start() { # binary repo [resp-port]
  "$1" --repo "$2" init -p 0 --peer-port 0 --listen 127.0.0.1 ${3:+--resp-addr 127.0.0.1:$3} >/dev/null
  "$1" --repo "$2" run > "$2.log" 2>&1 &
  PID=$!
  for _ in $(seq 200); do grep -q "API and gateway" "$2.log" 2>/dev/null && break; sleep 0.05; done
}
add() {
  R=$W/r$RANDOM; start "$1" "$R"
  t0=$(date +%s.%N); "$1" --repo "$R" ipfs add "$W/file" >/dev/null; t1=$(date +%s.%N)
  kill $PID; wait $PID 2>/dev/null; rm -rf "$R"; mbps "$t0" "$t1"
}
redis() { # binary pipeline
  R=$W/r$RANDOM; P=$(fp); start "$1" "$R" "$P"
  redis-benchmark -p "$P" -a "$(cat "$R/api.token")" -t set,get -c 50 -n 200000 -P "$2" --csv 2>/dev/null \
    | grep -v '^"test"' | cut -d, -f2 | tr -d '"' | tr '\n' ' '
  kill $PID; wait $PID 2>/dev/null; rm -rf "$R"
}
head -c $((1 << 30)) /dev/urandom > "$W/file"; sync
for i in $(seq "$ROUNDS"); do
  t0=$(date +%s.%N); dd if="$W/file" of="$W/dd.out" bs=1M conv=fsync status=none; t1=$(date +%s.%N); rm -f "$W/dd.out"
  echo "round $i durable add MB/s: dd $(mbps "$t0" "$t1") old $(add "$OLD") new $(add "$NEW")"
done
for i in $(seq "$ROUNDS"); do
  for P in 1 16; do echo "round $i redis SET GET -P $P: old $(redis "$OLD" $P)| new $(redis "$NEW" $P)"; done
done
