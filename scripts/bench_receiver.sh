#!/usr/bin/env bash
# Requests/s of `manage webhook_receiver` against NetBox's Python receiver, under the same wrk load
# (scripts/bench_receiver.lua: a ~500-byte JSON webhook with X-Hook-Signature), each printing to a
# file, at 1 and 64 connections. Each figure is the median of ROUNDS runs, alternating between the
# two receivers, since a shared machine's noise would otherwise decide the ratio. A third column,
# "floor", is examples/loopback_floor.rs: a server that answers without parsing or printing
# anything, i.e. the most any receiver can reach here (one connection is bound by round trips).
# The Python receiver answers HTTP/1.0 and closes every connection; wrk reports those closes as
# "read" socket errors, which is expected.
#
# usage: scripts/bench_receiver.sh
#   env: DURATION=10s (per run)  ROUNDS=3  CONNECTIONS="1 64"  SHARED=<dir with bench/>  KEEP=1 (keep outputs)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
shared=${SHARED:-$here/../../shared}
python_receiver="$shared/bench/netbox_receiver.py"
duration=${DURATION:-10s}
rounds=${ROUNDS:-3}
connections=${CONNECTIONS:-"1 64"}
work=$(mktemp -d)

[[ -f $python_receiver ]] || { echo "not found: $python_receiver (set SHARED)" >&2; exit 1; }
if ! command -v wrk >/dev/null; then
    apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
fi

pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [[ -z ${KEEP:-} ]]; then rm -rf "$work"; else echo "outputs kept in $work"; fi
}
trap cleanup EXIT

# Waits for a receiver's "Listening on port http://localhost:PORT." line and prints PORT.
listening_port() {
    for _ in $(seq 100); do
        port=$(sed -nE 's/^Listening on port http:\/\/localhost:([0-9]+)\..*/\1/p' "$1" | head -1)
        [[ -n $port ]] && { echo "$port"; return; }
        sleep 0.1
    done
    echo "no Listening line in $1" >&2
    exit 1
}

echo "building manage (release)..." >&2
(cd "$root" && cargo build --release --quiet --bin manage --example loopback_floor)

"$root/target/release/manage" webhook_receiver --port 0 >"$work/ours.out" 2>"$work/ours.err" &
pids+=($!)
ours=$(listening_port "$work/ours.out")

free_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 "$python_receiver" "$free_port" >"$work/python.out" 2>"$work/python.err" &
pids+=($!)
python=$(listening_port "$work/python.out")

"$root/target/release/examples/loopback_floor" >"$work/floor.out" 2>&1 &
pids+=($!)
floor=$(listening_port "$work/floor.out")

# Runs wrk against a port with C connections; prints "requests/s errors".
load() {
    local port=$1 c=$2 threads=$(( $2 < 2 ? $2 : 2 ))
    wrk -t"$threads" -c"$c" -d"$duration" -s "$here/bench_receiver.lua" "http://127.0.0.1:$port/" >"$work/wrk.txt" 2>&1
    local rate errors
    rate=$(awk '/^Requests\/sec:/ { print $2 }' "$work/wrk.txt")
    errors=$(awk '/Socket errors|Non-2xx/ { sub(/^ +/, ""); printf "%s; ", $0 }' "$work/wrk.txt")
    echo "${rate:-0} ${errors:-none}"
}

# The median of the numbers given as arguments.
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "wrk: $duration per run, median of $rounds alternating runs per figure" >&2
printf '%-12s %14s %14s %8s %14s\n' connections "manage req/s" "python req/s" ratio "floor req/s"
for c in $connections; do
    ours_rates=() python_rates=() floor_rates=()
    for _ in $(seq "$rounds"); do
        read -r rate errors < <(load "$ours" "$c")
        ours_rates+=("$rate")
        [[ $errors == none ]] || echo "    manage, $c connections: $errors" >&2
        read -r rate errors < <(load "$python" "$c")
        python_rates+=("$rate")
        [[ $errors == none ]] || echo "    python, $c connections: $errors" >&2
        read -r rate errors < <(load "$floor" "$c")
        floor_rates+=("$rate")
    done
    ours_rate=$(median "${ours_rates[@]}")
    python_rate=$(median "${python_rates[@]}")
    floor_rate=$(median "${floor_rates[@]}")
    ratio=$(awk -v a="$ours_rate" -v b="$python_rate" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "-" }')
    printf '%-12s %14.0f %14.0f %8s %14.0f\n' "$c" "$ours_rate" "$python_rate" "$ratio" "$floor_rate"
    echo "    runs: manage ${ours_rates[*]}; python ${python_rates[*]}; floor ${floor_rates[*]}" >&2
done
echo "printed by manage: $(grep -c -- '^------------$' "$work/ours.out" || true) requests" >&2
