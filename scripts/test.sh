#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs what the interop tests need, checks the
# sans-IO fence and clippy, then runs every test with cargo-nextest.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v node >/dev/null; then
  apt-get update -qq && apt-get install -y -qq nodejs npm
fi
npm install --prefix tests/interop --no-audit --no-fund --silent
# The real hprose 2.0 Python client for the /webapi/ tests.
python3 -c "import hprose" 2>/dev/null || python3 -m pip install -q hprose==1.4.3
scripts/check-fence.sh
# Router builds (aarch64, armv7) under qemu, with their size budget.
scripts/router-test.sh
cargo clippy --all-targets -q -- -D warnings
if ! cargo nextest --version >/dev/null 2>&1; then
  cargo install cargo-nextest --locked
fi
cargo nextest run --no-fail-fast "$@"
# The same end-to-end suite against the binary built on the other runtime.
cargo nextest run --no-fail-fast -p cli --no-default-features --features runtime-smol "$@"
