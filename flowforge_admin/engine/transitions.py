"""Every status change of a run and its task runs, made under the run's lock.

A change is a conditional update (``UPDATE ... WHERE status = <expected>``)
whose row count is checked, and the run's counters move in the same
transaction. All changes of one run are serialised by locking its FlowRun
row first (an ``UPDATE`` of it; on SQLite, the ``IMMEDIATE`` write lock does
the same), so that two tasks finishing at the same moment cannot both miss,
or both start, their common downstream task.

That statement also counts the run's ``revision`` up, and every task run the
change writes takes the new revision: the run page asks for the task runs
changed after the revision it has shown. Handed out under the lock,
revisions are committed in the order they are counted, so a task run with a
revision at or below one already seen is never committed later.
"""

import contextlib
import logging

from django.db import transaction
from django.utils import timezone

from ..alerts import watch as alerts
from ..conf import get_setting
from ..db import sql
from ..models import FlowRun, TaskRun
from ..models.runs import count_field
from ..states import RUN_FINISHED, TASK_ACTIVE, TASK_HOLDING_SLOTS, RunState, TaskState
from . import admission, continuation, dispatch, pools, process
from .snapshot import snapshot_of

logger = logging.getLogger("flowforge_admin.engine")


class RunChange:
    """The state of one locked run, and the changes made to it in this transaction."""

    def __init__(self, run):
        self.run = run
        self.snapshot = snapshot_of(run.pk, run.created_at)
        self.now = timezone.now()
        self._rows = {}  # task name -> {"status", "pk", "attempt"}, as this transaction sees them
        self._counts = {}
        self._to_queue = {}  # pending task runs queued here but not written yet (name -> True, in order)
        self._freed_pools = set()  # pools whose slots this change gave back
        self._pool_limits = {}  # {pool: slots or None}, read once per change
        self.waiting_for_pool = set()  # task runs this change left pending for want of a slot
        self._finishing = False  # whether this change finishes the run
        self._outbox = []  # (task run id, attempt, timeout, queue) to send to workers

    def status(self, name):
        """Return a task run's status (read once, then kept up to date here)."""
        self.load([name])
        return self._rows[name]["status"]

    def row(self, name):
        """Return {"status", "pk", "attempt"} of a task run, reading it if needed."""
        if "pk" not in self._rows.get(name, ()):
            self._read([name])
        return self._rows[name]

    def known(self, name):
        """Whether the run has a task run ``name`` (after :meth:`load` of it)."""
        return name in self._rows

    def load(self, names):
        """Read the statuses (and ids, attempts) of those of ``names`` not known yet, in one query.

        A task run this transaction moved without reading it (the worker's hot
        path) has a known status: reading it again would cost a query per hop.
        """
        self._read([name for name in names if name not in self._rows])

    def _read(self, names):
        if names:
            for name, status, pk, attempt in sql.select(
                TaskRun, ("task_name", "status", "id", "attempt"), {"run": self.run.pk, "task_name": names}
            ):
                self._rows[name] = {"status": status, "pk": pk, "attempt": attempt}

    def move(self, name, to, *, expect, expect_attempt=None, next_attempt=False, **fields):
        """Move one task run from a status in ``expect`` to ``to``; return True if it moved.

        ``expect`` is one status or a collection of them. ``expect_attempt``,
        when given, must match too: a message for an attempt that was already
        taken over changes nothing. ``next_attempt`` counts the attempt up by
        one in the same update.
        """
        if name in self._to_queue:
            self._write_queued()
        known = self._rows.get(name)
        if known is None and isinstance(expect, str) and not next_attempt:
            # One expected status and nothing read yet: the conditional update
            # alone says whether it moved (the worker's hot path).
            current, where = expect, {"run": self.run.pk, "task_name": name, "status": expect}
        else:
            expected = {expect} if isinstance(expect, str) else set(expect)
            row = self.row(name)
            current = row["status"]
            if current not in expected:
                return False
            where = {"pk": row["pk"], "status": current}
        if expect_attempt is not None:
            where["attempt"] = expect_attempt
        add = {"attempt": 1} if next_attempt else None
        if current == TaskState.PENDING:
            fields["pool_waiting_since"] = None  # it waits for its pool no more
        if to == TaskState.RUNNING:
            # No worker runs it (a group, a mapped task): only a claim names one (engine/watchdog.py).
            fields.setdefault("worker", None)
        if not sql.update(TaskRun, where, {"status": to, "revision": self.run.revision, **fields}, add=add):
            return False
        self._counted(current, to, 1)
        self._freeing(current, to, [name])
        row = self._rows.setdefault(name, {})
        row["status"] = to
        if next_attempt:
            row["attempt"] += 1
        return True

    def move_all(self, names, to, **fields):
        """Move every task run of ``names`` to ``to``, one update per current status."""
        if any(name in self._to_queue for name in names):
            self._write_queued()
        self.load(names)
        by_status = {}
        for name in names:
            by_status.setdefault(self._rows[name]["status"], []).append(name)
        for current, group in by_status.items():
            if current == to:
                continue
            cleared = {"pool_waiting_since": None} if current == TaskState.PENDING else {}
            moved = sql.update(
                TaskRun,
                {"run": self.run.pk, "task_name": group, "status": current},
                {"status": to, "revision": self.run.revision, **fields, **cleared},
            )
            self._counted(current, to, moved)
            self._freeing(current, to, group)
            for name in group:
                self._rows[name]["status"] = to

    def created(self, rows):
        """Count task runs created pending by this change (a mapped task's instances: (name, pk) pairs)."""
        for name, pk in rows:
            self._rows[name] = {"status": TaskState.PENDING, "pk": pk, "attempt": 0}
        self._counts[TaskState.PENDING] = self._counts.get(TaskState.PENDING, 0) + len(rows)

    def uncount(self, status, number):
        """Count out ``number`` task runs in ``status`` that this change deleted."""
        self._counts[status] = self._counts.get(status, 0) - number

    def forget(self, names):
        """Forget what this change knew of task runs it deleted."""
        for name in names:
            self._rows.pop(name, None)
            self._to_queue.pop(name, None)

    def queue_pending(self, name):
        """Queue a pending task run for its next attempt and send it to a worker; return True if it was pending.

        Written when the change is saved, in one update with every other
        task run queued by this change: a launch or a fan-out that starts a
        thousand tasks costs one statement, not a thousand. Under the run's
        lock nothing else moves its task runs, so the outcome is known now.
        """
        row = self.row(name)
        if row["status"] != TaskState.PENDING:
            return False
        row["status"] = TaskState.QUEUED
        row["attempt"] += 1
        self._counted(TaskState.PENDING, TaskState.QUEUED, 1)
        self._to_queue[name] = True
        self.send(name)
        return True

    def _freeing(self, old, new, names):
        """Note the pools whose slots ``names`` give back by moving from ``old`` to ``new``."""
        if old in TASK_HOLDING_SLOTS and new not in TASK_HOLDING_SLOTS:
            self._freed_pools.update(pool for name in names if (pool := pools.pool_of(self.snapshot, name)))

    def pool_limits(self, names):
        """Return {pool: slots} of the limited pools among ``names``, each read once per change."""
        unknown = set(names) - set(self._pool_limits)
        if unknown:
            found = pools.limits(unknown)
            self._pool_limits.update({name: found.get(name) for name in unknown})
        return {name: self._pool_limits[name] for name in names if self._pool_limits[name] is not None}

    def _take_pool_slots(self):
        """Leave pending, waiting for a slot, the task runs queued here whose pool is full."""
        if dispatch.running_locally():
            return  # run_flow runs every task in its own process, one at a time
        requests = [
            (name, pool, self.snapshot.tasks[name].get("pool_slots", 1))
            for name in self._to_queue
            if (pool := pools.pool_of(self.snapshot, name))
        ]
        limited = self.pool_limits({pool for _, pool, _ in requests})
        waiting = pools.take_slots([request for request in requests if request[1] in limited], limited)
        if not waiting:
            return
        pks = set()
        for name in waiting:
            del self._to_queue[name]
            row = self._rows[name]
            row["status"] = TaskState.PENDING
            row["attempt"] -= 1
            pks.add(row["pk"])
            self._counted(TaskState.QUEUED, TaskState.PENDING, 1)
        self._outbox = [message for message in self._outbox if message[0] not in pks]
        TaskRun.objects.filter(pk__in=pks, pool_waiting_since__isnull=True).update(
            pool_waiting_since=self.now, revision=self.run.revision
        )
        self.waiting_for_pool.update(waiting)

    def _write_queued(self, continuing=False):
        self._take_pool_slots()
        names, self._to_queue = list(self._to_queue), {}
        # The worker saving this change may run a task itself: one it made
        # ready, else queued ones whose messages no worker has taken yet
        # (several while tasks are quick; engine/continuation.py).
        message = continuation.offered(self) if continuing else None
        kept = (
            next((name for name in names if continuation.runnable(self.snapshot, name)), None)
            if message
            else None
        )
        if kept is not None:
            names.remove(kept)
            self._start_here(kept)
        for start in range(0, len(names), 500):
            chunk = names[start : start + 500]
            moved = sql.update(
                TaskRun,
                {"run": self.run.pk, "task_name": chunk, "status": TaskState.PENDING},
                {
                    "status": TaskState.QUEUED,
                    "queued_at": self.now,
                    "next_attempt_at": None,
                    "pool_waiting_since": None,
                    "revision": self.run.revision,
                },
                add={"attempt": 1},
            )
            if moved != len(chunk):
                # Some task run moved without the run's lock: stop, and change nothing.
                raise RuntimeError(
                    f"run {self.run.pk}: {len(chunk) - moved} task run(s) were not pending any more"
                )
        if message is not None:
            taken = [kept] if kept is not None else self._take_queued(message.bundle_size())
            continuation.keep(message, self, taken)

    def _take_queued(self, limit):
        """Claim for the worker saving this change up to ``limit`` queued task runs (continuation.takeable); return their names."""
        taken = continuation.takeable(self, limit)
        if not taken:
            return []
        pks = [pk for _name, pk, _attempt in taken]
        # As worker.claim (a re-run keeps the first start); under the run's lock they are all still queued.
        moved = sql.update(
            TaskRun,
            {"pk": pks, "status": TaskState.QUEUED},
            self._running_fields(),
            keep={"started_at": self.now},
        )
        if moved != len(pks):
            raise RuntimeError(f"run {self.run.pk}: {len(pks) - moved} task run(s) were not queued any more")
        for name, pk, attempt in taken:
            self._rows[name] = {"status": TaskState.RUNNING, "pk": pk, "attempt": attempt}
        self._counted(TaskState.QUEUED, TaskState.RUNNING, len(taken))
        return [name for name, _pk, _attempt in taken]

    def _running_fields(self):
        """What a claim writes: running, for the worker saving this change (engine/watchdog.py)."""
        return {
            "status": TaskState.RUNNING,
            "heartbeat_at": self.now,
            "finished_at": None,
            "revision": self.run.revision,
            "worker": process.this_process(),
        }

    def _start_here(self, name):
        """Claim pending ``name`` (made ready by this change) for the worker saving it: straight to running, with no message."""
        row = self._rows[name]
        if not sql.update(
            TaskRun,
            {"pk": row["pk"], "status": TaskState.PENDING},
            {
                **self._running_fields(),
                "queued_at": self.now,
                "next_attempt_at": None,
                "pool_waiting_since": None,
            },
            add={"attempt": 1},
            keep={"started_at": self.now},  # as worker.claim: a re-run keeps the first start
        ):
            raise RuntimeError(f"run {self.run.pk}: task run {name} was not pending any more")
        row["status"] = TaskState.RUNNING
        self._counted(TaskState.QUEUED, TaskState.RUNNING, 1)
        self._outbox = [message for message in self._outbox if message[0] != row["pk"]]

    def send(self, name):
        """Send the task run's current attempt to a worker of its queue, with the change."""
        row, task = self.row(name), self.snapshot.tasks[name]
        # A snapshot taken before queues (or of a task without one) has no "queue": the project's cluster.
        self._outbox.append((row["pk"], row["attempt"], task["timeout"], task.get("queue", "")))

    def _counted(self, old, new, number):
        self._counts[old] = self._counts.get(old, 0) - number
        self._counts[new] = self._counts.get(new, 0) + number

    def count(self, *states):
        """Return how many task runs are in ``states``, this transaction's changes included."""
        return sum(getattr(self.run, count_field(state)) + self._counts.get(state, 0) for state in states)

    def set_run_status(self, to, **fields):
        """Move the run itself; return True if it moved."""
        if not sql.update(FlowRun, {"pk": self.run.pk, "status": self.run.status}, {"status": to, **fields}):
            return False
        self._finishing = self.run.status not in RUN_FINISHED and to in RUN_FINISHED
        self.run.status = to
        for name, value in fields.items():
            setattr(self.run, name, value)
        return True

    def save(self):
        """Write the queued task runs and the counters, finish the run if nothing is active, send the messages."""
        self._write_queued(continuing=True)
        if any(self._counts.values()):
            sql.update(
                FlowRun,
                {"pk": self.run.pk},
                add={count_field(state): delta for state, delta in self._counts.items() if delta},
            )
        if self.run.status not in RUN_FINISHED and self.count(*TASK_ACTIVE) == 0:
            failed = self.count(TaskState.FAILED, TaskState.UPSTREAM_FAILED, TaskState.CANCELLED)
            self.set_run_status(RunState.FAILED if failed else RunState.SUCCEEDED, finished_at=self.now)
            logger.info("run %s %s", self.run.pk, self.run.status)
        if self.run.status in RUN_FINISHED and self._finishing:
            admission.admit_on_commit(self.run.flow_id)  # a place under max_active_runs freed
            alerts.run_finished_on_commit(self.run.flow_id, self.run.pk, self.run.status)  # no query here
        if self._freed_pools:
            pools.wake_on_commit(self.pool_limits(self._freed_pools))
        dispatch.enqueue_all(self.run.pk, self._outbox)
        self._outbox = []


# What a change reads of its run: everything but the (JSON, maybe large) snapshot and parameters.
RUN_FIELDS = sql.load_fields(FlowRun)


@contextlib.contextmanager
def changing(run_id, expected_move=None, *, worker=False):
    """Lock the run and yield a :class:`RunChange`; counters are written on the way out.

    ``expected_move``, a (from, to) pair of task states, or (from, to, how
    many), is the move the caller is about to make (a worker recording its
    results): its counters move in the statement that locks the run, one
    statement fewer while every other worker of the run waits for the lock.
    Should a move not happen after all, its counters move back when the
    change is saved.

    ``worker``: a worker's record of an attempt's outcome. Unless
    ``FLOWFORGE_DURABLE_TASK_COMMITS`` is on, its commit does not wait for
    the disk (PostgreSQL), so the run's lock, which every worker of the run
    takes in turn, is released sooner (the claim, worker.claim, likewise).
    Should the database server crash and lose them, the attempt is queued or
    running again as it was before, and the lost-work check sends it again or
    starts a new attempt: delivery stays at least once.
    """
    with transaction.atomic():
        if worker and not get_setting("FLOWFORGE_DURABLE_TASK_COMMITS"):
            sql.commit_without_waiting()
        rows = None
        if expected_move:
            old, new, *many = expected_move
            number = many[0] if many else 1
            rows = sql.update(
                FlowRun,
                # Fewer in ``old``: the moves cannot all happen (and the counter must not go below 0).
                {"pk": run_id, count_field(old): sql.AtLeast(number)},
                add={count_field(old): -number, count_field(new): number, "revision": 1},
                returning=RUN_FIELDS,
            )
        if not rows:
            expected_move = None
            # The snapshot and parameters are not needed here (and may be large).
            # An update locks the row as SELECT ... FOR UPDATE would, and
            # takes the change's revision in the same statement.
            rows = sql.update(FlowRun, {"pk": run_id}, add={"revision": 1}, returning=RUN_FIELDS)
        if not rows:
            raise FlowRun.DoesNotExist(f"run {run_id} does not exist")
        change = RunChange(FlowRun.from_db("default", RUN_FIELDS, rows[0]))
        if expected_move:
            change._counted(new, old, number)  # written ahead: the moves themselves cancel this out
        yield change
        change.save()
