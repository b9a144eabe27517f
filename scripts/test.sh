#!/usr/bin/env bash
# Runs the whole test suite from a fresh clone: installs what the tests need (scripts/setup.sh),
# then `cargo test`. Each test starts its own private redis-server on a free port.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export MANAGE_TEST_PYTHON="${MANAGE_VENV:-$PWD/.venv}/bin/python"
exec cargo test --locked "$@"
