"""The watchdog: a worker process that starts hands on the attempts of its host's dead workers.

When a worker process dies mid-task (``kill -9``, the out-of-memory killer,
a crash in C code), Django-Q2's sentinel sees it within its guard cycle
(0.5 s) and starts a new worker in its place, which sends ``post_spawn``.
On that signal the new worker reads the ``running`` task runs that a process
of this host claimed (``TaskRun.worker``, engine/process.py: one indexed
query) and hands on at once each one whose process is gone, through the
lost-work check's own :func:`recovery.recover_lost_attempt` (a new attempt,
or a failure after too many lost ones). So lost work goes on within seconds
of the death instead of ``FLOWFORGE_LOST_AFTER_SECONDS`` plus the check's
cycle, and costs nothing at rest: one query per worker start.

What it leaves alone, and to whom:

- a worker that timed out: Django-Q2 raises ``TimeoutException`` in it and
  the engine records the timeout before the process ends (worker.run_attempt),
  so its attempt is not running any more. One stuck past the alarm and its
  3 s grace is terminated by the sentinel just after it starts the new worker:
  seen gone, its attempt is handed on as lost, as the lost-work check does;
  seen still alive, the check does it later, as before;
- a recycled worker (Django-Q2's ``recycle``) ends after its message is done:
  nothing of it is running;
- another host's task runs, and those of a host whose cluster died whole
  (no sentinel to start a new worker): the periodic lost-work check, which
  stays the backstop for all of it (engine/recovery.py), or this host's next
  cluster start, whose workers look as they start.

The lookup and the hand-on run in a short-lived thread of the new worker,
so that it takes messages at once; nothing that goes wrong there stops the
worker (it is logged). ``FLOWFORGE_WATCHDOG = False`` turns it off.
"""

import logging
import threading

from django.db import connection
from django.dispatch import receiver
from django_q.signals import post_spawn

from ..conf import get_setting
from ..models import TaskRun
from ..states import TaskState
from . import process
from .recovery import recover_lost_attempt

logger = logging.getLogger("flowforge_admin.engine")


def orphaned():
    """[(run id, task name, attempt, worker)] of the running attempts whose process, of this host, is gone."""
    running = (
        TaskRun.objects.filter(status=TaskState.RUNNING, worker__startswith=process.host() + ":")
        # No ordering (the model's joins the runs): the heartbeat's partial index of running
        # task runs is read alone. They are a few per worker: no index of their own.
        .order_by()
        .values_list("run_id", "task_name", "attempt", "worker")
    )
    # SQLite's LIKE ignores case: the host is compared again here.
    return [row for row in running if process.on_this_host(row[3]) and process.gone(row[3])]


def hand_on():
    """Hand on every running attempt of a gone process of this host; return how many were."""
    handed = 0
    for run_id, name, attempt, worker in orphaned():
        pid = worker.split(":")[1]
        handed += recover_lost_attempt(run_id, name, attempt, why=f"its worker process {pid} died")
    if handed:
        logger.warning("watchdog: %s attempt(s) of dead workers handed on", handed)
    return handed


@receiver(post_spawn, dispatch_uid="flowforge_admin.watchdog")
def worker_started(sender, **kwargs):
    """Django-Q2 started a worker process (this one): look for its host's dead workers' attempts."""
    if get_setting("FLOWFORGE_WATCHDOG"):
        threading.Thread(target=_watch, name="flowforge-watchdog", daemon=True).start()


def _watch():
    try:
        hand_on()
    except Exception:
        logger.exception("watchdog: could not hand on dead workers' attempts; the lost-work check will")
    finally:
        connection.close()  # this thread's own
