#!/usr/bin/env bash
# Soak (not a test): N webhooks (default 1,000,000) through one `manage rqworker` (release
# build) on a private redis-server, to a fast receiver on loopback that counts request ids.
# Events are enqueued in chunks with `enqueue_event --lines` while the worker runs, so the
# queue stays bounded. Prints the worker's RSS (VmRSS) at the start, middle and end, and how
# many webhooks arrived; the RSS must not grow with the count.
# usage: scripts/soak.sh [N] [CONCURRENCY]   (MANAGE_BIN=path skips the release build)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}; CONCURRENCY=${2:-64}; CHUNK=50000
if [ -z "${MANAGE_BIN:-}" ]; then cargo build --release --locked -q --bin manage; fi
BIN=${MANAGE_BIN:-$PWD/target/release/manage}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port); HTTP_PORT=$(free_port)
DIR=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap cleanup EXIT
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$DIR" \
  --daemonize yes --pidfile "$DIR/redis.pid" --logfile "$DIR/redis.log"
for _ in $(seq 50); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

# The receiver: asyncio, HTTP/1.1 keep-alive, answers 200 and counts distinct request ids.
cat > "$DIR/receiver.py" <<'PY'
import asyncio, re, sys
ids, total = set(), 0
RID = re.compile(rb'"request_id": ?"([^"]*)"')
async def handle(reader, writer):
    global total
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
            body = await reader.readexactly(length)
            m = RID.search(body)
            if m: ids.add(m.group(1))
            total += 1
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()
async def report():
    while True:
        await asyncio.sleep(1)
        with open(sys.argv[2] + ".tmp", "w") as f: f.write(f"{total} {len(ids)}\n")
        import os; os.replace(sys.argv[2] + ".tmp", sys.argv[2])
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]), backlog=1024)
    asyncio.create_task(report())
    async with server: await server.serve_forever()
asyncio.run(main())
PY
python3 "$DIR/receiver.py" "$HTTP_PORT" "$DIR/count" & PIDS+=($!)
cat > "$DIR/manage.toml" <<TOML
[redis]
url = "redis://127.0.0.1:$PORT/0"

[[webhooks]]
name = "soak"
payload_url = "http://127.0.0.1:$HTTP_PORT/hook"

[[event_rules]]
name = "all-sites"
object_types = ["dcim.site"]
event_types = ["updated"]
webhook = "soak"
TOML
cd "$DIR"
enqueue_chunk() { # $1 = first index
  python3 -c "
import sys
a, b = int(sys.argv[1]), int(sys.argv[2])
w = sys.stdout.write
for i in range(a, b):
    w('{\"object_type\": \"dcim.site\", \"event\": \"updated\", \"data\": {\"id\": %d, \"name\": \"site %d\"}, \"request_id\": \"soak-%d\"}\n' % (i, i, i))
" "$1" "$(( $1 + CHUNK < N ? $1 + CHUNK : N ))" | "$BIN" -v 0 enqueue_event --lines >/dev/null
}
rss() { awk '/VmRSS/ {print $2 " kB"}' "/proc/$1/status"; }
delivered() { cat "$DIR/count" 2>/dev/null | cut -d' ' -f1 || echo 0; }

"$BIN" -v 0 rqworker --concurrency "$CONCURRENCY" default 2>"$DIR/worker.log" & WORKER=$!; PIDS+=($WORKER)
START=$(date +%s)
next=0; printed_start=0; printed_middle=0
while :; do
  d=$(delivered); d=${d:-0}
  queued=$(redis-cli -p "$PORT" llen rq:queue:default)
  if [ "$next" -lt "$N" ] && [ "$queued" -lt "$CHUNK" ]; then enqueue_chunk "$next"; next=$(( next + CHUNK )); fi
  if [ "$printed_start" = 0 ] && [ "$d" -ge $(( N / 20 )) ]; then echo "start  (${d} delivered): worker RSS $(rss $WORKER)"; printed_start=1; fi
  if [ "$printed_middle" = 0 ] && [ "$d" -ge $(( N / 2 )) ]; then echo "middle (${d} delivered): worker RSS $(rss $WORKER)"; printed_middle=1; fi
  if [ "$d" -ge "$N" ]; then break; fi
  if ! kill -0 "$WORKER" 2>/dev/null; then echo "worker died:"; tail -20 "$DIR/worker.log"; exit 1; fi
  sleep 1
done
sleep 2
echo "end    ($(delivered) delivered): worker RSS $(rss $WORKER)"
ELAPSED=$(( $(date +%s) - START ))
read -r total distinct < "$DIR/count"
echo "delivered: $total requests, $distinct distinct request ids of $N, in ${ELAPSED} s ($(( total / (ELAPSED > 0 ? ELAPSED : 1) )) /s)"
echo "finished registry: $(redis-cli -p "$PORT" zcard rq:finished:default), failed: $(redis-cli -p "$PORT" zcard rq:failed:default)"
