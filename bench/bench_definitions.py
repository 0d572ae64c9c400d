"""Benchmark: storing flow definitions, against django-mptt's one-node-at-a-time inserts.

Run by hand (not part of the test suite):

    .venv/bin/python bench/bench_definitions.py [--sizes 500 2000 5000] [--repeat 5]

It uses a throwaway SQLite database in a temporary directory (or DATABASE_URL
if set: give it a database you can lose). For each size it prints the median
of --repeat runs of:

- register: ``register_task_pipeline`` of a new flow (groups of 20 chained tasks);
- baseline: the same tree written the plain way, ``Task.objects.create`` per node
  (django-mptt computes each insert) and ``depends_on.add`` per dependency;
- unchanged: registering the same definition again (a no-op);
- changed: registering it with one task changed (an in-place update);
- admin: rendering the task list of that flow in the admin (and its query count).
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
os.environ.setdefault("DJANGO_DEBUG", "1")
os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
os.environ.setdefault("FLOWFORGE_VAR_DIR", tempfile.mkdtemp(prefix="flowforge-bench-"))

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from flowforge_admin.api import register_task_pipeline  # noqa: E402
from flowforge_admin.demo import tasks  # noqa: E402
from flowforge_admin.models import Flow, Task  # noqa: E402

GROUP_SIZE = 20


def pipeline(size):
    """Groups of GROUP_SIZE chained tasks, each group depending on the one before."""
    groups = size // (GROUP_SIZE + 1)
    return {
        f"g{g}": {
            "function": tasks.train_model,
            "depends_on": [f"g{g - 1}"] if g else [],
            "nested_tasks": {
                f"g{g}_t{i}": {"function": tasks.split_data, "depends_on": [f"g{g}_t{i - 1}"] if i else []}
                for i in range(GROUP_SIZE)
            },
        }
        for g in range(groups)
    }


def baseline(name, definition):
    """Write the same tree the plain way: one create per node, one add per dependency."""
    flow = Flow.objects.create(name=name)
    with transaction.atomic():
        made = {}
        for group_name, group in definition.items():
            made[group_name] = Task.objects.create(
                flow=flow, name=group_name, function="flowforge_admin.demo.tasks.train_model"
            )
            for child_name in group["nested_tasks"]:
                made[child_name] = Task.objects.create(
                    flow=flow,
                    name=child_name,
                    parent=made[group_name],
                    function="flowforge_admin.demo.tasks.split_data",
                )
        for group_name, group in definition.items():
            made[group_name].depends_on.add(*(made[d] for d in group["depends_on"]))
            for child_name, child in group["nested_tasks"].items():
                made[child_name].depends_on.add(*(made[d] for d in child["depends_on"]))


def timed(func):
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def median_of(repeat, func):
    return statistics.median(func(i) for i in range(repeat))


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 2000, 5000])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    User.objects.filter(username="bench").delete()
    User.objects.create_superuser("bench", password="bench-password")
    client = Client(HTTP_HOST="localhost")
    client.login(username="bench", password="bench-password")

    print(f"database: {connection.vendor}; median of {args.repeat} runs; seconds")
    print(
        f"{'tasks':>6} {'register':>9} {'baseline':>9} {'ratio':>6} {'unchanged':>10} "
        f"{'changed':>8} {'admin':>7} {'queries':>8}"
    )
    for size in args.sizes:
        measure(size, args.repeat, client)


def measure(size, repeat, client):
    definition = pipeline(size)
    count = len(definition) * (GROUP_SIZE + 1)
    register = median_of(
        repeat, lambda i: timed(lambda: register_task_pipeline(f"r{size}_{i}", pipeline(size)))
    )
    base = median_of(repeat, lambda i: timed(lambda: baseline(f"b{size}_{i}", definition)))
    unchanged = median_of(
        repeat, lambda i: timed(lambda: register_task_pipeline(f"r{size}_0", pipeline(size)))
    )

    def change(i):
        changed = pipeline(size)
        changed["g0"]["nested_tasks"]["g0_t0"]["retries"] = i + 1
        return timed(lambda: register_task_pipeline(f"r{size}_0", changed))

    changed = median_of(repeat, change)
    flow = Flow.objects.get(name=f"r{size}_0")
    url = f"/admin/flowforge_admin/task/?flow__id__exact={flow.pk}"
    admin = median_of(repeat, lambda i: timed(lambda: client.get(url)))
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    print(
        f"{count:>6} {register:>9.3f} {base:>9.3f} {base / register:>5.1f}x {unchanged:>10.3f} "
        f"{changed:>8.3f} {admin:>7.3f} {len(queries):>8}"
    )


if __name__ == "__main__":
    main()
