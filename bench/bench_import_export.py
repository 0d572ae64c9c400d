"""Benchmark: export and import of a 1 000-task flow with groups, and their query counts.

Run by hand (not part of the test suite):

    .venv/bin/python bench/bench_import_export.py [--tasks 1000] [--repeat 5]

It uses a throwaway SQLite database in a temporary directory (or DATABASE_URL
if set: give it a database you can lose). The flow is made of groups of 20
chained tasks, each group waiting for the one before. For each format it
prints the median (and max) of --repeat runs, with the query count of the last:

- export: the whole file of that flow;
- preview: reading, checking and comparing the file against an empty database;
- preview+confirm (new): preview then write, creating the flow;
- preview+confirm (1 change): the same file with one task changed, against the stored flow;
- unchanged: importing the file the database already holds (writes nothing).
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

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from flowforge_admin.definitions import store  # noqa: E402
from flowforge_admin.definitions.files.export import export_flows  # noqa: E402
from flowforge_admin.definitions.files.formats import FORMATS  # noqa: E402
from flowforge_admin.definitions.files.preview import plan_import  # noqa: E402
from flowforge_admin.definitions.files.write import apply_plan  # noqa: E402
from flowforge_admin.definitions.spec import FlowSpec, TaskSpec  # noqa: E402
from flowforge_admin.models import Flow  # noqa: E402

GROUP_SIZE = 20
FUNCTION = "flowforge_admin.demo.tasks.prepare_batch"


def big_flow(size):
    """Groups of GROUP_SIZE chained tasks; each group waits for the one before."""
    tasks, groups = [], size // (GROUP_SIZE + 1)
    for g in range(groups):
        tasks.append(TaskSpec(name=f"g{g}", depends_on=(f"g{g - 1}",) if g else ()))
        for i in range(GROUP_SIZE):
            tasks.append(
                TaskSpec(
                    name=f"g{g}_t{i}",
                    parent=f"g{g}",
                    function=FUNCTION,
                    params={"i": i},
                    retries=1,
                    depends_on=(f"g{g}_t{i - 1}",) if i else (),
                )
            )
    for i in range(size - len(tasks)):
        tasks.append(TaskSpec(name=f"tail{i}", function=FUNCTION))
    return FlowSpec(name="big", display_name="Big flow", tasks=tuple(tasks))


def measure(repeat, func, before=None):
    """Return (median s, max s, queries of the last run)."""
    times = []
    for _ in range(repeat):
        if before:
            before()
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            func()
            times.append(time.perf_counter() - start)
    return statistics.median(times), max(times), len(queries)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    spec = big_flow(args.tasks)
    print(f"{len(spec.tasks)} tasks, {connection.vendor}; median (max) in ms, queries")
    print(
        f"{'format':6} {'export':>16} {'preview':>16} {'preview+confirm new':>22} "
        f"{'preview+confirm 1 change':>26} {'unchanged':>16}"
    )

    for format_name in FORMATS:
        cells = [
            f"{m * 1000:7.0f} ({x * 1000:4.0f}) {q:3}q"
            for m, x, q in bench_format(format_name, spec, args.repeat)
        ]
        print(f"{format_name:6} " + " ".join(cells))


def bench_format(format_name, spec, repeat):
    def reset():
        Flow.objects.all().delete()
        store.write_flow(spec, origin=Flow.Origin.ADMIN)

    def empty():
        Flow.objects.all().delete()

    def export():
        export_flows(Flow.objects.all(), format_name)

    def preview():
        assert plan_import(content, format_name).is_valid

    def confirm(expected, file):
        plan = plan_import(file, format_name)
        assert [change.status for change in plan.flows] == [expected]
        apply_plan(plan)

    reset()
    content = export_flows(Flow.objects.all(), format_name)
    # The same flow with one task changed, as a file of this format.
    changed_task = TaskSpec(
        name="g0_t3", parent="g0", function=FUNCTION, retries=5, params={"i": 3}, depends_on=("g0_t2",)
    )
    Flow.objects.all().delete()
    store.write_flow(spec.replace_task("g0_t3", changed_task), origin=Flow.Origin.ADMIN)
    changed_content = export_flows(Flow.objects.all(), format_name)

    return [
        measure(repeat, export, reset),
        measure(repeat, preview, empty),
        measure(repeat, lambda: confirm("created", content), empty),
        measure(repeat, lambda: confirm("changed", changed_content), reset),
        measure(repeat, lambda: confirm("unchanged", content), reset),
    ]


if __name__ == "__main__":
    main()
