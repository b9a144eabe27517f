#!/usr/bin/env bash
# Every benchmark, ours against the Python originals, in one run; writes BENCHMARKS.md.
# usage: scripts/bench.sh [--quick]   (about 10 minutes; --quick about 4)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
VENV=${BASELINE_VENV:-$HOME/.cache/manage-baseline-venv}
[ -x "$VENV/bin/rq" ] || { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q 'rq==2.12.0' requests; }
cargo build --release --locked -q
cargo bench --no-run --locked -q 2>/dev/null
exec python3 scripts/bench.py "$@"
