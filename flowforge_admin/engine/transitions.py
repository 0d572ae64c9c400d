"""Every status change of a run and its task runs, made under the run's lock.

A change is a conditional update (``UPDATE ... WHERE status = <expected>``)
whose row count is checked, and the run's counters move in the same
transaction. All changes of one run are serialised by locking its FlowRun
row first (``SELECT ... FOR UPDATE``; on SQLite, the ``IMMEDIATE`` write
lock does the same), so that two tasks finishing at the same moment cannot
both miss, or both start, their common downstream task.
"""

import contextlib
import logging

from django.db import transaction
from django.utils import timezone

from ..models import FlowRun, TaskRun
from ..models.runs import count_field
from ..states import RUN_FINISHED, TASK_ACTIVE, RunState, TaskState
from . import sql
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

    def status(self, name):
        """Return a task run's status (read once, then kept up to date here)."""
        self.load([name])
        return self._rows[name]["status"]

    def row(self, name):
        """Return {"status", "pk", "attempt"} of a task run, reading it if needed."""
        if "pk" not in self._rows.get(name, ()):
            self._read([name])
        return self._rows[name]

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
        if not sql.update(TaskRun, where, {"status": to, **fields}, add=add):
            return False
        self._counted(current, to, 1)
        row = self._rows.setdefault(name, {})
        row["status"] = to
        if next_attempt:
            row["attempt"] += 1
        return True

    def move_all(self, names, to, **fields):
        """Move every task run of ``names`` to ``to``, one update per current status."""
        self.load(names)
        by_status = {}
        for name in names:
            by_status.setdefault(self._rows[name]["status"], []).append(name)
        for current, group in by_status.items():
            if current == to:
                continue
            moved = sql.update(
                TaskRun, {"run": self.run.pk, "task_name": group, "status": current}, {"status": to, **fields}
            )
            self._counted(current, to, moved)
            for name in group:
                self._rows[name]["status"] = to

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
        self.run.status = to
        for name, value in fields.items():
            setattr(self.run, name, value)
        return True

    def save(self):
        """Write the counters, and finish the run when no task run is active any more."""
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


# What a change reads of its run: everything but the (JSON, maybe large) snapshot and parameters.
RUN_FIELDS = sql.load_fields(FlowRun)


@contextlib.contextmanager
def changing(run_id):
    """Lock the run and yield a :class:`RunChange`; counters are written on the way out."""
    with transaction.atomic():
        # The snapshot and parameters are not needed here (and may be large).
        rows = sql.select(FlowRun, RUN_FIELDS, {"pk": run_id}, for_update=True)
        if not rows:
            raise FlowRun.DoesNotExist(f"run {run_id} does not exist")
        change = RunChange(FlowRun.from_db("default", RUN_FIELDS, rows[0]))
        yield change
        change.save()
