#!/usr/bin/env bash
# Foundation benchmarks, each beside its anchor measured in the same run (BENCHMARKS.md).
#   SIZE_MIB=1024 scripts/bench.sh      (default 1024; needs ~4×SIZE_MIB of free disk)
# Prints one line per figure; ratios are what to compare across machines.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MIB=${SIZE_MIB:-1024}
BYTES=$((SIZE_MIB << 20))
[ -n "${BIN:-}" ] || cargo build --release -q -p cli
BIN=${BIN:-$PWD/target/release/leither}
W=$(mktemp -d /tmp/leither-bench.XXXXXX)
trap '[ -n "${NODE_PID:-}" ] && kill $NODE_PID 2>/dev/null; [ -n "${HTTPD:-}" ] && kill $HTTPD 2>/dev/null; rm -rf "$W"' EXIT
now() { date +%s.%N; }
rate() { python3 -c "import sys; print(f'{$BYTES/($2-$1)/1e6:.0f}')" "$@"; }
mbps() { python3 -c "print(f'{$1/($3-$2)/1e6:.0f}')"; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "input: $SIZE_MIB MiB of random bytes"
head -c "$BYTES" /dev/urandom > "$W/file"
sync

# Anchors.
t0=$(now); dd if="$W/file" of="$W/dd.out" bs=1M conv=fsync status=none; t1=$(now); rm -f "$W/dd.out"
DD=$(mbps $BYTES $t0 $t1)
SHA=$(openssl speed -evp sha256 -bytes 262144 -seconds 3 2>/dev/null | awk '/^sha256/ {v=$NF; sub("k","",v); printf "%.0f", v*1000/1e6}')
echo "anchor dd conv=fsync: $DD MB/s"
echo "anchor openssl sha256 (256 KiB blocks): $SHA MB/s"

# Our node.
R=$W/repo
$BIN --repo "$R" init -p 0 --listen 127.0.0.1 >/dev/null
$BIN --repo "$R" run > "$W/node.log" 2>&1 &
NODE_PID=$!
for _ in $(seq 100); do grep -q "API and gateway" "$W/node.log" && break; sleep 0.05; done
API=$(sed -n 's/^API and gateway on //p' "$W/node.log")
IDLE=$(awk '/VmRSS/ {print $2}' /proc/$NODE_PID/status)
echo "binary size (stripped release): $(stat -c %s "$BIN") bytes"
echo "idle RSS of a running node: $((IDLE / 1024)) MiB ($IDLE KiB)"

t0=$(now); CID=$($BIN --repo "$R" ipfs add --only-hash "$W/file" | awk '/ipfs add ok/ {print $4}'); t1=$(now)
OH=$(mbps $BYTES $t0 $t1)
echo "ipfs add --only-hash: $OH MB/s = $(python3 -c "print(f'{$OH/$SHA:.2f}')")× openssl sha256"

t0=$(now); $BIN --repo "$R" ipfs add "$W/file" >/dev/null; t1=$(now)
ADD=$(mbps $BYTES $t0 $t1)
PEAK=$(awk '/VmHWM/ {print $2}' /proc/$NODE_PID/status)
ANON=$(awk '/RssAnon/ {print $2}' /proc/$NODE_PID/status)
MAPPED=$(awk '/data.mdb/ {m=1; next} /^[0-9a-f]+-/ {m=0} m && /^Rss:/ {s+=$2} END {print s+0}' /proc/$NODE_PID/smaps)
echo "ipfs add (durable, LMDB fsync per 8 MiB batch): $ADD MB/s = $(python3 -c "print(f'{$ADD/$DD:.2f}')")× dd conv=fsync"
echo "  node memory after the add: peak RSS $((PEAK / 1024)) MiB = anonymous $((ANON / 1024)) MiB + LMDB file pages mapped $((MAPPED / 1024)) MiB (page cache, reclaimable)"

if [ -d tests/interop/node_modules/ipfs-unixfs-importer ]; then
  /usr/bin/time -f "%e %M" -o "$W/js.time" node tests/interop/unixfs-cids.mjs "$W/file" > "$W/js.out"
  read -r JS_S JS_KB < "$W/js.time"
  JS_CID=$(awk '{print $2}' "$W/js.out")
  JS=$(python3 -c "print(f'{$BYTES/$JS_S/1e6:.0f}')")
  [ "$JS_CID" = "${CID#/ipfs/}" ] && same=same || same=DIFFERENT
  echo "JS ipfs-unixfs-importer (in memory): $JS MB/s, peak RSS $((JS_KB / 1024)) MiB, CID $same; ours --only-hash = $(python3 -c "print(f'{$OH/$JS:.2f}')")× JS"
fi

# Gateway GET vs a plain static file server on the same file (both loopback, curl to /dev/null).
G=$(for _ in 1 2 3; do curl -s -o /dev/null -w '%{speed_download}\n' "$API$CID"; done | sort -n | tail -1)
mkdir -p "$W/www" && ln "$W/file" "$W/www/file"
PORT=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])")
python3 -m http.server "$PORT" --bind 127.0.0.1 --directory "$W/www" >/dev/null 2>&1 &
HTTPD=$!
sleep 0.5
S=$(for _ in 1 2 3; do curl -s -o /dev/null -w '%{speed_download}\n' "http://127.0.0.1:$PORT/file"; done | sort -n | tail -1)
python3 -c "g=$G/1e6; s=$S/1e6; print(f'gateway GET (best of 3): {g:.0f} MB/s; python http.server on the same file: {s:.0f} MB/s; ratio {g/s:.2f}')"

# A 10,000-entry directory listing.
mkdir "$W/tenk"
python3 -c "
import os
for i in range(10000):
    open(os.path.join('$W/tenk', f'entry-{i:05d}.txt'), 'w').write(str(i))
"
DIR=$($BIN --repo "$R" ipfs add -r "$W/tenk" | awk '/ipfs add ok/ {print $4}')
curl -s -o /dev/null "$API$DIR/"
L=$(for _ in 1 2 3 4 5; do curl -s -o /dev/null -w '%{time_total}\n' "$API$DIR/"; done | sort -n | head -1)
echo "10k-entry directory listing: $(python3 -c "print(f'{$L*1000:.1f}')") ms (best of 5, $(curl -s "$API$DIR/" | wc -c) bytes of HTML)"
$BIN --repo "$R" stop >/dev/null
NODE_PID=
