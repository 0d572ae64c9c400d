"""Benchmark: how long ``launch_flow()`` blocks its caller for a big fan-out, beside plain Django-Q2.

Run by hand (not part of the test suite):

    .venv/bin/python bench/bench_launch.py [--tasks 5000] [--repeat 7]

On a throwaway SQLite database by default; the scale-out path with an empty
PostgreSQL database you can lose and Redis:

    createdb -h 127.0.0.1 -U postgres flowforge_bench_launch
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/flowforge_bench_launch \\
    FLOWFORGE_REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/bench_launch.py

For a flow of --tasks independent no-op tasks it times, interleaved, each
--repeat times (no worker runs: only the caller's side is measured):

- ``launch_flow()`` as it is (over FLOWFORGE_LAUNCH_INLINE_TASKS a worker
  starts the run; here its start is timed apart, called in this process);
- ``launch_flow()`` starting every task itself (the threshold set above the
  flow's size: what every launch did before);
- plain Django-Q2: one ``async_task`` per task, in one transaction (what a
  project without the engine does to start that many tasks).

The broker's queue is emptied between repeats. Medians and ranges in ms.
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VAR = tempfile.mkdtemp(prefix="flowforge-bench-launch-")
os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "bench-only-secret-key-not-for-any-server",
        "DJANGO_LOG_LEVEL": "WARNING",
        "FLOWFORGE_VAR_DIR": VAR,
    }
)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402
from django.test.utils import override_settings  # noqa: E402
from django_q.brokers import get_broker  # noqa: E402
from django_q.tasks import async_task  # noqa: E402

from bench import tasks  # noqa: E402
from flowforge_admin.api import launch_flow, register_task_pipeline  # noqa: E402
from flowforge_admin.engine.launch import start_launched  # noqa: E402
from flowforge_admin.models import FlowRun  # noqa: E402

NOOP = "bench.tasks.noop"


def timed(func, into):
    """Call ``func``, append its time (ms) to the list ``into``; return what it returned."""
    start = time.perf_counter()
    result = func()
    into.append((time.perf_counter() - start) * 1000)
    return result


def plain(count):
    with transaction.atomic():
        for _ in range(count):
            async_task(NOOP, q_options={"save": False})


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    broker = get_broker()
    flow = register_task_pipeline(
        f"bench_launch_{args.tasks}", {f"t{i}": {"function": tasks.noop} for i in range(args.tasks)}
    )
    launch_flow(flow)  # the first launch of a process reads the definition: measured apart below
    results = {"launch_flow()": [], "its start, in a worker": [], "launch_flow(), starting inline": []}
    results["plain Django-Q2"] = []
    for _ in range(args.repeat):
        FlowRun.objects.all().delete()
        broker.purge_queue()
        run = timed(lambda: launch_flow(flow), results["launch_flow()"])
        timed(lambda: start_launched(run.pk), results["its start, in a worker"])  # noqa: B023 (called at once)
        broker.purge_queue()
        with override_settings(FLOWFORGE_LAUNCH_INLINE_TASKS=args.tasks):
            timed(lambda: launch_flow(flow), results["launch_flow(), starting inline"])
        broker.purge_queue()
        timed(lambda: plain(args.tasks), results["plain Django-Q2"])
        broker.purge_queue()
    database = "PostgreSQL" if "DATABASE_URL" in os.environ else "SQLite"
    queue = "Redis" if os.environ.get("FLOWFORGE_REDIS_URL") else "ORM broker"
    print(f"{args.tasks} independent tasks, {database} + {queue}, {args.repeat} repeats (ms)")
    baseline = statistics.median(results["plain Django-Q2"])
    for what, values in results.items():
        median = statistics.median(values)
        print(
            f"  {what:32} median {median:7.1f}  range {min(values):7.1f}-{max(values):7.1f}"
            f"  ratio to plain {median / baseline:5.2f}"
        )


if __name__ == "__main__":
    try:
        main()
    finally:
        shutil.rmtree(VAR, ignore_errors=True)
