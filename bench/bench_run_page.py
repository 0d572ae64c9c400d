"""Benchmark: the run page and its live view for runs of many tasks (issue 16, "Scale of one page").

Run by hand (not part of the test suite):

    .venv/bin/python bench/bench_run_page.py [--sizes 5000 20000] [--repeat 7]

For each size it writes one run of a chain of that many tasks, half way
through (the first half succeeded with an output, one running, the rest
pending), into a throwaway SQLite database in a temporary directory (or
DATABASE_URL if set: give it an empty database you can lose), with plain
bulk inserts (the engine is not involved). Then, as a logged-in superuser
with django.test.Client (the whole Django stack, DEBUG off), it requests
each page once to warm up (the first look at a run orders its tasks, once
per process: that first request is reported too), then --repeat times,
and prints the median, fastest and slowest time, the bytes of the answer
and its queries, against the goals: the page under 1 s, a poll under
100 ms and 100 kB.

The live poll is measured as the page makes it: with the marker and page
key of the answer before. "poll, a change" advances the run by one task
(the running one succeeds, through the engine, and the next is claimed)
before each timed poll of the page holding them.

Runs with any version of the app that has the run page's live view (the
extra query parameters are ignored by one that does not know them), so
the same script measures the code before a change.
"""

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
# Measure what production runs: DEBUG off (a key of our own, for this process only).
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-not-for-any-server")
OWN_VAR_DIR = "FLOWFORGE_VAR_DIR" not in os.environ
if OWN_VAR_DIR:
    os.environ["FLOWFORGE_VAR_DIR"] = tempfile.mkdtemp(prefix="flowforge-bench-")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, connections, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from flowforge_admin.engine.worker import claim, record_success  # noqa: E402
from flowforge_admin.models import Flow, FlowRun, RunSnapshot, TaskRun  # noqa: E402
from flowforge_admin.states import RunState, TaskState  # noqa: E402

PAGE_GOAL_MS = 1000
POLL_GOAL_MS = 100
POLL_GOAL_BYTES = 100_000
PER_PAGE = 100  # the app's TASKS_PER_PAGE (not imported: the code before it has none)


def task(name, depends_on):
    """A task as the engine's snapshot stores it (definition.TaskSpec.canonical)."""
    return {
        "name": name,
        "parent": None,
        "function": "bench.tasks.noop",
        "verbose_name": "",
        "params": {},
        "retries": 0,
        "retry_delay": 0,
        "timeout": None,
        "depends_on": list(depends_on),
    }


def chain_run(size):
    """Write a run of a ``size``-task chain, half way through; return it."""
    names = [f"step_{i:05d}" for i in range(size)]
    running = size // 2
    flow = Flow.objects.create(name=f"bench_chain_{size}", origin=Flow.Origin.CODE)
    start = timezone.now() - timedelta(hours=3)
    with transaction.atomic():
        run = FlowRun.objects.create(
            flow=flow,
            flow_name=flow.name,
            flow_version=1,
            status=RunState.RUNNING,
            started_at=start,
            succeeded_count=running,
            running_count=1,
            pending_count=size - running - 1,
        )
        tasks = [task(name, [names[i - 1]] if i else []) for i, name in enumerate(names)]
        snapshot = {"flow": flow.name, "version": 1, "params": {}, "params_schema": None, "tasks": tasks}
        RunSnapshot.objects.create(run=run, data=snapshot)
        rows = []
        for i, name in enumerate(names):
            began = start + timedelta(seconds=i)
            status = (
                TaskState.SUCCEEDED
                if i < running
                else TaskState.RUNNING
                if i == running
                else TaskState.PENDING
            )
            rows.append(
                TaskRun(
                    run=run,
                    task_name=name,
                    status=status,
                    attempt=1 if i <= running else 0,
                    queued_at=began if i <= running else None,
                    started_at=began if i <= running else None,
                    heartbeat_at=began if i == running else None,
                    finished_at=began + timedelta(seconds=0.8) if i < running else None,
                    output={"rows": i, "path": f"s3://bench/{name}.parquet"} if i < running else None,
                )
            )
        TaskRun.objects.bulk_create(rows, batch_size=2000)
    return run


class Measure:
    def __init__(self, name):
        self.name, self.times, self.sizes, self.queries = name, [], [], 0

    def row(self):
        median = statistics.median(self.times) * 1000
        return (
            f"{self.name:<34} {median:>9.1f} {min(self.times) * 1000:>9.1f} {max(self.times) * 1000:>9.1f} "
            f"{statistics.median(self.sizes) / 1000:>9.1f} {self.queries:>7}"
        )


def get(client, url, query=None):
    began = time.perf_counter()
    response = client.get(url, query or {})
    elapsed = time.perf_counter() - began
    if response.status_code != 200:
        raise SystemExit(f"{url}: HTTP {response.status_code}")
    return response, elapsed


def timed(client, name, url, query, repeat, before=None):
    """Time ``repeat`` GETs of ``url`` (``before()``, untimed, first: it may return the query to use)."""
    measure = Measure(name)
    for attempt in range(repeat + 1):
        asked = before() if before else query
        with CaptureQueriesContext(connection) as captured:
            response, elapsed = get(client, url, asked)
        if attempt == 0:
            continue  # warm-up
        measure.times.append(elapsed)
        measure.sizes.append(len(response.content))
        measure.queries = len(captured)
    return measure


def marker_of(client, live, query):
    """The marker and page key a poll of ``query`` answers (None on the code before markers)."""
    data = client.get(live, query).json()
    return {**query, "since": data["since"], "page": data["page"]} if "since" in data else query


def advance(run):
    """One step of the chain: the running task succeeds, the next is claimed."""
    current = run.task_runs.filter(status=TaskState.RUNNING).values_list("task_name", "attempt").first()
    if current is None:
        return
    record_success(run.pk, current[0], current[1], output={"rows": 1})
    following = run.task_runs.filter(status=TaskState.QUEUED).values_list("pk", "attempt").first()
    if following is not None:
        claim(following[0], following[1], run.pk)


def measure_run(client, size, repeat):
    run = chain_run(size)
    page = reverse("admin:flowforge_admin_flowrun_change", args=[run.pk])
    live = reverse("admin:flowforge_admin_flowrun_live", args=[run.pk])
    running_page = size // 2 // PER_PAGE + 1
    _, first = get(client, page)  # the first look orders the run's tasks (once per process)
    results = [
        timed(client, "page", page, {}, repeat),
        timed(client, f"page, page {running_page}", page, {"tasks": running_page}, repeat),
        timed(client, "page, succeeded only", page, {"task_status": "succeeded"}, repeat),
        timed(client, "poll, first (whole page)", live, {}, repeat),
        timed(client, "poll, nothing changed", live, marker_of(client, live, {}), repeat),
    ]
    state = {"query": marker_of(client, live, {"tasks": running_page})}

    def change_then_poll():
        advance(run)
        return state["query"]

    changed = timed(client, "poll, a change", live, None, repeat, before=change_then_poll)
    results.append(changed)
    return run, first, results


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 20000])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    if FlowRun.objects.exists():
        raise SystemExit("The database already has runs: give an empty database.")
    user = User.objects.create(username="bench", is_staff=True, is_superuser=True)
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    vendor = connection.vendor
    print(
        f"{vendor}; Python {platform.python_version()}, Django {django.get_version()}; "
        f"{os.cpu_count()} cores; DEBUG off; median, fastest, slowest of {args.repeat} (after a warm-up)"
    )
    for size in args.sizes:
        began = time.perf_counter()
        _, first, results = measure_run(client, size, args.repeat)
        print(f"\n{size:,}-task chain, half done (measured in {time.perf_counter() - began:.0f} s)")
        print(f"  first request of the run page (orders its tasks): {first * 1000:.0f} ms")
        print(f"{'':2}{'request':<34} {'median':>9} {'fastest':>9} {'slowest':>9} {'kB':>9} {'queries':>7}")
        for result in results:
            print("  " + result.row())
        page, polls = results[0], [r for r in results if r.name.startswith("poll") and "first" not in r.name]
        print(
            f"  goals: page {statistics.median(page.times) * 1000:.0f} ms < {PAGE_GOAL_MS} ms: "
            f"{'met' if statistics.median(page.times) * 1000 < PAGE_GOAL_MS else 'NOT met'}; polls "
            + ", ".join(
                f"{statistics.median(p.times) * 1000:.1f} ms / {statistics.median(p.sizes) / 1000:.1f} kB"
                for p in polls
            )
            + f" < {POLL_GOAL_MS} ms / {POLL_GOAL_BYTES // 1000} kB: "
            + (
                "met"
                if all(
                    statistics.median(p.times) * 1000 < POLL_GOAL_MS and max(p.sizes) < POLL_GOAL_BYTES
                    for p in polls
                )
                else "NOT met"
            )
        )


if __name__ == "__main__":
    try:
        main()
    finally:
        if OWN_VAR_DIR:
            connections.close_all()
            shutil.rmtree(os.environ["FLOWFORGE_VAR_DIR"], ignore_errors=True)
