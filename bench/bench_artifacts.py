"""Benchmark: what storing a task's output as an artifact costs, against writing its bytes to a file.

Run by hand (not part of the test suite):

    .venv/bin/python bench/bench_artifacts.py [--repeat 5] [--sizes 1 10 100] [--cluster-repeat 5]

1. In process, for NumPy arrays of 1, 10 and 100 MB and a pickled object of
   about 10 MB (a dict of an array and a list of strings): the app's
   ``artifacts.files.store()`` (serialize, sign, write beside the store,
   rename into it) and ``files.load()`` (read, check the signature,
   deserialize), against writing the same bytes (already serialized) to a
   file with ``open().write()`` and reading them back with ``read()``. The
   artifact store (``FLOWFORGE_ARTIFACT_ROOT``) and the direct files are in
   one temporary directory, so on one file system; every file is deleted
   after it was read, and each value goes once through both, untimed,
   before the measured rounds.
2. On a real ``qcluster`` (2 workers, SQLite, the ORM broker): a flow of two
   tasks where the first returns a 100 MB array and the second receives it
   (``context.upstream``), against the same two tasks where the first makes
   the same array but returns only its length. Wall time from launch to the
   run finished.

Medians of --repeat (min-max in brackets); the baselines run in the same
process, alternating with what they are compared to.
"""

import argparse
import atexit
import io
import os
import pickle
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
VAR = tempfile.mkdtemp(prefix="flowforge-bench-artifacts-")
atexit.register(shutil.rmtree, VAR, ignore_errors=True)
BASE_ENV = {
    **{key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "FLOWFORGE_REDIS_URL")},
    "DJANGO_SETTINGS_MODULE": "project.settings",
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "bench-only-secret-key-not-for-any-server",
    "DJANGO_LOG_LEVEL": "WARNING",
    "FLOWFORGE_VAR_DIR": VAR,
    "FLOWFORGE_ARTIFACT_ROOT": str(Path(VAR) / "artifacts"),
    "FLOWFORGE_WORKERS": "2",
}
for key in ("DATABASE_URL", "FLOWFORGE_REDIS_URL"):
    os.environ.pop(key, None)
os.environ.update(BASE_ENV)

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django_q.brokers import get_broker  # noqa: E402

from bench import tasks  # noqa: E402
from flowforge_admin.api import launch_flow, register_task_pipeline  # noqa: E402
from flowforge_admin.artifacts import files  # noqa: E402
from flowforge_admin.artifacts.storage import get_storage  # noqa: E402
from flowforge_admin.models import FlowRun  # noqa: E402

MB = 2**20
DIRECT = Path(VAR) / "direct"


def pickled_object(megabytes):
    """A dict the npy format cannot take: an array of most of the size and 50 000 words."""
    words = [f"word-{number:06d}" for number in range(50_000)]
    size = megabytes * MB - len(pickle.dumps(words, protocol=pickle.HIGHEST_PROTOCOL))
    return {"weights": np.full(size // 8, 0.5), "vocabulary": words}


def serialized(value):
    """The bytes store() writes for ``value`` (the baseline writes these, already made)."""
    stream = io.BytesIO()
    if isinstance(value, np.ndarray):
        np.lib.format.write_array(stream, value, allow_pickle=False)
    else:
        pickle.dump(value, stream, protocol=pickle.HIGHEST_PROTOCOL)
    return stream.getvalue()


def direct(data, number):
    """Write ``data`` to a file and read it back; return (write seconds, read seconds)."""
    path = DIRECT / f"value-{number}.bin"
    start = time.perf_counter()
    with open(path, "wb") as file:
        file.write(data)
    written = time.perf_counter()
    with open(path, "rb") as file:
        assert len(file.read()) == len(data)
    read = time.perf_counter()
    path.unlink()
    return written - start, read - written


def artifact(value, number):
    """Store ``value`` as an artifact and load it back; return (store seconds, load seconds)."""
    start = time.perf_counter()
    stored = files.store(value, run_id=1, task_run_id=number, attempt=1)
    written = time.perf_counter()
    loaded = files.load(stored.path, stored.serializer, stored.signature, label="the benchmark's value")
    read = time.perf_counter()
    assert type(loaded) is type(value)
    get_storage().delete(stored.path)
    return written - start, read - written


def spread(values, unit=1000):
    """``median (min-max)`` of ``values`` (seconds) in ms."""
    values = [value * unit for value in values]
    return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"


def in_process(sizes, repeat):
    DIRECT.mkdir()
    values = [(f"array {size} MB", np.full(size * MB // 8, 1.5)) for size in sizes]
    values.append(("pickled object 10 MB", pickled_object(10)))
    print(
        "| value | bytes | direct write, ms | direct read, ms | store, ms | load, ms "
        "| store / write | load / read | (store + load) / (write + read) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for label, value in values:
        data = serialized(value)
        times = {"write": [], "read": [], "store": [], "load": []}
        direct(data, -1), artifact(value, -1)  # warm-up (untimed): first pages of the cache, imports
        for number in range(repeat):
            write, read = direct(data, number)
            store, load = artifact(value, number)
            for name, seconds in zip(times, (write, read, store, load), strict=True):
                times[name].append(seconds)
        m = {name: statistics.median(seconds) for name, seconds in times.items()}
        print(
            f"| {label} | {len(data):,} | {spread(times['write'])} | {spread(times['read'])} "
            f"| {spread(times['store'])} | {spread(times['load'])} | {m['store'] / m['write']:.2f} "
            f"| {m['load'] / m['read']:.2f} | {(m['store'] + m['load']) / (m['write'] + m['read']):.2f} |"
        )


class Cluster:
    """A ``qcluster`` process (2 workers) for a ``with`` block."""

    def __enter__(self):
        get_broker().purge_queue()
        self.log = open(Path(VAR) / "qcluster.log", "a")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            env=BASE_ENV,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        time.sleep(3)  # let the workers come up before measuring
        return self

    def __exit__(self, *exc):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)
        self.log.close()


def timed_run(flow, params):
    start = time.perf_counter()
    run = launch_flow(flow, params)
    deadline = time.monotonic() + 600
    while not FlowRun.objects.filter(pk=run.pk, status__in=["succeeded", "failed", "cancelled"]).exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"run {run.pk} did not finish")
        time.sleep(0.005)
    elapsed = time.perf_counter() - start
    status = FlowRun.objects.get(pk=run.pk).status
    assert status == "succeeded", status
    return elapsed


def on_cluster(megabytes, repeat):
    call_command("migrate", verbosity=0)
    passed = register_task_pipeline(
        "array_passed",
        {
            "produce": {"function": tasks.make_array},
            "consume": {"function": tasks.array_length, "depends_on": ["produce"]},
        },
    )
    tiny = register_task_pipeline(
        "tiny_passed",
        {
            "produce": {"function": tasks.make_array_keep_length},
            "consume": {"function": tasks.array_length, "depends_on": ["produce"]},
        },
    )
    params = {"megabytes": megabytes}
    times = {"passed": [], "tiny": []}
    with Cluster():
        timed_run(tiny, params)  # warm-up: the workers import NumPy and the app
        for _ in range(repeat):
            times["tiny"].append(timed_run(tiny, params))
            times["passed"].append(timed_run(passed, params))
    m = {name: statistics.median(seconds) for name, seconds in times.items()}
    print()
    print("| two tasks on a qcluster (2 workers, SQLite, ORM broker) | launch to finished, ms |")
    print("|---|---|")
    print(f"| first returns its {megabytes} MB array, the second receives it | {spread(times['passed'])} |")
    print(f"| first makes the same array, returns its length (JSON) | {spread(times['tiny'])} |")
    print(
        f"| difference: the array as an artifact, stored and loaded | {(m['passed'] - m['tiny']) * 1000:.1f} |"
    )


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 100], help="array sizes in MB")
    parser.add_argument("--cluster-repeat", type=int, default=5)
    parser.add_argument("--cluster-megabytes", type=int, default=100)
    args = parser.parse_args()
    in_process(args.sizes, args.repeat)
    if args.cluster_repeat:
        on_cluster(args.cluster_megabytes, args.cluster_repeat)


if __name__ == "__main__":
    main()
