#!/usr/bin/env python3
"""Every benchmark in one run, ours and the Python originals side by side, written to BENCHMARKS.md.

usage: scripts/bench.sh [--quick] [STEP...]   (builds, installs what is missing, then runs this;
       STEP: e2e receiver enqueue requeue scaling latency memory guarantees observability gateway)

Each figure is the median of RUNS runs (default 3; --quick: 1) on this machine, or of SHORT_RUNS (default 5)
for our end-to-end and enqueue runs, which take seconds; ratios compare
figures measured in the same run. Nothing here is a test: it prints and writes numbers only.
"""
import json, os, re, shutil, signal, socket, statistics, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SHARED", ROOT.parent / "shared"))
MANAGE = ROOT / "target/release/manage"
QUICK = "--quick" in sys.argv
RUNS = 1 if QUICK else int(os.environ.get("RUNS", "3"))
# Our short runs (a few seconds each) are repeated more: their medians settle this machine's noise.
SHORT_RUNS = 1 if QUICK else int(os.environ.get("SHORT_RUNS", "5"))
VENV = Path(os.environ.get("BASELINE_VENV", Path.home() / ".cache/manage-baseline-venv"))
rows, notes = [], []


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close(); return port


def sh(cmd, **kw):
    return subprocess.run(cmd, shell=isinstance(cmd, str), check=True, capture_output=True, text=True, **kw).stdout


class Redis:
    def __init__(self):
        self.dir = tempfile.mkdtemp(); self.port = free_port()
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", self.dir], stdout=subprocess.DEVNULL)
        for _ in range(100):
            if subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True).returncode == 0: break
            time.sleep(0.05)
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def cli(self, *args):
        return sh(["redis-cli", "-p", str(self.port), *map(str, args)]).strip()

    def commands(self):
        return sum(int(m) for m in re.findall(r"calls=(\d+)", self.cli("info", "commandstats")))

    def cpu(self):
        return proc_cpu(self.proc.pid)

    def stop(self):
        self.proc.terminate(); self.proc.wait(); shutil.rmtree(self.dir, ignore_errors=True)


def proc_cpu(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"): return int(line.split()[1])
    return 0


class Receiver:
    def __init__(self, *extra):
        self.out = tempfile.NamedTemporaryFile(delete=False, suffix=".log").name
        self.err = tempfile.NamedTemporaryFile(delete=False, suffix=".err").name
        # With --json the "Listening on" line goes to stderr, so both are searched.
        self.proc = subprocess.Popen([MANAGE, "webhook_receiver", "--port", "0", *extra], stdout=open(self.out, "w"), stderr=open(self.err, "w"))
        for _ in range(100):
            m = re.search(r"localhost:(\d+)\.", Path(self.out).read_text() + Path(self.err).read_text())
            if m: self.port = int(m.group(1)); break
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{self.port}/"

    def stop(self):
        self.proc.send_signal(signal.SIGINT); self.proc.wait(timeout=30); os.unlink(self.out); os.unlink(self.err)


def config(redis, url, extra="", top=""):
    """One webhook `bench` (with `extra` TOML) and its rule; `top` adds sections ([history], …)."""
    path = tempfile.NamedTemporaryFile(delete=False, suffix=".toml", mode="w")
    path.write(f'[redis]\nurl = "{redis.url}"\n{top}\n[[webhooks]]\nname = "bench"\npayload_url = "{url}"\nsecret = "s3cret"\n{extra}\n'
               '[[event_rules]]\nname = "bench"\nobject_types = ["dcim.site"]\nevent_types = ["created", "updated"]\nwebhook = "bench"\n')
    path.close(); return path.name


def event(i, tag="e", object_id=None, kind="created"):
    return {"object_type": "dcim.site", "event": kind, "username": "admin", "request_id": f"{tag}-{i}",
            "data": {"id": i if object_id is None else object_id, "name": f"site-{i}", "slug": f"site-{i}", "status": {"value": "active", "label": "Active"}, "tags": []}}


def events_file(n, tag="e", objects=None):
    """n events; with `objects`, they fall on that many objects (each object's events in order)."""
    path = tempfile.NamedTemporaryFile(delete=False, suffix=".jsonl", mode="w")
    for i in range(n):
        path.write(json.dumps(event(i, tag, None if objects is None else i % objects, "created" if objects is None else "updated")) + "\n")
    path.close(); return path.name


def manage(cfg, *args, stdin=None):
    env = dict(os.environ, MANAGE_CONFIG=cfg)
    return subprocess.run([MANAGE, "-v", "0", *args], env=env, check=True, capture_output=True, text=True, stdin=stdin)


def timed(fn):
    start = time.perf_counter(); fn(); return time.perf_counter() - start


def median(values):
    return statistics.median(values)


def row(name, ours, python, aim, command, unit="/s"):
    ratio = f"{ours / python:.1f}x" if python else "-"
    rows.append((name, f"{ours:,.0f} {unit}".strip(), f"{python:,.0f} {unit}".strip() if python else "-", ratio, aim, command))
    print(f"{name}: ours {ours:,.0f}{unit} python {python or '-'} ratio {ratio}", flush=True)


def e2e_ours(n, concurrency=256, workers=1, delay_ms=0, queued_extra=0, extra="", top="", objects=None, worker_args=()):
    """Enqueue n events, then time rqworker --burst (workers processes) delivering them."""
    redis = Redis(); recv = Receiver(*(["--delay", str(delay_ms)] if delay_ms else []))
    cfg = config(redis, recv.url, extra, top)
    with open(events_file(n, objects=objects)) as f:
        manage(cfg, "enqueue_event", "--lines", stdin=f)
    if queued_extra:
        manage(cfg, "rqenqueue", "manage.echo", "--queue", "default", "--count", str(queued_extra))
    redis.cli("config", "resetstat")
    cpu0 = (redis.cpu(), proc_cpu(recv.proc.pid))
    env = dict(os.environ, MANAGE_CONFIG=cfg)
    start = time.perf_counter()
    args = [MANAGE, "-v", "0", "rqworker", "--concurrency", str(concurrency), *worker_args, "default"]
    args += ["--max-jobs", str(n // workers)] if queued_extra else ["--burst"]
    procs = [subprocess.Popen(args, env=env) for _ in range(workers)]
    worker_cpu = 0.0
    for p in procs:
        _, status, usage = os.wait4(p.pid, 0); worker_cpu += usage.ru_utime + usage.ru_stime
    seconds = time.perf_counter() - start
    delivered = int(redis.cli("zcard", "rq:finished:default"))
    commands = redis.commands()
    cpu = (redis.cpu() - cpu0[0], worker_cpu, proc_cpu(recv.proc.pid) - cpu0[1])
    recv.stop(); redis.stop()
    return n / seconds, delivered, commands / n, cpu, seconds


def python_baseline(n, mode, url):
    out = sh(["bash", str(SHARED / "bench/rq_baseline.sh"), str(n), mode, url], env=dict(os.environ, BASELINE_VENV=str(VENV)))
    return float(re.search(r"= ([\d.]+) jobs/s", out).group(1))


def bench_e2e():
    n = 20000
    ours = [e2e_ours(n) for _ in range(SHORT_RUNS)]
    rate = median([o[0] for o in ours])
    best = max(ours, key=lambda o: o[0])
    recv = Receiver()
    simple = median([python_baseline(2000, "simple", recv.url) for _ in range(RUNS)])
    fork = python_baseline(300 if not QUICK else 100, "fork", recv.url)
    recv.stop()
    row("End-to-end webhooks (20,000 events, 1 worker) vs RQ SimpleWorker", rate, simple, ">= 10,000/s and >= 40x", "scripts/bench.sh (e2e)")
    row("End-to-end webhooks vs RQ forking Worker (NetBox's)", rate, fork, "-", f"bash ../shared/bench/rq_baseline.sh 300 fork <receiver>")
    notes.append(f"End to end: {best[1]} of {n} delivered in the best run; {best[2]:.1f} Redis commands per webhook "
                 f"(INFO commandstats, Lua-internal calls included); CPU seconds: redis-server {best[3][0]:.2f}, worker {best[3][1]:.2f}, "
                 f"receiver {best[3][2]:.2f} over {best[4]:.2f} s wall, i.e. per webhook: worker {best[3][1] / n * 1e6:.0f} µs, "
                 f"redis-server {best[3][0] / n * 1e6:.0f} µs, receiver {best[3][2] / n * 1e6:.0f} µs.")


def bench_receiver():
    out = sh(["bash", str(ROOT / "scripts/bench_receiver.sh")], env=dict(os.environ, ROUNDS=str(RUNS), DURATION="5s" if QUICK else "10s", SHARED=str(SHARED)))
    for c in (1, 64):
        m = re.search(rf"^\s*{c}\s+([\d,]+)\s+([\d,]+)\s+[\d.]+x\s+([\d,]+)", out, re.M)
        if m:
            ours, python, floor = (float(g.replace(",", "")) for g in m.groups())
            row(f"Receiver, wrk at {c} connection(s), printing to a file", ours, python, ">= 15x", "scripts/bench_receiver.sh")
            notes.append(f"Receiver at {c} connection(s): {ours:,.0f} req/s against {floor:,.0f} req/s for examples/loopback_floor.rs "
                         f"(answers without parsing or printing) = {ours / floor:.0%} of this machine's floor; "
                         f"the most any receiver could reach against Python's {python:,.0f} req/s is {floor / python:.1f}x.")
        else:
            notes.append("Receiver benchmark output not understood:\n" + out)


def bench_enqueue():
    n = 50000
    lines, library = [], []
    for _ in range(SHORT_RUNS):
        redis = Redis(); cfg = config(redis, "http://127.0.0.1:9/")
        path = events_file(n)
        with open(path) as f:
            redis_cpu = redis.cpu(); start = time.perf_counter()
            proc = subprocess.Popen([MANAGE, "-v", "0", "enqueue_event", "--lines"], env=dict(os.environ, MANAGE_CONFIG=cfg), stdin=f, stdout=subprocess.DEVNULL)
            _, status, usage = os.wait4(proc.pid, 0)
            seconds = time.perf_counter() - start
            assert status == 0, "enqueue_event --lines failed"
            lines.append(n / seconds)
            split = (usage.ru_utime + usage.ru_stime, redis.cpu() - redis_cpu)
        redis.cli("flushall")
        out = sh(["cargo", "bench", "--quiet", "--bench", "enqueue"], cwd=ROOT, env=dict(os.environ, MANAGE_CONFIG=cfg, N=str(n)))
        library.append(float(re.search(r"= (\d+) jobs/s", out).group(1)))
        redis.stop()
    row("Enqueue: enqueue_event --lines (50,000 events, process start included)", median(lines), 0, ">= 50,000/s", "scripts/bench.sh (enqueue)")
    notes.append(f"Enqueue (last run): CPU per job {split[0] / n * 1e6:.1f} µs in enqueue_event (reading and parsing the lines, "
                 f"matching rules, JSON, zlib) and {split[1] / n * 1e6:.1f} µs in redis-server (the job hash's HSET, its chain's GET and SET, RPUSH).")
    row("Enqueue: library API enqueue_bulk (50,000 events, transactions of 1,000)", median(library), 0, ">= 50,000/s", "N=50000 MANAGE_CONFIG=… cargo bench --bench enqueue")


def bench_requeue():
    n, py_n = 100000, 10000 if not QUICK else 3000
    redis = Redis(); cfg = config(redis, "http://127.0.0.1:9/")
    manage(cfg, "rqenqueue", "manage.fail", "--count", str(n))
    manage(cfg, "rqworker", "--burst", "--concurrency", "512", "default")
    ours = n / timed(lambda: manage(cfg, "requeue_failed", "--all"))
    assert int(redis.cli("llen", "rq:queue:default")) == n
    redis.cli("flushall")
    manage(cfg, "rqenqueue", "manage.fail", "--count", str(py_n))
    manage(cfg, "rqworker", "--burst", "--concurrency", "512", "default")
    python = py_n / timed(lambda: sh([str(VENV / "bin/rq"), "requeue", "--all", "-S", "json", "--queue", "default", "--url", redis.url]))
    assert int(redis.cli("llen", "rq:queue:default")) == py_n
    redis.stop()
    row(f"requeue_failed --all on {n:,} failed jobs vs rq requeue --all -S json ({py_n:,})", ours, python, ">= 50x", "scripts/bench.sh (requeue)")


def startup_seconds():
    """Wall time of `rqworker --burst` on an empty queue: process start, connecting, registering,
    preparing the webhooks, deregistering. Taken off the short scaling runs, where it would
    otherwise be a large part of the time."""
    redis = Redis(); cfg = config(redis, "http://127.0.0.1:9/")
    seconds = median([timed(lambda: manage(cfg, "rqworker", "--burst", "default")) for _ in range(5)])
    redis.stop()
    return seconds


def bench_scaling():
    startup = startup_seconds()
    for queued in (1000, 100000, 1000000 if not QUICK else 300000):
        n = min(queued, 20000)
        runs = [e2e_ours(n, queued_extra=queued - n) for _ in range(RUNS)]
        rate = median([n / max(run[4] - startup, 1e-3) for run in runs])
        row(f"Scaling: {n:,} webhooks with {queued:,} jobs queued (worker start-up excluded)", rate, 0, "flat", "scripts/bench.sh (scaling)")
    notes.append(f"Scaling rows exclude the worker's start-up, {startup * 1000:.0f} ms here (median of 5 burst runs on an empty queue), "
                 "which would otherwise dominate the 1,000-job run.")
    for workers in (1, 2, 4):
        rate, *_ = e2e_ours(40000, workers=workers)
        row(f"Scaling: {workers} worker process(es), 40,000 webhooks", rate, 0, "-", "scripts/bench.sh (scaling)")
    for concurrency in (64, 1024):
        rate, *_ = e2e_ours(5000, concurrency=concurrency, delay_ms=50)
        row(f"Slow endpoint (50 ms per answer), --concurrency {concurrency}", rate, 0, "concurrency carries it", "scripts/bench.sh (scaling)")


def bench_latency():
    redis = Redis(); recv = Receiver("--json")
    cfg = config(redis, recv.url)
    env = dict(os.environ, MANAGE_CONFIG=cfg)
    worker = subprocess.Popen([MANAGE, "-v", "0", "rqworker", "default"], env=env)
    time.sleep(1)
    sh(["cargo", "bench", "--quiet", "--bench", "latency"], cwd=ROOT, env=dict(env, RATE="1000", SECONDS="10"))
    time.sleep(1)
    worker.send_signal(signal.SIGTERM); worker.wait()
    lat = []
    for line in Path(recv.out).read_text().splitlines():
        if not line.startswith("{"): continue
        record = json.loads(line)
        body = json.loads(record["body"])
        sent = time.mktime(time.strptime(body["timestamp"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone + float("0." + body["timestamp"][20:26])
        got = time.mktime(time.strptime(record["time"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone + float("0." + record["time"][20:23])
        lat.append((got - sent) * 1000)
    recv.stop(); redis.stop()
    lat.sort()
    p50, p99 = lat[len(lat) // 2], lat[int(len(lat) * 0.99)]
    rows.append(("Latency enqueue → receiver at a steady 1,000 events/s (10 s)", f"p50 {p50:.1f} ms, p99 {p99:.1f} ms", "-", "-", "-", "scripts/bench.sh (latency)"))
    print(f"latency: {len(lat)} deliveries, p50 {p50:.1f} ms p99 {p99:.1f} ms", flush=True)


def worker_rss(extra_env=None):
    """RSS of an idle worker, then with 1,000 webhooks in flight (the receiver holds each 5 s)."""
    redis = Redis(); recv = Receiver("--delay", "5000")
    cfg = config(redis, recv.url)
    env = dict(os.environ, MANAGE_CONFIG=cfg, **(extra_env or {}))
    worker = subprocess.Popen([MANAGE, "-v", "0", "rqworker", "--concurrency", "1000", "default"], env=env)
    time.sleep(2)
    idle = rss_kib(worker.pid)
    with open(events_file(1000)) as f:
        manage(cfg, "enqueue_event", "--lines", stdin=f)
    for _ in range(100):
        if int(redis.cli("zcard", "rq:wip:default")) >= 1000: break
        time.sleep(0.05)
    busy = rss_kib(worker.pid)
    worker.send_signal(signal.SIGINT); worker.send_signal(signal.SIGINT); worker.wait()
    recv.stop(); redis.stop()
    return idle, busy


def bench_memory():
    for label, extra in (("", None), (" with MIMALLOC_ARENA_EAGER_COMMIT=0", {"MIMALLOC_ARENA_EAGER_COMMIT": "0"})):
        idle, busy = worker_rss(extra)
        rows.append((f"Worker RSS idle / with 1,000 webhooks in flight{label}", f"{idle / 1024:.1f} MiB / {busy / 1024:.1f} MiB", "-", "-", "-", "scripts/bench.sh (memory)"))
        print(f"memory{label}: idle {idle} KiB, busy {busy} KiB", flush=True)
    times = []
    for _ in range(20):
        times.append(timed(lambda: sh([str(MANAGE), "help"])))
    rows.append(("`manage help` wall time (median of 20)", f"{median(times) * 1000:.1f} ms", "-", "-", "-", "scripts/bench.sh (memory)"))
    print(f"help {median(times)*1000:.1f} ms", flush=True)


def bench_guarantees():
    """Per-object order, and one webhook's open circuit beside a healthy one."""
    n = 20000
    ordered = median([e2e_ours(n)[0] for _ in range(SHORT_RUNS)])
    unordered = median([e2e_ours(n, extra='ordering = "none"')[0] for _ in range(SHORT_RUNS)])
    row("End-to-end, ordering = \"object\" (the default), 20,000 distinct objects", ordered, 0, "within 20 % of ordering none", "scripts/bench.sh (guarantees)")
    row("End-to-end, ordering = \"none\", 20,000 distinct objects", unordered, 0, "-", "scripts/bench.sh (guarantees)")
    notes.append(f"Ordering on distinct objects delivers at {ordered / unordered:.0%} of the unordered rate.")
    hot = median([e2e_ours(n, objects=100)[0] for _ in range(RUNS)])
    row("End-to-end, ordering on, 100 objects x 200 events each", hot, 0, "-", "scripts/bench.sh (guarantees)")
    notes.append("100 objects x 200 events: at most 100 deliveries can be in flight at once (one per object), each waiting for "
                 "its object's previous delivery to be written; the rate is bounded by that chain, not by the worker.")
    rate = breaker_beside_healthy(10000)
    row("A healthy webhook's deliveries while another's circuit is open (10,000 each)", rate, 0, "unaffected", "scripts/bench.sh (guarantees)")


def breaker_beside_healthy(n):
    redis = Redis(); recv = Receiver()
    path = tempfile.NamedTemporaryFile(delete=False, suffix=".toml", mode="w")
    rules = "".join(f'[[event_rules]]\nname = "{h}"\nobject_types = ["dcim.site"]\nevent_types = ["created"]\nwebhook = "{h}"\n'
                    f'conditions = {{ attr = "slug", value = "{h}" }}\n' for h in ("healthy", "dead"))
    path.write(f'[redis]\nurl = "{redis.url}"\n[[webhooks]]\nname = "healthy"\npayload_url = "{recv.url}"\n'
               f'[[webhooks]]\nname = "dead"\npayload_url = "http://127.0.0.1:9/"\nbreaker_failures = 5\nbreaker_open = 3600\n{rules}')
    path.close(); cfg = path.name
    lines = tempfile.NamedTemporaryFile(delete=False, suffix=".jsonl", mode="w")
    for i in range(n):
        for h in ("dead", "healthy"):
            e = event(i, h); e["data"]["slug"] = h; lines.write(json.dumps(e) + "\n")
    lines.close()
    with open(lines.name) as f:
        manage(cfg, "enqueue_event", "--lines", stdin=f)
    env = dict(os.environ, MANAGE_CONFIG=cfg)
    start = time.perf_counter()
    worker = subprocess.Popen([MANAGE, "-v", "0", "rqworker", "--concurrency", "256", "default"], env=env)
    while True:
        delivered = int(redis.cli("zcard", "rq:finished:default"))
        if delivered >= n or time.perf_counter() - start > 300: break
        time.sleep(0.02)
    seconds = time.perf_counter() - start
    waiting = int(redis.cli("zcard", "manage:webhook:dead:waiting"))
    worker.send_signal(signal.SIGTERM); worker.wait()
    recv.stop(); redis.stop()
    notes.append(f"Open circuit: the dead webhook's {waiting:,} jobs waited (no attempts) while the healthy one's {n:,} were delivered.")
    return n / seconds


def bench_observability():
    """History and metrics on (the defaults, with a scraped /metrics) against both off."""
    n = 20000
    on = [e2e_ours(n, worker_args=("--metrics-bind", "127.0.0.1:0")) for _ in range(SHORT_RUNS)]
    off = [e2e_ours(n, top="[history]\nenabled = false\n") for _ in range(SHORT_RUNS)]
    rate_on, rate_off = median([r[0] for r in on]), median([r[0] for r in off])
    row("End-to-end with history and metrics on", rate_on, 0, "within 10 % of off", "scripts/bench.sh (observability)")
    row("End-to-end with history off, no metrics listener", rate_off, 0, "-", "scripts/bench.sh (observability)")
    per = lambda runs, i: median([r[i] for r in runs])
    cpu = lambda runs, k: median([r[3][k] for r in runs]) / n * 1e6
    notes.append(f"History and metrics: {rate_on / rate_off:.0%} of the rate without them; Redis commands per webhook "
                 f"{per(on, 2):.1f} with, {per(off, 2):.1f} without; CPU per webhook: worker {cpu(on, 1):.0f} µs with, {cpu(off, 1):.0f} µs without; "
                 f"redis-server {cpu(on, 0):.0f} µs with, {cpu(off, 0):.0f} µs without.")


def bench_gateway():
    """manage event_gateway under wrk: single events over 64 keep-alive connections, and JSON lines."""
    redis = Redis()
    token = "bench-token-0123456789"
    cfg = config(redis, "http://127.0.0.1:9/", top=f'[gateway]\ntoken = "{token}"\n')
    out = tempfile.NamedTemporaryFile(delete=False, suffix=".log").name
    gateway = subprocess.Popen([MANAGE, "-v", "0", "event_gateway", "--bind", "127.0.0.1:0"], env=dict(os.environ, MANAGE_CONFIG=cfg),
                               stdout=open(out, "w"), stderr=subprocess.DEVNULL)
    for _ in range(200):
        m = re.search(r"http://([\d.]+:\d+)/events", Path(out).read_text())
        if m: break
        time.sleep(0.05)
    url = f"http://{m.group(1)}/events"
    duration = "5s" if QUICK else "10s"
    single = json.dumps(event(1))
    lines = "".join(json.dumps(event(i)) + "\n" for i in range(1000))
    # Each request's events are new objects (ids apart per wrk thread), so nothing waits in a chain.
    fresh = ('local threads = 0\nfunction setup(thread) threads = threads + 1; thread:set("base", threads * 1000000000) end\n'
             'function init() counter = base end\n'
             'local line = \'{"object_type": "dcim.site", "event": "created", "username": "admin", '
             '"data": {"id": %d, "name": "site-%d", "slug": "site-%d", "status": {"value": "active", "label": "Active"}, "tags": []}}\'\n'
             'function request() local body = {}\n'
             '  for i = 1, PER do counter = counter + 1; body[i] = string.format(line, counter, counter, counter) end\n'
             '  return wrk.format(nil, nil, nil, table.concat(body, "\\n") .. "\\n") end\n')
    cases = (("single events (a new object each), 64 keep-alive connections", single, "application/json", 64, 1, True, ">= 20,000/s"),
             ("JSON lines, 1,000 new objects a request, 8 connections", lines, "application/x-ndjson", 8, 1000, True, ">= 100,000/s"),
             ("JSON lines, the same 1,000 objects every request (each event waits in its object's chain), 8 connections",
              lines, "application/x-ndjson", 8, 1000, False, "-"))
    for label, body, content_type, connections, per_request, new_objects, aim in cases:
        script = tempfile.NamedTemporaryFile(delete=False, suffix=".lua", mode="w")
        script.write(f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\n'
                     f'wrk.headers["Content-Type"] = "{content_type}"\nwrk.headers["Authorization"] = "Bearer {token}"\n')
        if new_objects:
            script.write(f"PER = {per_request}\n" + fresh)
        script.close()
        before = int(redis.cli("llen", "rq:queue:default")) + int(redis.cli("zcard", "rq:deferred:default"))
        cpu0 = (redis.cpu(), proc_cpu(gateway.pid))
        text = sh(["wrk", "-t2", f"-c{connections}", f"-d{duration}", "-s", script.name, url])
        rate = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)) * per_request
        errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
        enqueued = int(redis.cli("llen", "rq:queue:default")) + int(redis.cli("zcard", "rq:deferred:default")) - before
        per_job = [(now - then) / max(enqueued, 1) * 1e6 for now, then in zip((redis.cpu(), proc_cpu(gateway.pid)), cpu0)]
        row(f"Event gateway: {label}", rate, 0, aim, "scripts/bench.sh (gateway)")
        notes.append(f"Gateway ({label.split(',')[0]}): {enqueued:,} jobs enqueued during the run "
                     f"(queued or waiting in a chain); non-2xx answers: {errors.group(1) if errors else 0}; CPU per event: "
                     f"gateway {per_job[1]:.1f} µs, redis-server {per_job[0]:.1f} µs (wrk takes the rest of the 2 cores).")
        redis.cli("flushall")
    gateway.send_signal(signal.SIGTERM); gateway.wait(); redis.stop()


ANALYSIS = "<!-- Written by hand below this line; scripts/bench.py keeps it when it rewrites the figures above. -->"


def write():
    out = ["# Benchmarks", "", f"Measured by `bash scripts/bench.sh` on {time.strftime('%Y-%m-%d')} on this 2-core machine, "
           f"Redis on the same machine; median of {RUNS} run(s) per figure ({SHORT_RUNS} for our end-to-end and enqueue runs), "
           "ours and Python's in the same run.", "",
           "| what | ours | Python | ratio | aim | reproduce |", "|---|---|---|---|---|---|"]
    out += [f"| {' | '.join(r)} |" for r in rows]
    out += ["", "## Measured in this run", ""] + [f"- {n}" for n in notes]
    path = ROOT / "BENCHMARKS.md"
    kept = path.read_text().split(ANALYSIS, 1)[1] if path.exists() and ANALYSIS in path.read_text() else "\n"
    path.write_text("\n".join(out) + "\n\n" + ANALYSIS + kept)
    print("wrote BENCHMARKS.md")


if __name__ == "__main__":
    steps = (bench_e2e, bench_receiver, bench_enqueue, bench_requeue, bench_scaling, bench_latency, bench_memory,
             bench_guarantees, bench_observability, bench_gateway)
    only = [a for a in sys.argv[1:] if not a.startswith("--")]
    for step in steps:
        if only and step.__name__.removeprefix("bench_") not in only:
            continue
        try:
            step()
        except Exception as error:  # one failed step must not lose the others' figures
            notes.append(f"{step.__name__} failed: {error!r}")
            print(f"{step.__name__} failed: {error!r}", flush=True)
        if not only:  # a partial run prints its figures and leaves BENCHMARKS.md alone
            write()
    if only:
        print("\n".join(notes))
