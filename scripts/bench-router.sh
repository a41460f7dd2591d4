#!/usr/bin/env bash
# Router builds under qemu user emulation: binary sizes, the node's RSS, and `ipfs add`
# throughput next to Debian's own sha256sum for the same architecture under the same emulation
# (absolute emulated speed means little; the ratio does).
#   SIZE_MIB=64 scripts/bench-router.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MIB=${SIZE_MIB:-64}
scripts/router-setup.sh
scripts/build-release.sh
W=$(mktemp -d /tmp/leither-rbench.XXXXXX)
trap 'rm -rf "$W"' EXIT
# Debian's coreutils and libc for each architecture, unpacked (not installed) as qemu sysroots.
for a in arm64 armhf; do
  dpkg --print-foreign-architectures | grep -qx $a || { dpkg --add-architecture $a; apt-get update -qq; }
  (cd "$W" && apt-get download -qq coreutils:$a libc6:$a >/dev/null)
  mkdir -p "$W/root-$a"
  for d in "$W"/*_$a.deb; do dpkg-deb -x "$d" "$W/root-$a"; done
done
head -c $((SIZE_MIB << 20)) /dev/urandom > "$W/file"
now() { date +%s.%N; }
for spec in "aarch64-unknown-linux-gnu qemu-aarch64-static arm64" "armv7-unknown-linux-gnueabihf qemu-arm-static armhf"; do
  read -r t q a <<< "$spec"
  BIN="$q dist/leither-$t"
  t0=$(now); $q -L "$W/root-$a" "$W/root-$a/usr/bin/sha256sum" "$W/file" >/dev/null; t1=$(now)
  SHA=$(python3 -c "print(f'{($SIZE_MIB<<20)/($t1-$t0)/1e6:.1f}')")
  t0=$(now); $BIN ipfs add --only-hash "$W/file" >/dev/null; t1=$(now)
  OH=$(python3 -c "print(f'{($SIZE_MIB<<20)/($t1-$t0)/1e6:.1f}')")
  R=$W/repo-$a
  $BIN --repo "$R" init -p 0 --listen 127.0.0.1 >/dev/null
  $BIN --repo "$R" run > "$W/log-$a" 2>&1 &
  pid=$!
  for _ in $(seq 200); do grep -q "API and gateway" "$W/log-$a" && break; sleep 0.05; done
  IDLE=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
  t0=$(now); $BIN --repo "$R" ipfs add "$W/file" >/dev/null; t1=$(now)
  ADD=$(python3 -c "print(f'{($SIZE_MIB<<20)/($t1-$t0)/1e6:.1f}')")
  $BIN --repo "$R" stop >/dev/null; wait $pid || true
  echo "$t: size $(stat -c %s dist/leither-$t) bytes; idle RSS of the emulated node (qemu included) $((IDLE / 1024)) MiB"
  echo "  sha256sum (Debian $a, emulated): $SHA MB/s; ipfs add --only-hash: $OH MB/s ($(python3 -c "print(f'{$OH/$SHA:.2f}')")×); ipfs add into the repo: $ADD MB/s ($(python3 -c "print(f'{$ADD/$SHA:.2f}')")×)"
done
