"""Benchmark: the flow engine against plain Django-Q2 doing the same work, in one run.

Run by hand (not part of the test suite):

    .venv/bin/python bench/bench_engine.py [--repeat 3] [--fanout 1000] [--chain 50]

By default everything runs on a throwaway SQLite database (WAL, the embedded
default) with a real `qcluster` process (2 workers), for each ORM broker
setting. The scale-out path instead (PostgreSQL + Redis, two clusters
standing for two machines; give it an empty database you can lose):

    createdb -h 127.0.0.1 -U postgres flowforge_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/flowforge_bench \
    FLOWFORGE_REDIS_URL=redis://127.0.0.1:6379/0 \
    .venv/bin/python bench/bench_engine.py --clusters 2

It measures:

- chain: per-hop time of a chain of no-op tasks (engine flow vs a plain
  Django-Q2 chain where each task enqueues the next);
- fan-out: tasks/s of N independent no-op tasks (engine flow vs N plain
  ``async_task`` calls), and of an N-task layered DAG (engine only);
- the wall time of a 40-task chain (engine), and the CPU an idle cluster
  uses over 20 s;
- for reference, the predecessor's loop that checks readiness once a second.

Medians of --repeat runs; ratios are engine / plain.
"""

import argparse
import atexit
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VAR = tempfile.mkdtemp(prefix="flowforge-bench-")
atexit.register(shutil.rmtree, VAR, ignore_errors=True)
BASE_ENV = {
    **os.environ,
    "DJANGO_SETTINGS_MODULE": "project.settings",
    # What production runs: DEBUG off (with DEBUG on Django also logs every query),
    # with a key of the benchmark's own.
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "bench-only-secret-key-not-for-any-server",
    "DJANGO_LOG_LEVEL": "WARNING",
    "FLOWFORGE_VAR_DIR": VAR,
    "FLOWFORGE_WORKERS": "2",
}
os.environ.update(BASE_ENV)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django_q.brokers import get_broker  # noqa: E402
from django_q.models import Success  # noqa: E402
from django_q.tasks import async_task  # noqa: E402

from bench import tasks  # noqa: E402
from flowforge_admin.api import launch_flow, register_task_pipeline  # noqa: E402
from flowforge_admin.models import FlowRun  # noqa: E402

PLAIN_ORM = "django_q.brokers.orm.ORM"
ADAPTIVE = "flowforge_admin.broker.AdaptiveORM"
NOOP = "bench.tasks.noop"


REDIS = bool(os.environ.get("FLOWFORGE_REDIS_URL"))


class Cluster:
    """``count`` qcluster processes (as many machines), started for a ``with`` block."""

    count = 1

    def __init__(self, **env):
        self.env = {**BASE_ENV, **env}

    def __enter__(self):
        get_broker().purge_queue()
        self.log = open(Path(VAR) / "qcluster.log", "a")  # noqa: SIM115
        self.processes = [
            subprocess.Popen(
                [sys.executable, "manage.py", "qcluster"],
                cwd=ROOT,
                env=self.env,
                stdout=self.log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            for _ in range(self.count)
        ]
        time.sleep(3 * self.count)  # let every worker come up before measuring
        return self

    def __exit__(self, *exc):
        for process in self.processes:
            process.send_signal(signal.SIGTERM)
        for process in self.processes:
            process.wait(timeout=60)
        self.log.close()

    def cpu_seconds(self):
        """CPU time used so far by every process of the clusters' process groups."""
        groups = {process.pid for process in self.processes}
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) in groups:  # process group id
                total += int(fields[11]) + int(fields[12])  # utime + stime
        return total / os.sysconf("SC_CLK_TCK")


def wait_run(run, timeout=600):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if FlowRun.objects.filter(pk=run.pk, status__in=["succeeded", "failed", "cancelled"]).exists():
            return
        time.sleep(0.005)
    raise RuntimeError(f"run {run.pk} did not finish")


def timed_run(flow):
    start = time.perf_counter()
    run = launch_flow(flow)
    wait_run(run)
    elapsed = time.perf_counter() - start
    status = FlowRun.objects.get(pk=run.pk).status
    assert status == "succeeded", status
    return elapsed


def plain_chain(length):
    done = Path(tempfile.mkdtemp(dir=VAR)) / "done"
    start = time.perf_counter()
    async_task("bench.tasks.plain_hop", length - 1, str(done))
    while not done.exists():
        time.sleep(0.001)
    return time.perf_counter() - start


def plain_fanout(count, save):
    """Enqueue ``count`` tasks that each touch a marker file; return the time until all ran.

    With ``save``, Django-Q2 also stores each result (its default). Its
    monitor does that after the task ran, one at a time: the results still
    being saved are waited for (not timed), so that they do not slow down
    whatever is measured next.
    """
    markers = Path(tempfile.mkdtemp(dir=VAR))
    group = markers.name
    start = time.perf_counter()
    for number in range(count):
        async_task("bench.tasks.touch", str(markers / str(number)), save=save, group=group)
    while sum(1 for _ in markers.iterdir()) < count:
        time.sleep(0.01)
    elapsed = time.perf_counter() - start
    if save:
        # Django-Q2 keeps only its last `save_limit` results: wait until no more come.
        before, saved = -1, Success.objects.filter(group=group).count()
        while saved != before:
            time.sleep(1)
            before, saved = saved, Success.objects.filter(group=group).count()
    return elapsed


def predecessor_loop(length):
    """The seed's way: every second, run the tasks whose upstream is done."""
    done, start = set(), time.perf_counter()
    while len(done) < length:
        time.sleep(1)
        ready = [i for i in range(length) if i not in done and (i == 0 or i - 1 in done)]
        done.update(ready)
    return time.perf_counter() - start


def flows(chain, fanout):
    chain_flow = register_task_pipeline(
        f"chain{chain}",
        {f"t{i}": {"function": tasks.noop, "depends_on": [f"t{i - 1}"] if i else []} for i in range(chain)},
    )
    chain40 = register_task_pipeline(
        "chain40",
        {f"t{i}": {"function": tasks.noop, "depends_on": [f"t{i - 1}"] if i else []} for i in range(40)},
    )
    fan = register_task_pipeline(f"fan{fanout}", {f"t{i}": {"function": tasks.noop} for i in range(fanout)})
    width = 100
    layered = register_task_pipeline(
        f"layered{fanout}",
        {
            f"l{layer}_{i}": {
                "function": tasks.noop,
                "depends_on": [f"l{layer - 1}_{i}", f"l{layer - 1}_{(i + 1) % width}"] if layer else [],
            }
            for layer in range(fanout // width)
            for i in range(width)
        },
    )
    return chain_flow, chain40, fan, layered


def idle_cpu(cluster, seconds=60):
    """Percent of one core the idle cluster uses (its scheduler ticks included)."""
    before = cluster.cpu_seconds()
    time.sleep(seconds)
    return (cluster.cpu_seconds() - before) / seconds * 100


MEASURES = ["polls", "chain", "fanout", "layered", "idle"]


def median(func, repeat):
    return statistics.median(func() for _ in range(repeat))


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--chain", type=int, default=50)
    parser.add_argument("--fanout", type=int, default=1000)
    parser.add_argument("--polls", type=float, nargs="+", default=[0.2, 0.05, 0.01])
    parser.add_argument("--clusters", type=int, default=1, help="qcluster processes (machines)")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=MEASURES,
        default=MEASURES,
        help="measure only these (polls: the chain at each --polls setting; idle: idle CPU and the predecessor's loop)",
    )
    parser.add_argument(
        "--plain-save",
        nargs="+",
        type=lambda value: value == "yes",
        default=[True, False],
        metavar="{yes,no}",
        help="plain Django-Q2 fan-outs to compare with: saving results (its default), not saving, or both",
    )
    args = parser.parse_args()
    Cluster.count = args.clusters
    call_command("migrate", verbosity=0)
    rows = []
    print(
        f"{connection.vendor}, {'Redis' if REDIS else 'ORM'} broker, {args.clusters} cluster(s) of 2 workers"
    )

    def row(what, setting, plain, engine, unit):
        ratio = f"{engine / plain:.2f}" if plain and engine else ""
        rows.append((what, setting, plain, engine, unit, ratio))
        print(f"{what:<34} {setting:<22} {fmt(plain):>10} {fmt(engine):>10} {unit:<7} {ratio:>6}", flush=True)

    print(f"{'measure':<34} {'broker':<22} {'plain':>10} {'engine':>10} {'unit':<7} {'ratio':>6}")
    if REDIS:
        with Cluster():
            measure(row, "Redis", args)
        return
    chain_flow = flows(args.chain, args.fanout)[0]
    for poll in args.polls if "polls" in args.only else ():
        setting = f"ORM poll {poll}"
        with Cluster(FLOWFORGE_BROKER_CLASS=PLAIN_ORM, FLOWFORGE_IDLE_POLL=str(poll)):
            measure_chain(row, setting, args, chain_flow)
    with Cluster(FLOWFORGE_BROKER_CLASS=ADAPTIVE) as cluster:
        measure(row, "adaptive 0.01 / 0.2", args)
        if "idle" not in args.only:
            return
        time.sleep(10)  # past the fast-poll window
        idle_adaptive = idle_cpu(cluster)
    with Cluster(FLOWFORGE_BROKER_CLASS=PLAIN_ORM, FLOWFORGE_IDLE_POLL="0.2") as cluster:
        idle_plain = idle_cpu(cluster)
    row("idle cluster CPU", "plain 0.2 vs adaptive", idle_plain, idle_adaptive, "% core")
    row("predecessor loop (1 s checks)", "in process", None, predecessor_loop(5) / 5 * 1000, "ms/hop")


def measure(row, setting, args):
    """Chain, 40-chain, fan-out and layered DAG on the running clusters, engine beside plain.

    Plain and engine runs alternate (plain, engine, plain, engine ...), so that a
    machine that slows down or speeds up during the run weighs on both alike.
    """
    chain_flow, chain40, fan, layered = flows(args.chain, args.fanout)
    if "chain" in args.only:
        measure_chain(row, setting, args, chain_flow)
        row("chain of 40: wall time", setting, None, median(lambda: timed_run(chain40), args.repeat), "s")
    for save in args.plain_save:

        def plain_time(save=save):
            return plain_fanout(args.fanout, save)

        for name, flow in (("fanout", fan), ("layered", layered)):
            if name in args.only:
                plain, engine = interleaved(plain_time, lambda flow=flow: timed_run(flow), args.repeat)
                what = "fan-out" if name == "fanout" else "layered DAG"
                rate = args.fanout / plain, args.fanout / engine
                row(f"{what} of {args.fanout} (plain save={save})", setting, *rate, "tasks/s")


def measure_chain(row, setting, args, chain_flow):
    """Per-hop time of a chain: plain Django-Q2 (each task enqueues the next) beside the engine's flow."""
    plain, engine = interleaved(lambda: plain_chain(args.chain), lambda: timed_run(chain_flow), args.repeat)
    row(
        f"chain of {args.chain}: per hop",
        setting,
        plain / args.chain * 1000,
        engine / args.chain * 1000,
        "ms",
    )


def interleaved(plain, engine, repeat):
    """Median times of ``plain()`` and ``engine()``, run one after the other ``repeat`` times."""
    times = [(plain(), engine()) for _ in range(repeat)]
    return statistics.median(t[0] for t in times), statistics.median(t[1] for t in times)


def fmt(value):
    return "" if value is None else f"{value:.2f}" if value < 100 else f"{value:.0f}"


if __name__ == "__main__":
    main()
