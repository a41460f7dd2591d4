#!/usr/bin/env bash
# Runs the router binaries under qemu user emulation: lpki id, run on a temp repo, ipfs add with
# kubo's CIDs, a gateway GET compared byte for byte, stop. Builds them first if needed.
#   scripts/router-test.sh                 aarch64 and armv7
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/router-setup.sh
declare -A QEMU=([aarch64-unknown-linux-gnu]=qemu-aarch64-static [armv7-unknown-linux-gnueabihf]=qemu-arm-static)
TARGETS=${TARGETS:-"aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf"}
TARGETS="$TARGETS" scripts/build-release.sh
# The runtime-smol build must at least compile for aarch64.
TARGETS=aarch64-unknown-linux-gnu FEATURES=runtime-smol scripts/build-release.sh
pass=0 fail=0
check() { if [ "$1" = "$2" ]; then pass=$((pass + 1)); else echo "FAIL $3: got '$1', want '$2'"; fail=$((fail + 1)); fi; }
for t in $TARGETS; do
  q=${QEMU[$t]}
  BIN="$q dist/leither-$t"
  W=$(mktemp -d)
  R=$W/repo
  echo "== $t under $q"
  id1=$($BIN --repo "$R" lpki id)
  id2=$($BIN --repo "$R" lpki id)
  short=${id1%% *}
  check "${#short}" 27 "$t lpki id length"
  peer=${id1#* }
  check "${peer:0:8} ${#peer}" "12D3KooW 52" "$t lpki id: the libp2p peer id beside it"
  check "$id1" "$id2" "$t lpki id stable"
  $BIN --repo "$R" init -p 0 --listen 127.0.0.1 >/dev/null
  $BIN --repo "$R" run > "$W/node.log" 2>&1 &
  pid=$!
  for _ in $(seq 200); do grep -q "API and gateway" "$W/node.log" && break; sleep 0.05; done
  api=$(sed -n 's/^API and gateway on //p' "$W/node.log")
  check "$(grep -c '^leither node' "$W/node.log")" 1 "$t node started"
  printf 'hello world\n' > "$W/hw"
  cid=$($BIN --repo "$R" ipfs add "$W/hw" | awk '/ipfs add ok/ {print $4}')
  check "$cid" /ipfs/QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o "$t kubo CID of hello world"
  : > "$W/empty"
  cid=$($BIN --repo "$R" ipfs add "$W/empty" | awk '/ipfs add ok/ {print $4}')
  check "$cid" /ipfs/QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH "$t kubo CID of the empty file"
  head -c 700000 /dev/urandom > "$W/big"
  want=$(target/release/leither ipfs add --only-hash "$W/big" 2>/dev/null | awk '/ipfs add ok/ {print $4}' || true)
  [ -n "$want" ] || want=$(cargo run -q --release -p cli -- ipfs add --only-hash "$W/big" | awk '/ipfs add ok/ {print $4}')
  cid=$($BIN --repo "$R" ipfs add "$W/big" | awk '/ipfs add ok/ {print $4}')
  check "$cid" "$want" "$t multi-block CID equals the native one"
  curl -s -o "$W/got" "$api$cid"
  if cmp -s "$W/big" "$W/got"; then pass=$((pass + 1)); else echo "FAIL $t gateway bytes differ"; fail=$((fail + 1)); fi
  $BIN --repo "$R" stop >/dev/null
  wait $pid && pass=$((pass + 1)) || { echo "FAIL $t node exit status"; fail=$((fail + 1)); }
  rm -rf "$W"
done
echo "router: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
