"""Task functions of the engine tests (registered from code by the tests).

Side effects go to files under ``marker_dir`` (a run parameter), written at
the end of each function, so that tests can count how often work was done,
whichever process did it.
"""

import logging
import sys
import time
from pathlib import Path

logger = logging.getLogger("tests.engine_tasks")


def _mark(marker_dir, text):
    with open(Path(marker_dir) / "side_effects.txt", "a") as out:
        out.write(text + "\n")


def work(context, marker_dir, seconds=0.0):
    """Sleep ``seconds``, then write the side effect; return when it ran."""
    started = time.time()
    time.sleep(seconds)
    _mark(marker_dir, context.task_name)
    return {"task": context.task_name, "start": started, "end": time.time(), "attempt": context.attempt}


def gather(context):
    """Return the names and outputs of the tasks this one waited for."""
    return {"upstream": sorted(context.upstream), "outputs": context.upstream}


def echo(context, **params):
    """Return the parameters it was given, and the context's merged ones."""
    return {"kwargs": params, "context_params": context.params}


def takes_only_n(n):
    return n * 2


def cluster_name():
    """Return the name of the Django-Q2 cluster whose worker runs it (its queue)."""
    from django_q.conf import Conf

    return Conf.CLUSTER_NAME


def fail(message="boom"):
    raise RuntimeError(message)


def fail_first(context, marker_dir, failures=1):
    """Fail the first ``failures`` attempts, then succeed."""
    _mark(marker_dir, f"{context.task_name} attempt {context.attempt}")
    if context.attempt <= failures:
        raise ValueError(f"attempt {context.attempt} fails on purpose")
    return {"attempt": context.attempt}


def hang_first(context, marker_dir):
    """The first attempt hangs (until its worker is killed); a later one writes the side effect."""
    if context.attempt == 1:
        time.sleep(600)
    _mark(marker_dir, context.task_name)
    return {"attempt": context.attempt}


def not_json():
    return {"value": object()}


def unstorable():
    """A value no serializer can write (a generator cannot be pickled)."""
    return (n for n in range(3))


def talk(context, lines=3, seconds=0.2):
    """Log and print ``lines`` lines naming the task, over some time."""
    for number in range(lines):
        logger.info("%s log line %s", context.task_name, number)
        print(f"{context.task_name} print line {number}")
        time.sleep(seconds)
    print(f"{context.task_name} to stderr", file=sys.stderr)
    return lines


def dates(context):
    """Return the run's logical date and data interval as the task sees them (ISO 8601)."""
    interval = (context.data_interval_start, context.data_interval_end)
    return {
        "logical_date": context.logical_date.isoformat(),
        "interval": [value.isoformat() if value else None for value in interval],
    }


def file_arrived(path):
    """A sensor: the file's text once it exists, else None (not yet)."""
    found = Path(path)
    return found.read_text() if found.exists() else None


def never():
    """A sensor whose condition never holds."""
    return False


def grid(count=6):
    """The parameter sets a mapped task maps over (or, with a non-number, not a list)."""
    if not isinstance(count, int):
        return {"not": "a list"}
    return [{"lr": index / 10, "depth": index} for index in range(count)]


def train_one(context, item, marker_dir, fail_index=-1):
    """A mapped instance: fails its first attempt when it is instance ``fail_index``."""
    _mark(marker_dir, f"{context.task_name} attempt {context.attempt}")
    if context.map_index == fail_index and context.attempt == 1:
        raise ValueError(f"instance {context.map_index} fails its first attempt")
    return {"index": context.map_index, "score": item["depth"] * 2}


def pick_best(train):
    """Downstream of a mapped task: receives the instances' outputs in order."""
    return {"received": train}


def grid_array(count=3):
    """An artifact to map over: a NumPy array (not JSON)."""
    import numpy

    return numpy.arange(count) * 10


def square(item):
    return int(item) ** 2


def scaled_array(item):
    """A mapped instance whose output is an artifact (a NumPy array, not JSON)."""
    import numpy

    return numpy.full(2, int(item))


def total_of(scale):
    """Downstream of a mapped task of arrays: receives the arrays themselves, in order."""
    return [int(array.sum()) for array in scale]
