"""Functions the benchmark's clusters run (importable as ``bench.tasks``)."""

from pathlib import Path

from django_q.tasks import async_task


def noop(**kwargs):
    return None


def plain_hop(remaining, done_file):
    """One hop of a plain Django-Q2 chain: each task enqueues the next."""
    if remaining > 0:
        async_task("bench.tasks.plain_hop", remaining - 1, done_file)
    else:
        Path(done_file).write_text("done")


def hang_first(context):
    """bench_recovery.py: the first attempt hangs until its worker is killed; a later one returns at once."""
    import time

    if context.attempt == 1:
        time.sleep(600)


def touch(path):
    Path(path).touch()


# bench_artifacts.py: a large output passed from one task to the next, or only its length.


def make_array(megabytes=100):
    """A float64 array of ``megabytes`` MB: not JSON, so it becomes an artifact."""
    import numpy

    return numpy.full(megabytes * 2**20 // 8, 1.5)


def make_array_keep_length(megabytes=100):
    """The same work as make_array, but only the array's length leaves the task (JSON)."""
    return len(make_array(megabytes))


def array_length(context):
    """The length of what the task ``produce`` made: the array itself, or its length."""
    value = context.upstream["produce"]
    return value if isinstance(value, int) else len(value)
