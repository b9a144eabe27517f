#!/usr/bin/env bash
# The main job on a fresh machine: builds `manage` and runs the webhook receiver on port 9000.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --locked
exec ./target/release/manage webhook_receiver --port "${PORT:-9000}"
