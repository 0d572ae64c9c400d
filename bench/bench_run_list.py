"""Benchmark: the run list (FlowRun changelist) and the run page in the admin, at scale.

Run by hand (not part of the test suite):

    .venv/bin/python bench/bench_run_list.py [--runs 100000] [--tasks-per-run 10] [--repeat 7]

It fills a throwaway SQLite database in a temporary directory (or DATABASE_URL
if set: give it an empty database you can lose) with 20 flows, --runs runs
spread over the last year (mixed statuses and triggers, their task counters
consistent with their task runs) and --tasks-per-run task runs each, written
with plain INSERTs in one transaction (the engine is not involved); plus one
run of --big-run-tasks task runs in groups. Then, as a logged-in superuser
with django.test.Client, it requests each page once to warm up, once to count
its queries, and --repeat times to time it (the whole Django stack, DEBUG
off), and prints the median and slowest time and the query count per page
against the --budget-ms.

--explain prints the slowest queries of each page with their plan (EXPLAIN
QUERY PLAN on SQLite, EXPLAIN ANALYZE on PostgreSQL). --sql runs statements
before measuring (e.g. a CREATE INDEX to try). --reuse measures the data an
earlier run left in the same database (set FLOWFORGE_VAR_DIR for SQLite; a
temporary directory is removed at the end).
"""

import argparse
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
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

from django.contrib import admin  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, connections, transaction  # noqa: E402
from django.db.models import Count, F, Q  # noqa: E402
from django.test import Client, RequestFactory  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from flowforge_admin.models import Flow, FlowRun, RunSnapshot, TaskRun  # noqa: E402
from flowforge_admin.states import RunState, TaskState  # noqa: E402

FLOW_NAMES = [
    "ingest_orders",
    "ingest_customers",
    "ingest_payments",
    "sync_inventory",
    "daily_sales_report",
    "weekly_kpis",
    "train_churn_model",
    "score_churn_model",
    "clean_events",
    "build_search_index",
    "export_invoices",
    "reconcile_payments",
    "refresh_dashboards",
    "backup_warehouse",
    "send_newsletters",
    "geo_enrichment",
    "fraud_scoring",
    "ab_test_rollup",
    "vacuum_staging",
    "archive_logs",
]
# Matches 2 of the 20 flows: about a tenth of the runs.
SEARCH_TERM = "payments"
BIG_FLOW = "bench_big_run"
OPERATORS = [f"operator{i}" for i in range(1, 6)]
BATCH = 5000
SPAN = timedelta(days=365)
# Finished runs by status; the newest ones are still running or queued.
FINISHED_MIX = [(RunState.SUCCEEDED, 86), (RunState.FAILED, 9), (RunState.CANCELLED, 5)]
TRIGGER_MIX = [(FlowRun.Trigger.SCHEDULE, 65), (FlowRun.Trigger.USER, 20), (FlowRun.Trigger.CODE, 15)]
ACTIVE_RUNS = 200
# The columns insert_runs writes (run_values returns them).
RUN_FIELDS = [
    "flow_id",
    "flow_name",
    "flow_version",
    "params",
    "status",
    "triggered_by",
    "triggered_by_user_id",
    "created_at",
    "started_at",
    "finished_at",
    *(f"{state}_count" for state in TaskState.values),
]


# The data ---------------------------------------------------------------------


def step_name(index):
    return f"step_{index:02d}"


def canonical_task(name, parent=None, function="bench.tasks.noop", depends_on=()):
    """A task as the engine's snapshot stores it (definition.TaskSpec.canonical)."""
    return {
        "name": name,
        "parent": parent,
        "function": function,
        "verbose_name": "",
        "params": {},
        "retries": 0,
        "retry_delay": 0,
        "timeout": None,
        "depends_on": list(depends_on),
    }


def chain_snapshot(flow_name, tasks):
    """The snapshot every bulk run shares: a chain of ``tasks`` steps."""
    steps = [canonical_task(step_name(i), depends_on=[step_name(i - 1)] if i else []) for i in range(tasks)]
    return {"flow": flow_name, "version": 1, "params": {"day": None}, "params_schema": None, "tasks": steps}


def task_counts(status, tasks, rng):
    """Return {state: count} for a run of ``status``, in the order the task-run INSERT follows.

    Task i succeeded when i < succeeded_count; the next one holds the run's
    fate (failed, running, queued); the rest follow from it. insert_task_runs
    derives each task run's status from the same rule, so the counters and
    the task runs agree.
    """
    counts = dict.fromkeys(TaskState.values, 0)
    if status == RunState.SUCCEEDED:
        counts[TaskState.SUCCEEDED] = tasks
    elif status == RunState.FAILED:
        counts[TaskState.SUCCEEDED] = rng.randrange(tasks)
        counts[TaskState.FAILED] = 1
        counts[TaskState.UPSTREAM_FAILED] = tasks - counts[TaskState.SUCCEEDED] - 1
    elif status == RunState.CANCELLED:
        counts[TaskState.SUCCEEDED] = rng.randrange(tasks)
        counts[TaskState.CANCELLED] = tasks - counts[TaskState.SUCCEEDED]
    elif status == RunState.RUNNING:
        counts[TaskState.SUCCEEDED] = rng.randrange(tasks)
        counts[TaskState.RUNNING] = 1
        counts[TaskState.PENDING] = tasks - counts[TaskState.SUCCEEDED] - 1
    else:
        counts[TaskState.QUEUED] = 1
        counts[TaskState.PENDING] = tasks - 1
    return counts


def pick(rng, mix):
    return rng.choices([value for value, _ in mix], weights=[weight for _, weight in mix])[0]


def run_values(index, count, tasks, flows, users, rng, start):
    """Return the field values of bulk run ``index`` of ``count`` (oldest first)."""
    created = start + SPAN * (index + rng.random() * 0.9) / count
    status = (
        rng.choice([RunState.RUNNING, RunState.QUEUED])
        if index >= count - ACTIVE_RUNS
        else pick(rng, FINISHED_MIX)
    )
    started = None if status == RunState.QUEUED else created + timedelta(seconds=rng.uniform(0.1, 5))
    finished = None
    if status not in (RunState.QUEUED, RunState.RUNNING):
        finished = started + timedelta(seconds=rng.lognormvariate(5, 1.2))
    trigger = pick(rng, TRIGGER_MIX)
    flow = flows[rng.randrange(len(flows))]
    counts = task_counts(status, tasks, rng)
    return {
        "flow_id": flow.pk,
        "flow_name": flow.name,
        "flow_version": 1,
        "params": {"day": created.date().isoformat()},
        "status": status,
        "triggered_by": trigger,
        "triggered_by_user_id": rng.choice(users).pk if trigger == FlowRun.Trigger.USER else None,
        "created_at": created,
        "started_at": started,
        "finished_at": finished,
        **{f"{state}_count": counts[state] for state in TaskState.values},
    }


def insert_runs(count, tasks, flows, users, seed):
    """Insert ``count`` runs with executemany, in batches (auto_now_add would overwrite created_at)."""
    rng = random.Random(seed)
    start = timezone.now() - SPAN - timedelta(minutes=5)
    columns = [FlowRun._meta.get_field(name) for name in RUN_FIELDS]
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        connection.ops.quote_name(FlowRun._meta.db_table),
        ", ".join(connection.ops.quote_name(c.column) for c in columns),
        ", ".join(["%s"] * len(columns)),
    )
    with connection.cursor() as cursor:
        for first in range(0, count, BATCH):
            rows = []
            for index in range(first, min(first + BATCH, count)):
                values = run_values(index, count, tasks, flows, users, rng, start)
                rows.append(
                    [
                        column.get_db_prep_save(values[name], connection)
                        for column, name in zip(columns, RUN_FIELDS, strict=True)
                    ]
                )
            cursor.executemany(sql, rows)
        # The same small snapshot for all runs (its flow name is the first flow's), in one statement.
        snapshot = RunSnapshot._meta.get_field("data").get_db_prep_save(
            chain_snapshot(flows[0].name, tasks), connection
        )
        cursor.execute(
            "INSERT INTO {} (run_id, data) SELECT id, %s FROM {} WHERE id NOT IN (SELECT run_id FROM {})".format(
                *(
                    connection.ops.quote_name(model._meta.db_table)
                    for model in (RunSnapshot, FlowRun, RunSnapshot)
                )
            ),
            [snapshot],
        )


def insert_task_runs(tasks):
    """Insert ``tasks`` task runs per run with INSERT ... SELECT, statuses derived from the run's counters."""
    table = connection.ops.quote_name
    steps = ", ".join(f"({i}, '{step_name(i)}')" for i in range(tasks))
    sql = f"""
        WITH steps (i, name) AS (VALUES {steps})
        INSERT INTO {table(TaskRun._meta.db_table)}
            (run_id, task_name, status, attempt, max_attempts, lost_attempts,
             queued_at, started_at, finished_at, error, traceback)
        SELECT run_id, name, status,
               CASE WHEN status IN ('running', 'succeeded', 'failed') THEN 1 ELSE 0 END,
               1, 0,
               CASE WHEN status NOT IN ('pending', 'upstream_failed') THEN created_at END,
               CASE WHEN status IN ('running', 'succeeded', 'failed') THEN started_at END,
               CASE WHEN status IN ('succeeded', 'failed') THEN finished_at END,
               CASE WHEN status = 'failed' THEN 'ValueError: the bench says no' ELSE '' END,
               ''
        FROM (
            SELECT r.id AS run_id, s.name, r.created_at, r.started_at, r.finished_at,
                   CASE
                       WHEN s.i < r.succeeded_count THEN 'succeeded'
                       WHEN r.status = 'failed' AND s.i = r.succeeded_count THEN 'failed'
                       WHEN r.status = 'failed' THEN 'upstream_failed'
                       WHEN r.status = 'cancelled' THEN 'cancelled'
                       WHEN r.status = 'running' AND s.i = r.succeeded_count THEN 'running'
                       WHEN r.status = 'queued' AND s.i = 0 THEN 'queued'
                       ELSE 'pending'
                   END AS status
            FROM {table(FlowRun._meta.db_table)} r CROSS JOIN steps s
            WHERE r.id BETWEEN %s AND %s
        ) t
    """
    ids = FlowRun.objects.exclude(flow_name=BIG_FLOW).values_list("pk", flat=True)
    low, high = ids.order_by("pk")[0], ids.order_by("-pk")[0]
    step = max(20 * BATCH // tasks, 1)  # about 100 000 task runs per statement
    with connection.cursor() as cursor:
        for first in range(low, high + 1, step):
            cursor.execute(sql, [first, min(first + step - 1, high)])


def big_run(flow, tasks, user):
    """One run of ``tasks`` task runs: groups of 24 chained steps, the last group failed; launched by ``user``."""
    group_size = 25
    snapshot_tasks, states = [], []
    groups = max(tasks // group_size, 1)
    for g in range(groups):
        group = f"group_{g:02d}"
        snapshot_tasks.append(
            canonical_task(group, function=None, depends_on=[f"group_{g - 1:02d}"] if g else [])
        )
        states.append(TaskState.FAILED if g == groups - 1 else TaskState.SUCCEEDED)
        children = group_size - 1 if g < groups - 1 else tasks - len(snapshot_tasks)
        for c in range(children):
            name = f"{group}_step_{c:02d}"
            snapshot_tasks.append(
                canonical_task(name, parent=group, depends_on=[f"{group}_step_{c - 1:02d}"] if c else [])
            )
            states.append(
                TaskState.SUCCEEDED
                if g < groups - 1 or c < children // 2
                else TaskState.FAILED
                if c == children // 2
                else TaskState.UPSTREAM_FAILED
            )
    started = timezone.now() - timedelta(hours=1)
    snapshot = {"flow": flow.name, "version": 1, "params": {}, "params_schema": None, "tasks": snapshot_tasks}
    counts = {f"{state}_count": states.count(state) for state in TaskState.values}
    run = FlowRun.objects.create(
        flow=flow,
        flow_name=flow.name,
        flow_version=1,
        status=RunState.FAILED,
        triggered_by=FlowRun.Trigger.USER,
        triggered_by_user=user,
        started_at=started,
        finished_at=started + timedelta(seconds=5 * len(states)),
        **counts,
    )
    RunSnapshot.objects.create(run=run, data=snapshot)
    TaskRun.objects.bulk_create(
        big_task_run(run, task, state, started + timedelta(seconds=5 * i))
        for i, (task, state) in enumerate(zip(snapshot_tasks, states, strict=True))
    )
    return run


def big_task_run(run, task, state, started):
    ran = state in (TaskState.SUCCEEDED, TaskState.FAILED)
    return TaskRun(
        run=run,
        task_name=task["name"],
        status=state,
        attempt=1 if ran else 0,
        queued_at=started if ran else None,
        started_at=started if ran else None,
        finished_at=started + timedelta(seconds=4) if ran else None,
        output={"rows": 1000, "path": f"s3://bench/{task['name']}.parquet"}
        if state == TaskState.SUCCEEDED
        else None,
        error="ValueError: the bench says no" if state == TaskState.FAILED else "",
        traceback="Traceback (most recent call last):\n  ...\nValueError: the bench says no"
        if state == TaskState.FAILED
        else "",
    )


def populate(runs, tasks, big_tasks, seed):
    """Write the whole data set in one transaction; print how long each part took."""
    begin = time.perf_counter()
    with transaction.atomic():
        users = User.objects.bulk_create(User(username=name) for name in OPERATORS)
        flows = Flow.objects.bulk_create(Flow(name=name, origin=Flow.Origin.CODE) for name in FLOW_NAMES)
        big_flow = Flow.objects.create(name=BIG_FLOW, origin=Flow.Origin.CODE)
        insert_runs(runs, tasks, flows, users, seed)
        made_runs = time.perf_counter()
        insert_task_runs(tasks)
        made_tasks = time.perf_counter()
        big_run(big_flow, big_tasks, users[0])
    check_counts()
    if connection.vendor == "postgresql":
        # What autovacuum does soon after a load like this one; SQLite has no such thing.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(
        f"data: {runs:,} runs in {made_runs - begin:.1f} s, {runs * tasks:,} task runs in "
        f"{made_tasks - made_runs:.1f} s, {time.perf_counter() - begin:.1f} s in all"
    )


def check_counts():
    """Stop unless every run's task counters match its task runs (what the list shows must be true)."""
    counted = {
        f"counted_{state}": Count("task_runs", filter=Q(task_runs__status=state))
        for state in TaskState.values
    }
    agree = {f"{state}_count": F(f"counted_{state}") for state in TaskState.values}
    wrong = FlowRun.objects.annotate(**counted).exclude(**agree).count()
    if wrong:
        raise SystemExit(f"{wrong} runs have task counters that do not match their task runs")


# The measurements -----------------------------------------------------------


@dataclass
class Result:
    name: str
    url: str
    times: list
    queries: list = field(default_factory=list)

    @property
    def median_ms(self):
        return statistics.median(self.times) * 1000

    @property
    def max_ms(self):
        return max(self.times) * 1000

    @property
    def db_ms(self):
        """Time in the database during the counted request (Django rounds each query to 1 ms)."""
        return sum(float(query["time"]) for query in self.queries) * 1000


def timed_get(client, url):
    start = time.perf_counter()
    response = client.get(url)
    elapsed = time.perf_counter() - start
    if response.status_code != 200:
        raise SystemExit(f"{url}: HTTP {response.status_code}")
    return elapsed


def measure(client, name, url, repeat):
    timed_get(client, url)  # warm-up: template compilation, caches
    with CaptureQueriesContext(connection) as captured:
        timed_get(client, url)
    queries = list(captured)  # now: the next request clears the connection's query log
    times = [timed_get(client, url) for _ in range(repeat)]
    return Result(name, url, times, queries)


def duration_order(user):
    """Return the ``o`` value that sorts the list by duration, longest first (as the admin numbers columns)."""
    request = RequestFactory().get("/")
    request.user = user
    changelist = admin.site._registry[FlowRun].get_changelist_instance(request)
    return f"-{changelist.list_display.index('run_duration')}"


def pages(user, big):
    """Return [(name, url)] of the pages to measure."""
    base = "/admin/flowforge_admin/flowrun/"
    bulk = FlowRun.objects.exclude(flow_name=BIG_FLOW)
    first, last = (
        bulk.order_by(order).values_list("created_at", flat=True)[0]
        for order in ("created_at", "-created_at")
    )
    middle = first + (last - first) / 2
    middle_run = bulk.filter(created_at__gte=middle).order_by("created_at").values_list("pk", flat=True)[0]
    flow = Flow.objects.get(name=FLOW_NAMES[3])
    # Both run pages show a failed run launched by a user (the user is one more query).
    # Page 50, or the last page of a smaller data set.
    page = min(50, -(-FlowRun.objects.count() // admin.site._registry[FlowRun].list_per_page))
    failed_run = (
        bulk.filter(status=RunState.FAILED, triggered_by=FlowRun.Trigger.USER, pk__gte=middle_run)
        .order_by("pk")
        .values_list("pk", flat=True)[0]
    )
    return [
        ("changelist", base),
        (f"page {page}", f"{base}?p={page}"),
        ("status filter", f"{base}?status__exact=failed"),
        ("flow filter", f"{base}?flow__id__exact={flow.pk}"),
        ("triggered_by filter", f"{base}?triggered_by__exact=user"),
        ("date: year", f"{base}?created_at__year={middle.year}"),
        ("date: month", f"{base}?created_at__year={middle.year}&created_at__month={middle.month}"),
        ("search flow name", f"{base}?q={SEARCH_TERM}"),
        ("search run id", f"{base}?q={middle_run}"),
        ("sort by duration", f"{base}?o={duration_order(user)}"),
        (
            f"run page, {FlowRun.objects.get(pk=failed_run).task_runs.count()} tasks",
            f"{base}{failed_run}/change/",
        ),
        (f"run page, {big.task_runs.count()} tasks", f"{base}{big.pk}/change/"),
        (f"live view, {big.task_runs.count()} tasks", f"{base}{big.pk}/live/"),
    ]


def explain(query):
    """Return the plan of a captured query, as text."""
    sql = query["sql"]
    prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN (ANALYZE, BUFFERS) "
    with connection.cursor() as cursor:
        cursor.execute(prefix + sql)
        rows = cursor.fetchall()
    if connection.vendor == "sqlite":
        return "\n".join(f"    {row[-1]}" for row in rows)
    return "\n".join(f"    {row[0]}" for row in rows)


def print_explain(result, top):
    print(f"\n== {result.name}: {result.url}")
    slowest = sorted(result.queries, key=lambda q: float(q["time"]), reverse=True)[:top]
    for query in slowest:
        print(f"  {float(query['time']) * 1000:.1f} ms  {query['sql'][:600]}")
        print(explain(query))


def machine_note():
    vendor = connection.vendor
    if vendor == "postgresql":
        version = f"PostgreSQL {connection.pg_version // 10000}.{connection.pg_version % 10000}"
    else:
        import sqlite3

        version = f"SQLite {sqlite3.sqlite_version}"
    return (
        f"{version}; Python {platform.python_version()}, Django {django.get_version()}; "
        f"{os.cpu_count()} cores; DEBUG off"
    )


def print_table(results, budget_ms, repeat):
    print(f"\n{machine_note()}; median and max of {repeat} requests (after a warm-up), ms")
    print(f"{'page':<24} {'median':>8} {'max':>8} {'queries':>8} {'in db':>7}  under {budget_ms:.0f} ms")
    for result in results:
        verdict = "yes" if result.median_ms < budget_ms else "NO"
        print(
            f"{result.name:<24} {result.median_ms:>8.1f} {result.max_ms:>8.1f} {len(result.queries):>8} "
            f"{result.db_ms:>7.0f}  {verdict}"
        )
    for result in results:
        print(f"  {result.name}: {result.url}")


def prepare(args):
    """Migrate, and fill the database unless --reuse finds it filled; return the 500-task run."""
    call_command("migrate", verbosity=0)
    existing = FlowRun.objects.filter(flow_name=BIG_FLOW).first()
    if args.reuse and existing is not None:
        print(f"data: reusing {FlowRun.objects.count():,} runs, {TaskRun.objects.count():,} task runs")
        return existing
    if FlowRun.objects.exists():
        raise SystemExit("The database already has runs: give an empty database, or --reuse bench data.")
    populate(args.runs, args.tasks_per_run, args.big_run_tasks, args.seed)
    return FlowRun.objects.get(flow_name=BIG_FLOW)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--tasks-per-run", type=int, default=10)
    parser.add_argument("--big-run-tasks", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--budget-ms", type=float, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reuse", action="store_true", help="measure the bench data already in the database")
    parser.add_argument("--sql", action="append", default=[], help="a statement to run before measuring")
    parser.add_argument(
        "--explain", type=int, default=0, metavar="N", help="show the N slowest queries per page"
    )
    args = parser.parse_args()

    big = prepare(args)
    with connection.cursor() as cursor:
        for statement in args.sql:
            print(f"sql: {statement}")
            cursor.execute(statement)
    user, _ = User.objects.get_or_create(username="bench", defaults={"is_staff": True, "is_superuser": True})
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)

    results = [measure(client, name, url, args.repeat) for name, url in pages(user, big)]
    print_table(results, args.budget_ms, args.repeat)
    if args.explain:
        for result in results:
            print_explain(result, args.explain)


if __name__ == "__main__":
    try:
        main()
    finally:
        if OWN_VAR_DIR:
            connections.close_all()
            shutil.rmtree(os.environ["FLOWFORGE_VAR_DIR"], ignore_errors=True)
