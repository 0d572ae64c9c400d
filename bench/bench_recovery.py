"""Benchmark: how soon a task whose worker process was killed (kill -9) is handed on and its run finishes.

Run by hand (not part of the test suite):

    .venv/bin/python bench/bench_recovery.py [--kills 5] [--modes on off]

On a throwaway SQLite database with the ORM broker by default; on PostgreSQL
+ Redis as bench_engine.py does (give it an empty database you can lose):

    createdb -h 127.0.0.1 -U postgres flowforge_bench_recovery
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/flowforge_bench_recovery \\
    FLOWFORGE_REDIS_URL=redis://127.0.0.1:6379/0 \\
    .venv/bin/python bench/bench_recovery.py

For each mode, one real ``qcluster`` (2 workers, the project's default
engine settings: heartbeat 5 s, lost after 30 s, the lost-work check every
minute) runs a one-task flow whose first attempt hangs; the worker running it
is killed with SIGKILL, and the time from the kill to the run's end (the new
attempt returns at once) is taken, ``--kills`` times on the same cluster
(Django-Q2 starts a new worker each time). ``on``: the watchdog
(``FLOWFORGE_WATCHDOG``, engine/watchdog.py); ``off``: the baseline, the
periodic lost-work check alone (what it was before the watchdog).
"""

import argparse
import os
import signal
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

# The benchmark's environment, cluster and wait for a run, those of bench_engine.py (it sets Django up).
from bench.bench_engine import REDIS, Cluster, tasks, wait_run  # noqa: E402
from flowforge_admin.api import launch_flow, register_task_pipeline  # noqa: E402
from flowforge_admin.models import TaskRun  # noqa: E402

MODES = {"on": "1", "off": "0"}


def until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise RuntimeError(f"timed out waiting for {what}")


def one_kill(flow):
    """Launch, kill the worker running the task, return seconds from the kill to the run's end."""
    run = launch_flow(flow)

    def claimed():
        return (
            TaskRun.objects.filter(run=run, status="running", attempt=1)
            .values_list("worker", flat=True)
            .first()
        )

    pid = int(until(claimed, 60, "the task to start").split(":")[1])
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    wait_run(run, timeout=300)
    elapsed = time.monotonic() - killed
    attempt, lost = TaskRun.objects.filter(run=run).values_list("attempt", "lost_attempts").get()
    assert (attempt, lost) == (2, 1), (attempt, lost)
    return elapsed


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--modes", nargs="+", choices=list(MODES), default=list(MODES))
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    flow = register_task_pipeline("hang_once", {"hang": {"function": tasks.hang_first}})
    print(f"{connection.vendor}, {'Redis' if REDIS else 'ORM'} broker, one cluster of 2 workers")
    results = {}
    for mode in args.modes:
        with Cluster(FLOWFORGE_WATCHDOG=MODES[mode]):
            times = []
            for _ in range(args.kills):
                times.append(one_kill(flow))
                print(f"  watchdog {mode}: {times[-1]:.2f} s", flush=True)
        results[mode] = times
    print("\n| watchdog | kills | median | range |\n|---|---|---|---|")
    for mode, times in results.items():
        print(
            f"| {mode} | {len(times)} | {statistics.median(times):.2f} s | {min(times):.2f}-{max(times):.2f} s |"
        )
    if len(results) == 2:
        print(
            f"\nratio on / off (medians): {statistics.median(results['on']) / statistics.median(results['off']):.3f}"
        )


if __name__ == "__main__":
    main()
