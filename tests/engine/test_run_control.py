"""A flow's max_active_runs and pools, one message at a time (real workers: test_run_control_on_workers.py)."""

import datetime

import pytest
from django.utils import timezone
from django_q.models import OrmQ

from flowforge_admin.api import cancel_run, launch_flow, register_task_pipeline, run_flow
from flowforge_admin.engine.recovery import check_lost_work
from flowforge_admin.engine.worker import claim
from flowforge_admin.exceptions import FlowDefinitionError
from flowforge_admin.models import Flow, FlowRun, Pool
from flowforge_admin.models.pools import describe_waits, slots_in_use
from flowforge_admin.states import RunState, TaskState

from .. import engine_tasks as t
from .conftest import deliver, make_stale, messages, task_run

pytestmark = pytest.mark.django_db


def describe_wait(pool, slots):
    return describe_waits([(pool, slots)])[pool, slots]


def launch(flow, commit, **kwargs):
    with commit(execute=True):
        return launch_flow(flow, **kwargs)


def run_id_of(message):
    return FlowRun.objects.get(task_runs__pk=message[0]).pk


def take_messages(run):
    """Take the run's messages off the broker, as workers do; return their (task run id, attempt)."""
    taken = []
    for row in OrmQ.objects.order_by("id"):
        task_run_id, attempt, run_id = row.task["args"]
        if run_id == run.pk:
            taken.append((task_run_id, attempt))
            row.delete()
    return taken


def finish_all(commit, run):
    """Deliver the run's messages (and what they send) until it finished."""
    while waiting := take_messages(run):
        for task_run_id, attempt in waiting:
            deliver(commit, task_run_id, attempt, run.pk)
    run.refresh_from_db()
    return run


@pytest.fixture
def limited(db):
    return register_task_pipeline(
        "limited", {"a": {"function": t.takes_only_n, "params": {"n": 1}}}, max_active_runs=1
    )


def test_a_launch_over_max_active_runs_waits_queued_and_sends_nothing(
    limited, django_capture_on_commit_callbacks
):
    first = launch(limited, django_capture_on_commit_callbacks)
    second = launch(limited, django_capture_on_commit_callbacks)

    assert (first.status, first.held) == (RunState.QUEUED, False)
    assert (second.status, second.held) == (RunState.QUEUED, True)
    assert [run_id_of(message) for message in messages()] == [first.pk]
    assert task_run(second, "a").status == TaskState.PENDING
    assert second.wait_reason() == "waiting: 1 of 1 active runs"


def test_held_runs_start_in_launch_order_as_active_ones_finish(limited, django_capture_on_commit_callbacks):
    commit = django_capture_on_commit_callbacks
    runs = [launch(limited, commit) for _ in range(3)]

    finish_all(commit, runs[0])
    assert [run_id_of(message) for message in messages()] == [runs[1].pk]
    finish_all(commit, runs[1])
    assert [run_id_of(message) for message in messages()] == [runs[2].pk]
    finish_all(commit, runs[2])

    for run in runs:
        run.refresh_from_db()
        assert (run.status, run.held) == (RunState.SUCCEEDED, False)
    starts = [run.started_at for run in runs]
    assert starts == sorted(starts)
    assert runs[0].finished_at <= runs[1].started_at
    assert runs[1].finished_at <= runs[2].started_at


def test_a_held_run_can_be_cancelled_and_is_never_started(limited, django_capture_on_commit_callbacks):
    commit = django_capture_on_commit_callbacks
    first, second, third = (launch(limited, commit) for _ in range(3))

    with commit(execute=True):
        cancel_run(second)
    finish_all(commit, first)

    second.refresh_from_db()
    assert (second.status, second.held, task_run(second, "a").status) == (
        RunState.CANCELLED,
        False,
        TaskState.CANCELLED,
    )
    assert [run_id_of(message) for message in messages()] == [third.pk]  # the next one in line


def test_a_cancelled_active_run_frees_its_place(limited, django_capture_on_commit_callbacks):
    commit = django_capture_on_commit_callbacks
    first, second = launch(limited, commit), launch(limited, commit)
    with commit(execute=True):
        cancel_run(first)
    assert run_id_of(messages()[-1]) == second.pk


def test_removing_the_limit_lets_the_lost_work_check_start_held_runs(
    limited, django_capture_on_commit_callbacks
):
    commit = django_capture_on_commit_callbacks
    launch(limited, commit)
    second = launch(limited, commit)
    type(limited).objects.filter(pk=limited.pk).update(max_active_runs=None)

    with commit(execute=True):
        check_lost_work()

    second.refresh_from_db()
    assert not second.held
    assert run_id_of(messages()[-1]) == second.pk


def test_run_flow_runs_at_once_whatever_the_limit(limited, django_capture_on_commit_callbacks):
    launch(limited, django_capture_on_commit_callbacks)
    run = run_flow(limited)
    assert (run.status, run.held) == (RunState.SUCCEEDED, False)


def test_max_active_runs_must_be_a_positive_whole_number(db):
    for bad in (0, -1, "2", 1.5, True):
        with pytest.raises(FlowDefinitionError, match="max_active_runs: must be a whole number from 1"):
            register_task_pipeline("bad", {"a": {"function": t.takes_only_n}}, max_active_runs=bad)
    assert not Flow.objects.filter(name="bad").exists()


# Pools


@pytest.fixture
def gpu_flows(db):
    Pool.objects.create(name="gpu", slots=1)
    return [
        register_task_pipeline(
            name,
            {
                "train": {"function": t.takes_only_n, "params": {"n": 1}, "pool": "gpu"},
                "report": {"function": t.takes_only_n, "params": {"n": 2}, "depends_on": ["train"]},
            },
        )
        for name in ("flow_one", "flow_two")
    ]


def test_a_task_whose_pool_is_full_waits_pending_and_holds_no_worker(
    gpu_flows, django_capture_on_commit_callbacks
):
    commit = django_capture_on_commit_callbacks
    one = launch(gpu_flows[0], commit)
    two = launch(gpu_flows[1], commit)

    waiting = task_run(two, "train")
    assert task_run(one, "train").status == TaskState.QUEUED
    assert (waiting.status, waiting.pool, waiting.pool_waiting_since is not None) == (
        TaskState.PENDING,
        "gpu",
        True,
    )
    assert [run_id_of(message) for message in messages()] == [one.pk]  # nothing sent for the waiting task
    assert describe_wait("gpu", 1) == "waiting for pool gpu (1 of 1 slots used)"
    two.refresh_from_db()
    assert (two.status, two.pending_count, two.queued_count) == (RunState.QUEUED, 2, 0)


def test_a_freed_slot_starts_the_task_that_waited_longest(gpu_flows, django_capture_on_commit_callbacks):
    commit = django_capture_on_commit_callbacks
    one = launch(gpu_flows[0], commit)
    two = launch(gpu_flows[1], commit)
    three = launch(gpu_flows[0], commit)

    train = task_run(one, "train")
    deliver(commit, train.pk, 1, one.pk)  # its slot frees: the oldest waiter takes it

    assert task_run(two, "train").status == TaskState.QUEUED
    assert task_run(two, "train").pool_waiting_since is None
    assert task_run(three, "train").status == TaskState.PENDING
    assert task_run(one, "report").status == TaskState.QUEUED  # the default pool has no limit
    assert slots_in_use(["gpu"]) == {"gpu": 1}


def test_a_task_takes_its_pool_slots_and_waits_when_they_do_not_fit(db, django_capture_on_commit_callbacks):
    Pool.objects.create(name="big", slots=3)
    flow = register_task_pipeline(
        "heavy",
        {
            name: {"function": t.takes_only_n, "params": {"n": 1}, "pool": "big", "pool_slots": 2}
            for name in "xyz"
        },
    )
    run = launch(flow, django_capture_on_commit_callbacks)
    queued = [name for name in "xyz" if task_run(run, name).status == TaskState.QUEUED]
    assert queued == ["x"]
    assert describe_wait("big", 2) == "waiting for pool big (2 of 3 slots used)"
    assert describe_wait("big", 4) == "waiting for pool big: it needs 4 slots and the pool has 3"


def test_the_default_pool_limits_tasks_that_name_no_pool_once_set(db, django_capture_on_commit_callbacks):
    Pool.objects.create(name="default", slots=2)
    flow = register_task_pipeline(
        "fan", {name: {"function": t.takes_only_n, "params": {"n": 1}} for name in "abcd"}
    )
    run = launch(flow, django_capture_on_commit_callbacks)
    run.refresh_from_db()
    assert (run.queued_count, run.pending_count) == (2, 2)


def test_raising_a_pools_slots_starts_what_waits(gpu_flows, django_capture_on_commit_callbacks):
    commit = django_capture_on_commit_callbacks
    launch(gpu_flows[0], commit)
    two = launch(gpu_flows[1], commit)
    with commit(execute=True):
        pool = Pool.objects.get(name="gpu")
        pool.slots = 2
        pool.save()
    assert task_run(two, "train").status == TaskState.QUEUED


def test_a_slot_held_by_a_dead_worker_is_not_lost(gpu_flows, django_capture_on_commit_callbacks):
    """The lost-work check gives the dead worker's attempt a new one, which holds the slot; then frees it."""
    commit = django_capture_on_commit_callbacks
    one = launch(gpu_flows[0], commit)
    two = launch(gpu_flows[1], commit)
    train = task_run(one, "train")
    assert claim(train.pk, 1, one.pk)
    make_stale(train, heartbeat_at=timezone.now() - datetime.timedelta(hours=1))

    with commit(execute=True):
        check_lost_work()

    assert (task_run(one, "train").status, task_run(one, "train").attempt) == (TaskState.QUEUED, 2)
    assert slots_in_use(["gpu"]) == {"gpu": 1}  # counted once, not once per attempt
    assert task_run(two, "train").status == TaskState.PENDING
    deliver(commit, train.pk, 2, one.pk)
    assert task_run(two, "train").status == TaskState.QUEUED


def test_cancelling_a_run_gives_its_slots_back(gpu_flows, django_capture_on_commit_callbacks):
    commit = django_capture_on_commit_callbacks
    one = launch(gpu_flows[0], commit)
    two = launch(gpu_flows[1], commit)
    with commit(execute=True):
        cancel_run(one)
    assert task_run(two, "train").status == TaskState.QUEUED
    with commit(execute=True):
        cancel_run(two)
    assert task_run(two, "train").pool_waiting_since is None


def test_run_flow_does_not_wait_for_pools(gpu_flows, django_capture_on_commit_callbacks):
    launch(gpu_flows[0], django_capture_on_commit_callbacks)  # holds the only slot
    run = run_flow(gpu_flows[1])
    assert run.status == RunState.SUCCEEDED


def test_registration_creates_missing_pools_unlimited(db):
    register_task_pipeline("etl", {"load": {"function": t.takes_only_n, "pool": "warehouse"}})
    assert list(Pool.objects.values_list("name", "slots")) == [("warehouse", None)]


@pytest.mark.parametrize(
    ("task", "message"),
    [
        ({"pool": "no spaces"}, "pool: is not a pool name"),
        ({"pool": 3}, "pool: is not a pool name: must be text"),
        ({"pool_slots": 0}, "pool_slots: must be a whole number from 1"),
        ({"pool_slots": "2"}, "pool_slots: must be a whole number from 1"),
    ],
)
def test_bad_pool_keys_are_refused_naming_the_task(db, task, message):
    with pytest.raises(FlowDefinitionError, match=f"task 'a', {message}"):
        register_task_pipeline("bad", {"a": {"function": t.takes_only_n, **task}})
    assert not Pool.objects.exists()


def test_a_group_cannot_take_pool_slots(db):
    with pytest.raises(FlowDefinitionError, match="task 'g', pool: a group takes no slots"):
        register_task_pipeline(
            "grouped", {"g": {"pool": "gpu", "nested_tasks": {"a": {"function": t.takes_only_n}}}}
        )


def test_raising_the_flows_limit_starts_held_runs_at_once(limited, django_capture_on_commit_callbacks):
    commit = django_capture_on_commit_callbacks
    launch(limited, commit)
    second = launch(limited, commit)
    with commit(execute=True):
        limited.max_active_runs = 2
        limited.save()
    second.refresh_from_db()
    assert not second.held
    assert run_id_of(messages()[-1]) == second.pk
