"""Benchmark: a mapped task of 1 000 instances (issue 22): its fan-out, its instances finishing, its run page.

Run by hand (not part of the test suite):

    .venv/bin/python bench/bench_mapped.py [--instances 1000] [--repeat 7]

In a throwaway SQLite database (ORM broker), in this process, through the
engine's own functions (no cluster: what is measured is the engine's work):

- fan-out: the upstream task's success is recorded (worker.record_success)
  with a list of N items; in that one transaction the mapped task gets its N
  instances (bulk insert) and their N messages (one batch). Baseline: the
  launch of a flow that declares the same N tasks statically (one fan-out).
- finishing: each instance claimed and recorded succeeded, one after the
  other, as N workers would (per-instance median, and the last one's, which
  gathers the N outputs).
- the run page and the run graph's JSON with the N instances done, as a
  logged-in superuser (django.test.Client, DEBUG off): median time, queries
  and bytes; baseline: the same pages for a run of the same flow with 3 items.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-not-for-any-server")
if "FLOWFORGE_VAR_DIR" not in os.environ:
    os.environ["FLOWFORGE_VAR_DIR"] = tempfile.mkdtemp(prefix="flowforge-bench-")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402

from bench.tasks import noop  # noqa: E402
from flowforge_admin.api import launch_flow, register_task_pipeline  # noqa: E402
from flowforge_admin.engine.worker import claim, record_success  # noqa: E402
from flowforge_admin.models import TaskRun  # noqa: E402

NOOP = noop  # registered from code: allowed


def mapped_flow():
    return register_task_pipeline(
        "bench_mapped",
        {
            "grid": {"function": NOOP},
            "train": {"function": NOOP, "depends_on": ["grid"], "map_over": "grid"},
            "best": {"function": NOOP, "depends_on": ["train"]},
        },
    )


def timed(func):
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        result = func()
    return (time.perf_counter() - started) * 1000, len(queries), result


def succeed(run, name, output=None):
    task_run_id = TaskRun.objects.values_list("pk", flat=True).get(run=run, task_name=name)
    claim(task_run_id, 1, run.pk)
    record_success(run.pk, name, 1, output)


def mapped_run(flow, items):
    run = launch_flow(flow)
    ms, queries, _ = timed(lambda: succeed(run, "grid", [{"i": i} for i in range(items)]))
    return run, ms, queries


def page(client, url, repeat):
    client.get(url)  # warm up: the run's order is computed once per process
    times, size, queries = [], 0, 0
    for _ in range(repeat):
        ms, queries, response = timed(lambda: client.get(url))
        assert response.status_code == 200, response.status_code
        times.append(ms)
        size = len(response.content)
    return statistics.median(times), queries, size


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=7)
    options = parser.parse_args()
    n = options.instances
    call_command("migrate", verbosity=0)
    flow = mapped_flow()

    fan_outs = [mapped_run(flow, n) for _ in range(3)]
    run = fan_outs[-1][0]
    static = register_task_pipeline(
        "bench_static", {"grid": {"function": NOOP}, **{f"t{i}": {"function": NOOP} for i in range(n)}}
    )
    launch_ms = statistics.median(timed(lambda: launch_flow(static))[0] for _ in range(3))
    print(
        f"fan-out to {n} instances (record of the upstream's success): "
        f"{statistics.median(ms for _, ms, _ in fan_outs):.0f} ms, {fan_outs[-1][2]} queries; "
        f"baseline, launch of {n + 1} static tasks: {launch_ms:.0f} ms"
    )

    names = [f"train[{i}]" for i in range(n)]
    finishing = [timed(lambda name=name: succeed(run, name, {"score": 1}))[0] for name in names]
    print(
        f"an instance claimed and recorded: median {statistics.median(finishing):.1f} ms, "
        f"first {finishing[0]:.1f} ms, last (gathers {n} outputs) {finishing[-1]:.1f} ms"
    )

    small, _, _ = mapped_run(flow, 3)
    for name in ("train[0]", "train[1]", "train[2]"):
        succeed(small, name, {"score": 1})
    User.objects.create_superuser("bench", "bench@example.com", "bench")
    client = Client(HTTP_HOST="localhost")
    client.force_login(User.objects.get(username="bench"))
    last_page = max((n + 49) // 50, 1)
    for label, url_of in (
        ("run page", lambda pk: reverse("admin:flowforge_admin_flowrun_change", args=[pk])),
        ("run graph JSON", lambda pk: reverse("admin:flowforge_admin_flowrun_graph_data", args=[pk])),
        # The mapped row opened on the run page: its first and its last page of instances.
        (
            "instances, first page",
            lambda pk: reverse("admin:flowforge_admin_flowrun_instances", args=[pk, "train"]),
        ),
        (
            "instances, last page",
            lambda pk: (
                reverse("admin:flowforge_admin_flowrun_instances", args=[pk, "train"]) + f"?page={last_page}"
            ),
        ),
    ):
        for what, target in ((f"{n} instances", run), ("3 instances (baseline)", small)):
            ms, queries, size = page(client, url_of(target.pk), options.repeat)
            print(f"{label}, {what}: median {ms:.1f} ms, {queries} queries, {size / 1000:.1f} kB")


if __name__ == "__main__":
    main()
