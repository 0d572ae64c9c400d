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


def touch(path):
    Path(path).touch()
