#!/usr/bin/env bash
# Runs every cargo-fuzz target (fuzz/fuzz_targets/*.rs) for a bounded time each.
#   scripts/fuzz.sh [seconds per target, default 60] [target...]
# Needs a nightly toolchain (libFuzzer's sanitizer flags); installs cargo-fuzz when missing.
# A crash leaves its input in fuzz/artifacts/<target>/; reproduce it with
#   cargo +nightly fuzz run <target> fuzz/artifacts/<target>/<file>
# and turn it into a unit test next to the code it broke before fixing it.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
if ! rustup toolchain list | grep -q '^nightly'; then
  echo "fuzz.sh: installing the nightly toolchain (cargo-fuzz needs it)" >&2
  rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --help >/dev/null 2>&1; then
  echo "fuzz.sh: installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list --fuzz-dir fuzz)
fi
status=0
for target in "${targets[@]}"; do
  echo "== $target: ${seconds}s" >&2
  # -max_len keeps template inputs small; -timeout flags an input that takes over 10 s.
  if ! cargo +nightly fuzz run --fuzz-dir fuzz "$target" -- \
      -max_total_time="$seconds" -max_len=512 -timeout=10 -print_final_stats=1; then
    echo "fuzz.sh: $target found a crash (see fuzz/artifacts/$target/)" >&2
    status=1
  fi
done
exit $status
