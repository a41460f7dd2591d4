#!/usr/bin/env bash
# Honest-request latency under hostile load (the hardening issue's soak): one node, 20 peer
# nodes looking its content up through the DHT, HONEST keep-alive HTTP clients reading a small
# file, first alone and then beside HOSTILE slow connections (slow heads, slow bodies, silent
# connections, readers that never read a 16 MiB file). Prints p50/p99 of both runs.
#   SECONDS_PER_RUN=20 HONEST=200 HOSTILE=500 scripts/bench-soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${SECONDS_PER_RUN:-20}
HONEST=${HONEST:-200}
HOSTILE=${HOSTILE:-500}
ulimit -n "$(ulimit -Hn)"
cargo build --release -q -p cli
cargo build --release -q -p cli --example http_soak
B=$PWD/target/release/leither
SOAK=$PWD/target/release/examples/http_soak
W=$(mktemp -d /tmp/leither-soak.XXXXXX)
cleanup() { for r in "$W"/n*; do [ -d "$r" ] && $B --repo "$r" stop >/dev/null 2>&1 || true; done; rm -rf "$W"; }
trap cleanup EXIT
api_of() { python3 -c "import json;print(json.load(open('$1/daemon.json'))['api'].split('//')[1])"; }
start_node() { # dir [bootstrap]
  $B --repo "$1" init -p 0 --peer-port 0 --listen 127.0.0.1 --resp-addr off >/dev/null
  if [ -n "${2:-}" ]; then $B --repo "$1" run -b "$2" > "$1.log" 2>&1 & else $B --repo "$1" run > "$1.log" 2>&1 & fi
  for _ in $(seq 200); do grep -q "API and gateway" "$1.log" 2>/dev/null && break; sleep 0.05; done
}
start_node "$W/n0"
T=$(api_of "$W/n0")
BOOT=$($B --repo "$W/n0" swarm local | head -1)
echo "soak $(date -u +%FT%TZ) on $(nproc) cores; node $T"
echo "still serving" > "$W/small"; head -c $((16 << 20)) /dev/urandom > "$W/big"
CID=$($B --repo "$W/n0" ipfs add "$W/small" | awk '/ipfs add ok/ {print $4}' | sed 's#/ipfs/##')
BIG=$($B --repo "$W/n0" ipfs add "$W/big" | awk '/ipfs add ok/ {print $4}' | sed 's#/ipfs/##')
$B --repo "$W/n0" dht provide "$CID" >/dev/null 2>&1 || true
PEERS=()
for i in $(seq 1 20); do start_node "$W/n$i" "$BOOT"; PEERS+=("$(api_of "$W/n$i")"); done
sleep 2
echo "== without hostile connections ($HONEST honest clients, 20 peers, ${RUN}s)"
$SOAK "$T" "$CID" "$BIG" "$RUN" "$HONEST" 0 "${PEERS[@]}"
echo "== with $HOSTILE hostile slow connections"
$SOAK "$T" "$CID" "$BIG" "$RUN" "$HONEST" "$HOSTILE" "${PEERS[@]}"
echo "node RSS after: $(awk '/VmRSS/ {print $2, $3}' /proc/"$(python3 -c "import json;print(json.load(open('$W/n0/daemon.json'))['pid'])")"/status)"
