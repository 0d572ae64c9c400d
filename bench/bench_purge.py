"""Benchmark: a running flow's hop time while `manage.py purge_runs` deletes old runs beside it.

Run by hand (not part of the test suite):

    .venv/bin/python bench/bench_purge.py [--runs 100000] [--lines 1000000] [--chain 50]

It fills a throwaway database (SQLite WAL in a temporary directory, or the
PostgreSQL database of ``DATABASE_URL``: give it one you can lose) with
``--runs`` finished runs, 30 days old, of one task each, and ``--lines`` log
lines spread over them (raw ``INSERT ... SELECT``, a few seconds), then, on a
real ``qcluster`` (2 workers, as bench_engine.py):

- baseline: the per-hop time of a chain of ``--chain`` no-op tasks, run
  again and again for ``--baseline-seconds``;
- during a purge: ``manage.py purge_runs --older-than 7`` in its own process,
  and the same chain run again and again until the purge ends.

It prints each side's median hop time (and range over the chains), the
ratio (target: at most 1.20), and the purge's own time and rate.
"""

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

# Importing it sets Django up on a throwaway database (or DATABASE_URL); it has the cluster and the timings.
from bench import bench_engine as engine  # noqa: E402
from bench import tasks  # noqa: E402
from flowforge_admin.api import register_task_pipeline  # noqa: E402
from flowforge_admin.models import FlowRun, RunSnapshot, TaskLog, TaskRun  # noqa: E402

OLD_FLOW = "purged"


def table(model):
    return connection.ops.quote_name(model._meta.db_table)


def fill(runs, lines):
    """Insert ``runs`` succeeded runs finished 30 days ago, one task run each, ``lines`` log lines in all."""
    per_run = max(1, lines // runs)
    old = connection.ops.adapt_datetimefield_value(timezone.now() - timezone.timedelta(days=30))
    empty = "CAST('{}' AS jsonb)" if connection.vendor == "postgresql" else "'{}'"
    numbers = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %s) "
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            numbers + f"INSERT INTO {table(FlowRun)} (flow_name, flow_version, params, status, triggered_by, "
            "created_at, started_at, finished_at, logical_date, held, pending_count, queued_count, running_count, "
            "retrying_count, succeeded_count, failed_count, upstream_failed_count, cancelled_count, revision) "
            f"SELECT %s, 1, {empty}, 'succeeded', 'code', %s, %s, %s, %s, %s, 0, 0, 0, 0, 1, 0, 0, 0, 2 FROM n",
            [runs, OLD_FLOW, old, old, old, old, False],
        )
        cursor.execute(
            f"INSERT INTO {table(RunSnapshot)} (run_id, data) SELECT id, {empty} FROM {table(FlowRun)} "
            "WHERE flow_name = %s",
            [OLD_FLOW],
        )
        cursor.execute(
            f"INSERT INTO {table(TaskRun)} (run_id, task_name, status, attempt, max_attempts, lost_attempts, "
            "queued_at, started_at, finished_at, error, traceback, revision, pool, pool_slots) "
            "SELECT id, 't', 'succeeded', 1, 1, 0, %s, %s, %s, '', '', 2, '', 1 "
            f"FROM {table(FlowRun)} WHERE flow_name = %s",
            [old, old, old, OLD_FLOW],
        )
        cursor.execute(
            numbers
            + f"INSERT INTO {table(TaskLog)} (task_run_id, attempt, logged_at, level, source, message) "
            "SELECT t.id, 1, %s, 20, 'bench', 'a line a task logged while it ran, number ' || n.i "
            f"FROM {table(TaskRun)} t JOIN {table(FlowRun)} r ON r.id = t.run_id CROSS JOIN n "
            "WHERE r.flow_name = %s",
            [per_run, old, OLD_FLOW],
        )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return time.perf_counter() - started, per_run * runs


def hop_times(chain_flow, length, until):
    """Run the chain again and again until ``until()`` is true (at least once); return ms per hop of each."""
    times = []
    while not times or not until():
        times.append(engine.timed_run(chain_flow) / length * 1000)
    return times


def describe(times):
    """Median ms/hop of the chains (min-max), and the mean: a chain held up once weighs in the mean only."""
    return (
        f"median {statistics.median(times):7.2f} ms/hop ({min(times):.2f}-{max(times):.2f}), "
        f"mean {statistics.mean(times):7.2f}, {len(times)} chains"
    )


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--chain", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--baseline-seconds", type=float, default=30)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    seconds, lines = fill(args.runs, args.lines)
    print(
        f"{connection.vendor}: filled {args.runs} runs, {args.runs} task runs, {lines} log lines in {seconds:.1f} s",
        flush=True,
    )
    chain_flow = register_task_pipeline(
        f"chain{args.chain}",
        {
            f"t{i}": {"function": tasks.noop, "depends_on": [f"t{i - 1}"] if i else []}
            for i in range(args.chain)
        },
    )
    with engine.Cluster(FLOWFORGE_BROKER_CLASS=engine.ADAPTIVE):
        engine.timed_run(chain_flow)  # warm up: imports, connections, the snapshot cache
        deadline = time.monotonic() + args.baseline_seconds
        baseline = hop_times(chain_flow, args.chain, lambda: time.monotonic() > deadline)
        print(f"baseline      {describe(baseline)}", flush=True)
        started = time.perf_counter()
        purge = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "purge_runs",
                "--older-than",
                "7",
                "--batch-size",
                str(args.batch_size),
            ],
            cwd=engine.ROOT,
            env=engine.BASE_ENV,
            stdout=subprocess.PIPE,
            text=True,
        )
        during = hop_times(chain_flow, args.chain, lambda: purge.poll() is not None)
        purge_seconds = time.perf_counter() - started
        output = purge.communicate()[0].strip()
        print(f"during purge  {describe(during)}", flush=True)
    ratio = statistics.median(during) / statistics.median(baseline)
    mean_ratio = statistics.mean(during) / statistics.mean(baseline)
    print(f"ratio during / baseline: medians {ratio:.2f}, means {mean_ratio:.2f}  (target <= 1.20)")
    print(
        f"purge: {purge_seconds:.1f} s, {args.runs / purge_seconds:.0f} runs/s, batch {args.batch_size}: {output}"
    )
    assert FlowRun.objects.filter(flow_name=OLD_FLOW).count() == 0, "the purge left runs behind"


if __name__ == "__main__":
    main()
