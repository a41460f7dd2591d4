#!/usr/bin/env bash
# Installs what the router builds and their emulated tests need (idempotent).
set -euo pipefail
rustup target add aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf >/dev/null
need=()
for p in gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf qemu-user-static file; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
