#!/usr/bin/env bash
# Requests/s of `manage webhook_receiver` against NetBox's Python receiver, under the same wrk load
# (scripts/bench_receiver.lua: a ~500-byte JSON webhook with X-Hook-Signature), each printing to a
# file, at 1 and 64 connections.
#
# usage: scripts/bench_receiver.sh      (env: DURATION=10s CONNECTIONS="1 64" SHARED=… KEEP=1)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
shared=${SHARED:-$here/../../shared}
python_receiver="$shared/bench/netbox_receiver.py"
duration=${DURATION:-10s}
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
(cd "$root" && cargo build --release --quiet --bin manage)

"$root/target/release/manage" webhook_receiver --port 0 >"$work/ours.out" 2>"$work/ours.err" &
pids+=($!)
ours=$(listening_port "$work/ours.out")

free_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 "$python_receiver" "$free_port" >"$work/python.out" 2>"$work/python.err" &
pids+=($!)
python=$(listening_port "$work/python.out")

# Runs wrk against a port with C connections; prints "requests/s errors".
load() {
    local port=$1 c=$2 threads=$(( $2 < 2 ? $2 : 2 ))
    wrk -t"$threads" -c"$c" -d"$duration" -s "$here/bench_receiver.lua" "http://127.0.0.1:$port/" >"$work/wrk.txt" 2>&1
    local rate errors
    rate=$(awk '/^Requests\/sec:/ { print $2 }' "$work/wrk.txt")
    errors=$(awk '/Socket errors|Non-2xx/ { sub(/^ +/, ""); printf "%s; ", $0 }' "$work/wrk.txt")
    echo "${rate:-0} ${errors:-none}"
}

printf '%-12s %14s %14s %8s\n' connections "manage req/s" "python req/s" ratio
for c in $connections; do
    read -r ours_rate ours_errors < <(load "$ours" "$c")
    read -r python_rate python_errors < <(load "$python" "$c")
    ratio=$(awk -v a="$ours_rate" -v b="$python_rate" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "-" }')
    printf '%-12s %14.0f %14.0f %8s\n' "$c" "$ours_rate" "$python_rate" "$ratio"
    [[ $ours_errors == none ]] || echo "    manage: $ours_errors"
    [[ $python_errors == none ]] || echo "    python: $python_errors"
done
printf 'printed: manage %s requests, python %s requests\n' \
    "$(grep -c -- '^------------$' "$work/ours.out" || true)" \
    "$(grep -c -- '^------------$' "$work/python.out" || true)"
