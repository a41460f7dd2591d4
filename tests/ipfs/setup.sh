#!/usr/bin/env bash
# Installs the real IPFS peers for the e2e tests, from the package registries only: kubo 0.22
# (libkubo from PyPI `kubo-python`) in tests/ipfs/.venv and helia in tests/ipfs/helia/node_modules.
# Idempotent and quick when already installed.
set -euo pipefail
cd "$(dirname "$0")"
KUBO_PYTHON=kubo-python==0.1.5
if ! python3 -c "import venv, ensurepip" 2>/dev/null; then
  apt-get update -qq && apt-get install -y -qq python3-venv
fi
if ! .venv/bin/python -c "import importlib.metadata as m; assert m.version('kubo-python') == '${KUBO_PYTHON#*==}'" 2>/dev/null; then
  rm -rf .venv
  python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check "$KUBO_PYTHON"
fi
if ! command -v node >/dev/null; then
  apt-get update -qq && apt-get install -y -qq nodejs npm
fi
# npm ci again only when the lockfile changed since the last install.
if ! [ helia/node_modules/.installed -nt helia/package-lock.json ]; then
  npm ci --prefix helia --no-audit --no-fund --silent
  touch helia/node_modules/.installed
fi
echo "ipfs peers ready: kubo 0.22 from kubo-python $(.venv/bin/python -c "import importlib.metadata as m; print(m.version('kubo-python'))"), helia $(node -p "require('./helia/node_modules/helia/package.json').version")"
