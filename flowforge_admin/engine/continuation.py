"""Continuing in the worker: the worker that finished a task runs one task it made ready itself.

A chain hop through the broker costs a poll (the ORM broker's) or a round
trip (Redis), and a claim's transaction, besides the commit that recorded
the finished task. When a worker records a success (worker.record_success)
inside :func:`offering`, the change that saves it (``RunChange.save``) may
keep one of the tasks it made ready (:func:`runnable`, :func:`keep`) and claim it for this
worker right there: pending to running, under the run's lock, with the same
conditional update as every other move (``RunChange._start_here``), and no
message. The worker runs it once that commit is done. So the claim stays
atomic: a cancel waits for the run's lock and then finds the task running
(it is marked cancelled and its result discarded, as for any running task);
a message for that attempt (a resend, a second delivery) finds nothing to
claim. A hop is two commits (the claim's transaction is gone too), not a poll.

When the success made nothing ready that may run here (a fan-out's tasks,
the end of a branch), the change takes along instead a task run of the run
that is still queued, its message not taken yet (``RunChange._take_queued``):
queued to running with the same conditional update. The claim of the next
task and the record of this one are then one transaction, not two. Its
message, when a worker takes it, finds the attempt no longer queued with one
read (worker.claim) and is dropped. While tasks are quick (:data:`QUICK_SECONDS`),
up to :data:`BUNDLE_TASKS` are taken at once, run in turn, and their
successes recorded in one transaction (worker.record_successes); a bundle's
task that waited past ``FLOWFORGE_CONTINUATION_SECONDS`` is handed back to
the queue (worker.hand_back), and one that waited :data:`RECHECK_SECONDS`
is looked at again before it runs, so that a cancel stops it.

Should the worker die after that commit, before or while the task runs, the
task run is ``running`` with no worker: its heartbeat goes stale and the
lost-work check gives it a new attempt (engine/recovery.py), as for any
worker that dies while running a task.

Continued only when all of these hold:

- the task runs on this cluster (its queue is this worker's cluster), its
  pool slot was taken in the same change (a task whose pool is full stays
  pending, waiting for a slot, and is no candidate), and it is an ordinary
  task (no group's own function, no sensor check; approval steps are never
  queued);
- fairness: this message has run fewer than ``FLOWFORGE_CONTINUATIONS_PER_MESSAGE``
  continuations and started less than ``FLOWFORGE_CONTINUATION_SECONDS`` ago,
  so a long chain goes back to the broker's queue behind other runs' work;
- time: Django-Q2 raises ``TimeoutException`` in the worker when the
  message's time (the cluster's ``timeout``, or the first task's own) is up,
  and kills the worker 3 s later. This module never resets that timer; a
  task is continued only when what is left of it (the process's alarm) covers
  the task's own timeout and :data:`MARGIN_SECONDS`, and then runs under an
  alarm of its own timeout (:func:`time_limit`). A task without a timeout
  has the cluster's: it is continued only while the cluster's timeout less
  ``FLOWFORGE_CONTINUATION_SECONDS`` is left, so it loses at most that much.
"""

import collections
import contextlib
import contextvars
import datetime
import signal
import threading
import time

from django_q.conf import Conf
from django_q.exceptions import TimeoutException

from ..conf import get_setting
from ..definitions.sensors import sensor_settings
from ..models import TaskRun
from ..queues import queue_name
from ..states import RunState, TaskState
from . import dispatch

# What a continued task's own timeout needs on top of it from the message's time: the claim,
# the record of its outcome and the alarm's rounding.
MARGIN_SECONDS = 2.0

# Queued task runs are taken along several at once (a bundle, their successes recorded in one
# transaction) only while the last task's function ran under QUICK_SECONDS: then the lock's
# turns, not the work, are what a task costs. A slow task is taken alone, as a worker that is
# free would take it: a bundle never keeps work from an idle worker for long.
BUNDLE_TASKS = 8
QUICK_SECONDS = 0.02

# A task started for this worker that has waited longer than this since its claim (behind the
# ones before it in its bundle) is looked at again before it runs: cancelled or taken over
# meanwhile, it does not run. One read for all that wait; none on a chain's hop.
RECHECK_SECONDS = 0.05

# How many more of a run's queued task runs a worker looks at than it may take (some may not run here).
TAKE_AMONG = 8

# A queued task run is taken along only once it has waited this long: its message had the time
# to reach a worker that is free (a broker's poll), so no worker was (a layered DAG's next
# layer, queued by the change before, goes to the other workers; a fan-out's backlog is taken).
TAKE_AFTER_SECONDS = 0.02

_current = contextvars.ContextVar("flowforge_continuation", default=None)

# A task run started for a worker's message, to run next (its ``timeout``: the task's own).
Kept = collections.namedtuple("Kept", "task_run_id attempt run_id name snapshot timeout")


class Message:
    """The Django-Q2 message a worker runs: when it started, and the continuations it ran and will run."""

    def __init__(self):
        self.started = time.monotonic()
        self.continued = 0
        self.offered_run = None  # the run whose next change may start tasks for this worker
        self.kept = collections.deque()  # the Kept started for it, in order: one, or a bundle
        self.kept_at = None  # when the last of them were claimed (time.monotonic())
        self.checked_at = None  # when they were last seen still claimed for this worker
        self.done = []  # successes of a bundle not recorded yet: (name, attempt, output, stored)
        self.last_took = None  # how long the last task's function ran, in seconds

    def take(self):
        """Return the next task run started for this worker (a :class:`Kept`), or None."""
        if not self.kept:
            return None
        self.continued += 1
        return self.kept.popleft()

    def within_bounds(self):
        """Whether this message may still continue (fairness: by count and by time)."""
        return self.room() > 0 and time.monotonic() - self.started < get_setting(
            "FLOWFORGE_CONTINUATION_SECONDS"
        )

    def waiting(self):
        """(name, attempt) of each task run started for this worker and not run yet, in order."""
        return [(kept.name, kept.attempt) for kept in self.kept]

    def room(self):
        """How many more tasks this message may still start (by count)."""
        return get_setting("FLOWFORGE_CONTINUATIONS_PER_MESSAGE") - self.continued - len(self.kept)

    def bundle_size(self):
        """How many queued task runs to take along at once: several only while the tasks are quick."""
        quick = self.last_took is not None and self.last_took < QUICK_SECONDS
        return max(1, min(BUNDLE_TASKS, self.room())) if quick else 1

    def still_fresh(self, timeout):
        """Whether a task of the bundle taken :attr:`kept_at` may still run now (else it is handed back)."""
        return time.monotonic() - self.kept_at < get_setting("FLOWFORGE_CONTINUATION_SECONDS") and fits(
            timeout
        )

    def due_for_check(self):
        """Whether the tasks started for this worker have waited long enough to be looked at again."""
        return time.monotonic() - self.checked_at >= RECHECK_SECONDS

    def flush(self):
        """Return the successes not recorded yet, and forget them."""
        done, self.done = self.done, []
        return done


@contextlib.contextmanager
def offering(message, run_id):
    """While the block records an outcome of ``run_id``, the change saving it may start a task for ``message``.

    The block returns only once that change is committed (``changing``
    commits on its way out); should it raise, nothing was started.
    """
    message.offered_run = run_id
    token = _current.set(message)
    try:
        yield
    except BaseException:
        message.kept.clear()
        raise
    finally:
        _current.reset(token)
        message.offered_run = None


def offered(change):
    """The message of the worker saving ``change``, if it may run one more task of it now; else None.

    Only the first change of the offered run is offered: what its commit
    sets off (a pool's waiters woken, a held run admitted) is sent as usual.
    """
    message = _current.get()
    if message is None or message.offered_run != change.run.pk:
        return None
    message.offered_run = None
    if change.run.status != RunState.RUNNING or dispatch.running_locally() or not message.within_bounds():
        return None
    return message


def runnable(snapshot, name):
    """Whether the worker saving a change of ``snapshot``'s run may run task run ``name`` itself."""
    return _may_continue(snapshot, name, snapshot.tasks[name])


def takeable(change, limit):
    """Up to ``limit`` queued task runs of ``change``'s run that its worker may take along: (name, pk, attempt) each.

    Their messages are still on their way: when workers take them, they find
    nothing to claim (a read, worker.claim). The newest are looked at first:
    the broker hands out the oldest messages first, so a worker about to take
    one loses nothing. Task runs this worker may not run (another queue, a
    group's own function, a sensor, a timeout that does not fit) stay queued
    for their messages.
    """
    # One queued just now has a message on its way to a worker that may be free: left to it.
    waited = change.now - datetime.timedelta(seconds=TAKE_AFTER_SECONDS)
    queued = (
        TaskRun.objects.filter(run_id=change.run.pk, status=TaskState.QUEUED, queued_at__lte=waited)
        .order_by("-queued_at", "-id")
        .values_list("task_name", "id", "attempt")[: limit + TAKE_AMONG]
    )
    return [row for row in queued if runnable(change.snapshot, row[0])][:limit]


def keep(message, change, names):
    """Have ``message`` run ``names`` next, in order, which ``change`` started for it (``running``, attempts current)."""
    for name in names:
        row = change.row(name)
        timeout = change.snapshot.tasks[name]["timeout"]
        message.kept.append(Kept(row["pk"], row["attempt"], change.run.pk, name, change.snapshot, timeout))
    message.kept_at = message.checked_at = time.monotonic()


def _may_continue(snapshot, name, task):
    if queue_name(task.get("queue", "")) != Conf.CLUSTER_NAME:
        return False  # another cluster's work (routing)
    if snapshot.is_group(name) or sensor_settings(task):
        return False
    in_main_thread = threading.current_thread() is threading.main_thread()
    if task["timeout"] and not in_main_thread:
        return False  # its own alarm could not be set here
    return fits(task["timeout"])


def fits(timeout):
    """Whether what is left of the message's time covers a task with ``timeout`` (None: the cluster's)."""
    left = time_left()
    if left is None:
        return True  # no alarm: the message has no time limit
    if timeout:
        return left >= timeout + MARGIN_SECONDS
    return left >= (Conf.TIMEOUT or 0) - get_setting("FLOWFORGE_CONTINUATION_SECONDS")


def time_left():
    """Seconds until the process's alarm (Django-Q2's timeout of the running message) goes off, or None."""
    left, _interval = signal.getitimer(signal.ITIMER_REAL)
    return left or None


@contextlib.contextmanager
def time_limit(seconds):
    """Raise Django-Q2's ``TimeoutException`` in the block after ``seconds`` (None: no limit of its own).

    The message's alarm (Django-Q2's) is put back afterwards with what is
    left of it; :func:`fits` made sure it goes off after this one.
    """
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def timed_out(signum, frame):
        raise TimeoutException(f"Task exceeded maximum timeout value ({seconds} seconds)")

    outer_left = time_left()
    started = time.monotonic()
    previous = signal.signal(signal.SIGALRM, timed_out)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL if previous is None else previous)
        if outer_left is not None:
            signal.setitimer(signal.ITIMER_REAL, max(outer_left - (time.monotonic() - started), 0.001))
