#!/usr/bin/env bash
# Runs every fuzz target briefly (default 20 s each; FUZZ_SECONDS to change). Needs nightly and
# cargo-fuzz (`cargo install cargo-fuzz`). Crashes land in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-20}
# The router release profile (fat LTO, z, strip) does not link with sanitizer coverage.
export CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_OPT_LEVEL=3 CARGO_PROFILE_RELEASE_STRIP=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
for t in $(cargo +nightly fuzz list); do
  echo "== fuzz $t (${secs}s)"
  cargo +nightly fuzz run "$t" -- -max_total_time="$secs" -rss_limit_mb=2048 2>&1 | grep -E "^Done|SUMMARY|panicked|^error" || true
  if ls fuzz/artifacts/"$t"/crash-* >/dev/null 2>&1; then echo "fuzz $t found a crash"; exit 1; fi
done
