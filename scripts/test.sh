#!/usr/bin/env bash
# Runs the whole test suite from a fresh clone: installs what the tests need (scripts/setup.sh),
# then `cargo test` against rq 2.12.0, then the tests that talk to Python RQ again against each
# other supported version (NetBox 4.6's rq 2.10.0, rq 3.0.0), side by side. Each test starts
# its own private redis-server on a free port. Arguments go to the first `cargo test` only.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export MANAGE_TEST_PYTHON="${MANAGE_VENV:-$PWD/.venv}/bin/python"
cargo test --locked "$@"
[ $# -eq 0 ] || exit 0
# The test executables once built, run directly so that both versions run at once (cargo would
# hold its lock for one `cargo test` at a time).
interop=(--test rq_interop --test ordering --test leftovers)
mapfile -t binaries < <(cargo test --locked --no-run "${interop[@]}" --message-format=json 2>/dev/null |
  python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["kind"] == ["test"]:
        print(m["executable"])')
pids=()
for version in 2.10.0 3.0.0; do
  for binary in "${binaries[@]}"; do
    log="target/rq-$version-$(basename "$binary").log"
    MANAGE_TEST_PYTHON="$PWD/.venv-rq$version/bin/python" "$binary" > "$log" 2>&1 &
    pids+=("$!:$version:$log")
  done
done
status=0
for entry in "${pids[@]}"; do
  IFS=: read -r pid version log <<<"$entry"
  if wait "$pid"; then
    echo "rq $version: $(grep -h '^test result' "$log")"
  else
    echo "rq $version: FAILED ($log):" >&2
    cat "$log" >&2
    status=1
  fi
done
exit $status
