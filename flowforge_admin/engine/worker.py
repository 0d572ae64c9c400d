"""The function Django-Q2 runs for every task attempt: :func:`execute_task`.

It claims the attempt (``queued -> running``, once, whatever the broker
delivers), runs the task function with its parameters and context while
capturing its logs, records the outcome, and advances the run right here, in
the worker that finished the task (not through Django-Q2 hooks, which run
one at a time in the cluster's single monitor process).
"""

import collections
import datetime
import inspect
import logging
import time
import traceback

from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_q.exceptions import TimeoutException

from ..alerts import watch as alerts
from ..conf import get_setting
from ..db import sql
from ..definitions import registry
from ..definitions.sensors import sensor_settings
from ..exceptions import TaskExecutionError
from ..models import FlowRun, TaskRun
from ..states import RunState, TaskState
from . import acknowledgement, attempts, continuation, dispatch, mapping, outputs, process, retries, sensors
from .advance import fail_attempt, own_attempt, queue_attempt, task_finished
from .capture import LogCapture, heartbeats
from .context import TaskContext
from .snapshot import instance_of, snapshot_of
from .transitions import changing
from .upstream import read_upstream

logger = logging.getLogger("flowforge_admin.engine")


def execute_task(task_run_id, attempt, run_id=None):
    """Run one attempt of a task run; a stale or repeated message does nothing.

    ``run_id`` is the task run's run (messages sent before it was added leave it out).
    Then, within the message's bounds, the task its success started for this
    worker, and so on (engine/continuation.py).
    """
    message = continuation.Message()
    claimed = claim(task_run_id, attempt, run_id)
    if claimed is None:
        logger.info("task run %s attempt %s: not queued any more, message ignored", task_run_id, attempt)
        return
    run_attempt(task_run_id, attempt, claimed, message)
    # The message's own task ran under Django-Q2's alarm; a continued one under its own timeout's.
    while (kept := message.take()) is not None:
        task_run_id, attempt, run_id, name, snapshot, timeout = kept
        if not message.still_fresh(timeout):
            # A bundle's task that waited too long for the ones before it (engine/continuation.py).
            hand_back(run_id, [(name, attempt), *message.waiting()], message)
            return
        if message.due_for_check() and not _still_claimed(message, task_run_id, attempt):
            continue  # cancelled or taken over since its claim: it does not run
        with continuation.time_limit(timeout):
            run_attempt(task_run_id, attempt, (snapshot, run_id, name), message)
    if message.done:  # the bundle's last tasks were cancelled meanwhile: what ran before them
        record_successes(run_id, message.flush())


def _still_claimed(message, task_run_id, attempt):
    """Whether the attempt, started for this worker, is still running; the others waiting are looked at too (one read)."""
    waiting = {task_run_id: attempt, **{later.task_run_id: later.attempt for later in message.kept}}
    running = set(sql.select(TaskRun, ("id", "attempt"), {"pk": list(waiting), "status": TaskState.RUNNING}))
    message.kept = collections.deque(
        later for later in message.kept if (later.task_run_id, later.attempt) in running
    )
    message.checked_at = time.monotonic()
    return (task_run_id, attempt) in running


def run_attempt(task_run_id, attempt, claimed, message=None):
    """Run a claimed attempt (``claimed``: its run's Snapshot, run id and task name) and record its outcome.

    A success recorded under ``message`` may start a ready task for this worker (engine/continuation.py).
    """
    snapshot, run_id, name = claimed
    capture = LogCapture(task_run_id, attempt, run_id)
    # A sensor's check (engine/sensors.py); an ordinary task pays nothing for it.
    sensor = sensor_settings(snapshot.tasks[name])
    check = sensors.next_check(task_run_id) if sensor else None
    if attempt > 1:
        # A retry's log opens with its start: the log page's "Started" for that
        # attempt (the first one's is the task run's started_at). Written with
        # the attempt's first lines, so it costs no query of its own.
        capture.add(logging.INFO, "flowforge", f"Attempt {attempt} started.")
    # The heartbeat thread has its own connection: it could neither see nor
    # write into a transaction the caller holds open (run_flow inside an
    # atomic block, as in tests), so then the lines are written at the end.
    watched = transaction.get_autocommit()
    if watched:
        heartbeats.watch(capture)
    try:
        with capture.active():
            began = time.monotonic()
            try:
                output, stored = _call(snapshot, run_id, name, attempt, task_run_id, capture)
            except TimeoutException as error:
                # Django-Q2 kills this process 3 s after raising it: record first.
                timeout = snapshot.tasks[name]["timeout"]
                _failed(capture, run_id, name, attempt, f"timed out after {timeout} s ({error})", message)
                if message is not None and message.kept:
                    hand_back(run_id, message.waiting(), message)
                raise
            except (Exception, SystemExit) as error:
                _failed(capture, run_id, name, attempt, f"{type(error).__name__}: {error}", message)
                return
        # A false value: the condition does not hold yet (the line is written with the wait).
        not_yet = sensor is not None and stored is None and not output
        if sensor and not not_yet:
            capture.add(logging.INFO, "flowforge", f"check {check}: condition met")
    finally:
        if watched:
            heartbeats.unwatch(capture)
        capture.write()
    if not_yet:
        sensors.not_yet(run_id, name, attempt, sensor)
        return
    if message is None:
        record_success(run_id, name, attempt, output, stored)
        return
    message.last_took = time.monotonic() - began  # quick tasks are taken along in bundles
    message.done.append((name, attempt, output, stored))
    if message.kept:
        return  # recorded with the rest of its bundle, after the last of them
    with continuation.offering(message, run_id):
        record_successes(run_id, message.flush())


def claim(task_run_id, attempt, run_id=None):
    """Move the attempt from queued to running; return its run's Snapshot, run id and task name, or None.

    One conditional update decides: a second delivery of the same message,
    or a message for an attempt already taken over, finds nothing to claim
    (and the run's counters, moved first, move back). ``run_id``, when
    given, must be the task run's (a message sent before it was added leaves it out).
    """
    # Read first: a message whose attempt is not queued any more (another
    # worker took it along, engine/continuation.py; a second delivery) then
    # costs no write transaction, nor a wait for the run's lock.
    where = {"pk": task_run_id, "status": TaskState.QUEUED, "attempt": attempt}
    if run_id is not None:
        where["run"] = run_id
    queued = sql.select(TaskRun, ("run",), where)
    if not queued:
        return None
    run_id = queued[0][0]
    now = timezone.now()
    with transaction.atomic():
        if not get_setting("FLOWFORGE_DURABLE_TASK_COMMITS"):
            sql.commit_without_waiting()  # see changing()
        # The run's row first, as every change of a run locks it before its
        # task runs (transitions.py): a claim and a cancel of the same run
        # never wait for each other in a circle.
        counted = sql.update(
            FlowRun,
            # None queued: nothing to claim (and the counter must not go below 0).
            {"pk": run_id, "queued_count": sql.AtLeast(1)},
            add={"queued_count": -1, "running_count": 1, "revision": 1},
            returning=("status", "created_at", "revision"),
        )
        claimed = counted and sql.update(
            TaskRun,
            {"pk": task_run_id, "run": run_id, "status": TaskState.QUEUED, "attempt": attempt},
            {
                "status": TaskState.RUNNING,
                "heartbeat_at": now,
                "finished_at": None,
                "revision": counted[0][2],
                "worker": process.this_process(),  # for the watchdog, should it die (engine/watchdog.py)
            },
            # The first attempt's start: a retry, or a group's own function after
            # its children, keeps it, so the run page's bars span the whole task.
            keep={"started_at": now},
            returning=("task_name",),
        )
        if not claimed:
            transaction.set_rollback(True)  # nothing to claim: the counters stay as they were
            return None
        [(run_status, created_at, _revision)], [(name,)] = counted, claimed
        if run_status == RunState.QUEUED:  # its first task starts
            sql.update(
                FlowRun,
                {"pk": run_id, "status": RunState.QUEUED},
                {"status": RunState.RUNNING},
                keep={"started_at": now},
            )
    return snapshot_of(run_id, created_at), run_id, name


def _call(snapshot, run_id, name, attempt, task_run_id, capture):
    """Call the task function with what it declares; return its output (JSON, or the StoredValue)."""
    task = snapshot.tasks[name]
    params = {**snapshot.params, **task["params"], **snapshot.run_params}
    func = import_string(task["function"])
    if not registry.runnable(task["function"], func):
        raise TaskExecutionError(
            f"{task['function']!r} is not an allowed task function: it is not defined in the module "
            "it is named by, nor in a module of FLOWFORGE_FUNCTION_MODULES"
        )
    declared = inspect.signature(func).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in declared.values()):
        kwargs = dict(params)
    else:
        kwargs = {key: value for key, value in params.items() if key in declared}
    kwargs.pop("context", None)
    # A mapped instance ("train[3]") waits for what its task waits for, and gets its item.
    mapped = instance_of(name)
    graph_name, map_index = mapped if mapped else (name, None)
    waited_for = [*snapshot.upstream(graph_name), *snapshot.children[graph_name]]
    named = [upstream for upstream in waited_for if upstream in declared and upstream != "context"]
    if mapped or named or "context" in declared:
        upstream = read_upstream(run_id, waited_for, snapshot)
        if mapped:
            param = mapping.map_param(task)
            params = {**params, param: mapping.item(upstream[task["map_over"]], map_index)}
            if param in declared or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in declared.values()):
                kwargs[param] = params[param]
        # A parameter named after an upstream task receives its output (registration
        # refuses a name that is also a parameter of the flow or the task).
        kwargs.update((upstream_name, upstream[upstream_name]) for upstream_name in named)
        if "context" in declared:
            kwargs["context"] = TaskContext(
                run_id=run_id,
                flow_name=snapshot.data["flow"],
                task_name=name,
                attempt=attempt,
                params=params,
                upstream=upstream,
                logical_date=snapshot.dates[0],
                data_interval_start=snapshot.dates[1],
                data_interval_end=snapshot.dates[2],
                recorder=capture,
                map_index=map_index,
            )
    return outputs.prepare(func(**kwargs), run_id=run_id, task_run_id=task_run_id, attempt=attempt)


def record_success(run_id, name, attempt, output, stored=None):
    """Record a succeeded attempt with its output: JSON, or the artifact ``stored`` (a StoredValue)."""
    record_successes(run_id, [(name, attempt, output, stored)])


def record_successes(run_id, outcomes):
    """Record succeeded attempts of one run in one transaction: (name, attempt, output, stored) each."""
    moves = (TaskState.RUNNING, TaskState.SUCCEEDED, len(outcomes))
    with changing(run_id, expected_move=moves, worker=True) as change:
        acknowledgement.acknowledge()
        for name, attempt, output, stored in outcomes:
            if own_attempt(change, name) and change.move(
                name,
                TaskState.SUCCEEDED,
                expect=TaskState.RUNNING,
                expect_attempt=attempt,
                finished_at=change.now,
                output=output,
                error="",
                traceback="",
            ):
                if stored is not None:
                    outputs.attach(change.row(name)["pk"], attempt, stored)
                task_finished(change, name)
            else:
                logger.info(
                    "run %s task %s attempt %s: result discarded (cancelled or taken over)",
                    run_id,
                    name,
                    attempt,
                )
                if stored is not None:
                    outputs.forget(stored)


def hand_back(run_id, attempts, message):
    """Queue again, with messages, a bundle's ``attempts`` ((name, attempt)) this worker will not run after all.

    The successes of the bundle so far are recorded first.
    """
    message.kept.clear()
    if message.done:
        record_successes(run_id, message.flush())
    with changing(run_id, worker=True) as change:
        for name, attempt in attempts:
            if change.move(
                name,
                TaskState.QUEUED,
                expect=TaskState.RUNNING,
                expect_attempt=attempt,
                queued_at=change.now,
                worker=None,
            ):
                change.send(name)


def _failed(capture, run_id, name, attempt, error, message=None):
    details = traceback.format_exc()
    capture.add(logging.ERROR, "flowforge", details.rstrip())
    # Lines first: a log page that sees the attempt finished reads no more.
    capture.write()
    record_failure(run_id, name, attempt, error, details)
    if message is not None and message.done and not message.kept:
        record_successes(run_id, message.flush())  # the bundle's successes before it


def record_failure(run_id, name, attempt, message, details=""):
    """Record a failed attempt: retry it (now or after its delay) or fail the task."""
    with changing(run_id, worker=True) as change:
        acknowledgement.acknowledge()
        if (
            change.status(name) != TaskState.RUNNING
            or change.row(name)["attempt"] != attempt
            or not own_attempt(change, name)
        ):
            return  # cancelled, or taken over by the lost-work check or a re-run
        task = change.snapshot.tasks[name]
        lost, allowed = TaskRun.objects.values_list("lost_attempts", "max_attempts").get(
            pk=change.row(name)["pk"]
        )
        error = {"error": message, "traceback": details}
        if not retries.may_retry(attempt, lost, allowed):
            fail_attempt(change, name, attempt, **error)
            return
        # Another attempt follows: this one's error stays readable as its own.
        attempts.keep(change, [name], status=TaskState.FAILED, **error)
        pk = change.row(name)["pk"]
        alerts.task_retrying_on_commit(change.run.flow_id, run_id, pk, f"attempt {attempt} failed: {message}")
        delay = retries.retry_delay(task, attempt, lost, allowed)
        if delay == 0:
            queue_attempt(change, name, expect=TaskState.RUNNING, expect_attempt=attempt, **error)
            return
        when = change.now + datetime.timedelta(seconds=delay)
        if change.move(
            name,
            TaskState.RETRYING,
            expect=TaskState.RUNNING,
            expect_attempt=attempt,
            next_attempt_at=when,
            **error,
        ):
            dispatch.enqueue_later(change.row(name)["pk"], attempt, when)
