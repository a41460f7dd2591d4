#!/usr/bin/env bash
# Builds static, stripped `leither` binaries for x86_64, aarch64 (Raspberry Pi 3/4/5, most
# routers) and armv7 (older Pis and routers), and fails when one grows past its size budget.
#   scripts/build-release.sh            all three, into dist/
#   TARGETS="aarch64-unknown-linux-gnu" scripts/build-release.sh
# Needs: rustup targets, Debian's gcc-aarch64-linux-gnu and gcc-arm-linux-gnueabihf
# (scripts/router-setup.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
BUDGET=${SIZE_BUDGET:-4000000}
TARGETS=${TARGETS:-"x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf"}
FEATURES=${FEATURES:-}
mkdir -p dist
status=0
for t in $TARGETS; do
  extra=()
  [ -n "$FEATURES" ] && extra=(--no-default-features --features "$FEATURES")
  # crt-static: one self-contained file, nothing to install on the device. No unwind tables
  # for our own code: panics abort (profile.release), so nothing unwinds, and the stripped
  # binary has no symbols for a backtrace anyway; it saves about 47 KB on aarch64. No RELRO
  # segment: GNU ld pads the file so that RELRO ends on a max-page-size boundary (64 KiB on
  # aarch64), up to 64 KiB of zeros; this static, non-PIE binary relocates almost nothing at
  # start, so RELRO protects little (BENCHMARKS.md, router builds). The same reasoning for the
  # code built elsewhere (the prebuilt std, glibc, LMDB, ring): scripts/no-unwind-tables.ld
  # discards the unwind tables left in it, about 420 KB on aarch64 (a panic's backtrace, which
  # the stripped file could not name anyway, comes out empty).
  # armv7: Thumb-2 code, as Debian's armhf compiles everything by default — about a quarter
  # smaller than ARM code (4,135,132 → 3,154,716 B). rustc calls the feature unstable and warns;
  # the build is checked under qemu by scripts/router-test.sh.
  features="+crt-static"
  case "$t" in armv7*) features="+crt-static,+thumb-mode" ;; esac
  RUSTFLAGS="-C target-feature=$features -C force-unwind-tables=no -C link-arg=-Wl,-z,norelro -C link-arg=-Wl,-T,$PWD/scripts/no-unwind-tables.ld" \
    cargo build --release -q -p cli --target "$t" "${extra[@]}"
  out="dist/leither-$t${FEATURES:+-$FEATURES}"
  cp "target/$t/release/leither" "$out"
  size=$(stat -c %s "$out")
  kind=$(file -b "$out" 2>/dev/null | cut -d, -f1-2 || echo "?")
  if [ "$size" -gt "$BUDGET" ]; then
    echo "OVER BUDGET $out: $size bytes > budget $BUDGET bytes"
    status=1
  else
    echo "$out: $size bytes (budget $BUDGET) — $kind"
  fi
done
exit $status
