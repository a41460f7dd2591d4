#!/usr/bin/env bash
# Networking benchmarks (issue 4), each beside the limits of its stages measured in the same run:
# cross-node download of SIZE_MIB through the DHT and block exchange (fetched, verified, stored)
# next to a raw TCP copy of the same bytes, openssl SHA-256, dd conv=fsync and the adding node's
# local gateway; secure-session handshakes/s; idle RSS of a node with 20 peers; binary size.
#   SIZE_MIB=1024 scripts/bench-net.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MIB=${SIZE_MIB:-1024}
BYTES=$((SIZE_MIB << 20))
cargo build --release -q -p cli
cargo build --release -q -p cli --example session_speed
B=$PWD/target/release/leither
W=$(mktemp -d /tmp/leither-nbench.XXXXXX)
PIDS=()
cleanup() { for r in "$W"/n*; do [ -d "$r" ] && $B --repo "$r" stop >/dev/null 2>&1 || true; done; rm -rf "$W"; }
trap cleanup EXIT
now() { date +%s.%N; }
mbps() { python3 -c "print(f'{$1/($3-$2)/1e6:.0f}')"; }
api_of() { python3 -c "import json;print(json.load(open('$1/daemon.json'))['api'])"; }
start_node() { # dir [bootstrap]
  $B --repo "$1" init -p 0 --peer-port 0 --listen 127.0.0.1 >/dev/null
  if [ -n "${2:-}" ]; then $B --repo "$1" run -b "$2" > "$1.log" 2>&1 & else $B --repo "$1" run > "$1.log" 2>&1 & fi
  for _ in $(seq 200); do grep -q "API and gateway" "$1.log" 2>/dev/null && break; sleep 0.05; done
}
head -c "$BYTES" /dev/urandom > "$W/file"

# Stage limits.
t0=$(now); dd if="$W/file" of="$W/dd.out" bs=1M conv=fsync status=none; t1=$(now); rm -f "$W/dd.out"
DD=$(mbps $BYTES $t0 $t1)
SHA=$(openssl speed -evp sha256 -bytes 262144 -seconds 3 2>/dev/null | awk '/^sha256/ {v=$NF; sub("k","",v); printf "%.0f", v*1000/1e6}')
TCP=$(python3 - "$W/file" <<'PY'
import socket, sys, threading, time
data = open(sys.argv[1], 'rb').read()
srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen(1)
def sink():
    c, _ = srv.accept(); n = 0
    while True:
        b = c.recv(1 << 20)
        if not b: break
        n += len(b)
t = threading.Thread(target=sink); t.start()
s = socket.create_connection(srv.getsockname()); t0 = time.time()
s.sendall(data); s.close(); t.join()
print(f"{len(data)/(time.time()-t0)/1e6:.0f}")
PY
)
echo "stage: dd conv=fsync $DD MB/s; openssl sha256 $SHA MB/s; raw TCP copy on loopback $TCP MB/s"

# Three nodes: a bootstrap, the adding node, the fetching node.
start_node "$W/n0"
BOOT=$($B --repo "$W/n0" swarm local | head -1)
start_node "$W/n1" "$BOOT"
start_node "$W/n2" "$BOOT"
CID=$($B --repo "$W/n1" ipfs add "$W/file" | awk '/ipfs add ok/ {print $4}')
sleep 1
LOCAL=$(curl -s -o /dev/null -w '%{speed_download}' "$(api_of "$W/n1")$CID")
CROSS=$(curl -s -o "$W/got" -w '%{speed_download}' "$(api_of "$W/n2")$CID")
cmp -s "$W/file" "$W/got" && same=byte-identical || same=DIFFERENT
rm -f "$W/got"
python3 -c "
c=$CROSS/1e6; l=$LOCAL/1e6; slow=min($DD,$SHA,$TCP)
print(f'cross-node download (, verified, stored): {c:.0f} MB/s = {c/slow:.2f}x the slowest stage ({slow} MB/s); adding node serving locally {l:.0f} MB/s, ratio {c/l:.2f}')"

# Idle RSS of a node with 20 peers.
for i in $(seq 3 22); do start_node "$W/n$i" "$BOOT"; done
sleep 2
PEERS=$(curl -s -X POST "$(api_of "$W/n0")/api/SwarmPeers" | python3 -c "import json,sys; print(len(json.load(sys.stdin)['result']))")
PID0=$(python3 -c "import json;print(json.load(open('$W/n0/daemon.json'))['pid'])")
echo "idle RSS of a node with $PEERS connections: $(( $(awk '/VmRSS/ {print $2}' /proc/$PID0/status) / 1024 )) MiB (anonymous $(( $(awk '/RssAnon/ {print $2}' /proc/$PID0/status) / 1024 )) MiB)"
target/release/examples/session_speed
echo "binary size: $(stat -c %s "$B") bytes"
