#!/usr/bin/env bash
# The main job on a fresh Debian machine with Rust: the whole webhook pipeline, end to end.
# Makes sure Redis is there (a private redis-server on a free port; Debian's package is installed
# when the binary is missing), builds `manage`, starts `webhook_receiver` and sends the sample
# events in examples/demo/events.jsonl through `enqueue_event` to `rqworker`. It shows the
# deliveries, one failure (a webhook whose URL answers nothing), the fix, and `requeue_failed`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "==> building manage (release)"
cargo build --release --locked -q
MANAGE=$PWD/target/release/manage
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
WORK=$(mktemp -d)
REDIS_PORT=$(free_port); RECEIVER_PORT=$(free_port); DEAD_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" --daemonize yes --pidfile "$WORK/redis.pid" --logfile "$WORK/redis.log"
RECEIVER_PID=
cleanup() {
  [ -n "$RECEIVER_PID" ] && kill "$RECEIVER_PID" 2>/dev/null
  redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
configure() {
  sed -e "s/@REDIS_PORT@/$REDIS_PORT/" -e "s/@RECEIVER_PORT@/$RECEIVER_PORT/" -e "s|@AUDIT_URL@|$1|" examples/demo/manage.toml.in >"$WORK/manage.toml"
}
configure "http://127.0.0.1:$DEAD_PORT/audit"
export MANAGE_CONFIG=$WORK/manage.toml

echo "==> manage check"
"$MANAGE" check
echo "==> starting webhook_receiver on port $RECEIVER_PORT (its output is shown below)"
"$MANAGE" webhook_receiver --port "$RECEIVER_PORT" --secret demo-secret >"$WORK/receiver.log" 2>&1 &
RECEIVER_PID=$!
for _ in $(seq 50); do grep -q Listening "$WORK/receiver.log" 2>/dev/null && break; sleep 0.1; done

echo "==> manage enqueue_event --lines < examples/demo/events.jsonl"
"$MANAGE" enqueue_event --lines --json <examples/demo/events.jsonl | python3 -m json.tool
echo "==> manage rqworker --burst"
"$MANAGE" rqworker --burst
sleep 0.3
echo "==> what the receiver printed"
cat "$WORK/receiver.log"
echo "==> failed jobs (the audit webhook points at a port where nothing listens)"
"$MANAGE" rqjobs --status failed 2>/dev/null || redis-cli -p "$REDIS_PORT" zrange rq:failed:default 0 -1

echo "==> fixing the audit webhook's URL, then: manage requeue_failed --all"
configure "http://127.0.0.1:$RECEIVER_PORT/audit"
"$MANAGE" requeue_failed --all
"$MANAGE" rqworker --burst
sleep 0.3
echo "==> the receiver after the requeue"
tail -n 12 "$WORK/receiver.log"
echo "==> queues now"
"$MANAGE" rqstats 2>/dev/null || "$MANAGE" requeue_failed --all --dry-run
