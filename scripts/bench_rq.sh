#!/usr/bin/env bash
# Benchmark (not a test): N manage.echo jobs enqueued in batches, then drained by
# `manage rqworker --burst`, on a private redis-server. Prints jobs/s for both steps and the
# Redis commands per job (from INFO commandstats).
# usage: scripts/bench_rq.sh [N] [CONCURRENCY]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-20000}; CONCURRENCY=${2:-64}
cargo build --release --locked -q
BIN=$PWD/target/release/manage
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DIR=$(mktemp -d)
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$DIR" --daemonize yes --pidfile "$DIR/redis.pid" --logfile "$DIR/redis.log"
trap 'redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$DIR"' EXIT
for _ in $(seq 50); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
export MANAGE_REDIS_URL="redis://127.0.0.1:$PORT/0"
now() { date +%s.%N; }
commands() { redis-cli -p "$PORT" info commandstats | awk -F'[=,:]' '/^cmdstat_/ {sum += $3} END {print sum}'; }

redis-cli -p "$PORT" config resetstat >/dev/null
T0=$(now); "$BIN" -v 0 rqenqueue manage.echo --args '[1, "two"]' --count "$N" >/dev/null; T1=$(now)
ENQ_CMDS=$(commands)
redis-cli -p "$PORT" config resetstat >/dev/null
RPID=$(cat "$DIR/redis.pid")
rcpu() { awk '{print $14 + $15}' "/proc/$RPID/stat"; }
R0=$(rcpu)
T2=$(now); /usr/bin/time -f "worker CPU: %U s user, %S s system, max RSS %M KiB" "$BIN" -v 0 rqworker --burst --concurrency "$CONCURRENCY" default; T3=$(now)
R1=$(rcpu); echo "redis-server CPU: $(( (R1 - R0) ))0 ms"
RUN_CMDS=$(commands)
FINISHED=$(redis-cli -p "$PORT" zcard rq:finished:default)
python3 - "$N" "$T0" "$T1" "$T2" "$T3" "$ENQ_CMDS" "$RUN_CMDS" "$FINISHED" <<'PY'
import sys
n, t0, t1, t2, t3, enq, run, fin = int(sys.argv[1]), *map(float, sys.argv[2:6]), int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8])
print(f"enqueue: {n} jobs in {t1-t0:.2f} s = {n/(t1-t0):,.0f} jobs/s, {enq/n:.2f} Redis commands per job")
print(f"rqworker --burst: {fin} finished of {n} in {t3-t2:.2f} s = {n/(t3-t2):,.0f} jobs/s, {run/n:.2f} Redis commands per job (Lua-internal included)")
PY
