#!/usr/bin/env python3
"""Two builds of `manage` side by side, alternating run by run so both see the same machine.

usage: python3 scripts/bench_compare.py OLD_BINARY NEW_BINARY [RUNS]   (default 7 runs each)

A build of an older commit:  git worktree add /tmp/old REV && (cd /tmp/old && cargo build --release)
Prints, for each, the end-to-end rate (20,000 webhooks, one `rqworker --burst`, as scripts/bench.sh's
e2e) and the `enqueue_event --lines` rate (50,000 events), every run and the median. It measures
only; nothing here is a test.
"""
import os, statistics, subprocess, sys, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402  (scripts/bench.py: its Redis, receiver, config and event helpers)


def enqueue_rate(n=50000):
    redis = bench.Redis(); cfg = bench.config(redis, "http://127.0.0.1:9/")
    with open(bench.events_file(n)) as f:
        start = time.perf_counter()
        subprocess.run([bench.MANAGE, "-v", "0", "enqueue_event", "--lines"], env=dict(os.environ, MANAGE_CONFIG=cfg),
                       stdin=f, stdout=subprocess.DEVNULL, check=True)
        seconds = time.perf_counter() - start
    redis.stop()
    return n / seconds


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    builds = {"old": Path(sys.argv[1]).resolve(), "new": Path(sys.argv[2]).resolve()}
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 7
    figures = {(name, what): [] for name in builds for what in ("e2e", "enqueue")}
    for i in range(runs):
        for name, binary in (builds.items() if i % 2 == 0 else reversed(builds.items())):
            bench.MANAGE = binary
            rate, delivered, *_ = bench.e2e_ours(20000)
            assert delivered == 20000, f"{name}: {delivered} of 20000 delivered"
            figures[(name, "e2e")].append(rate)
            figures[(name, "enqueue")].append(enqueue_rate())
            print(f"run {i + 1} {name}: e2e {rate:,.0f}/s enqueue {figures[(name, 'enqueue')][-1]:,.0f}/s", flush=True)
    for what in ("e2e", "enqueue"):
        old, new = (statistics.median(figures[(n, what)]) for n in builds)
        print(f"{what}: old median {old:,.0f}/s, new median {new:,.0f}/s ({new / old - 1:+.1%}); "
              f"old {sorted(round(x) for x in figures[('old', what)])}, new {sorted(round(x) for x in figures[('new', what)])}")


if __name__ == "__main__":
    main()
