"""A worker deletes its ORM broker message in the transaction that records the outcome (engine/acknowledgement.py).

Django-Q2's own worker loop runs here in this process, fed the task dicts
its pusher would hand it (the broker's payload plus ``ack_id``); what it
puts on the result queue is what the monitor would acknowledge.
"""

import multiprocessing
import queue

import pytest
from django_q.brokers import get_broker
from django_q.models import OrmQ
from django_q.signing import SignedPackage
from django_q.worker import worker

from flowforge_admin.api import launch_flow, register_task_pipeline
from flowforge_admin.models import TaskRun
from flowforge_admin.states import TaskState

from .. import engine_tasks as t

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def pair(db):
    """a -> b."""
    flow = register_task_pipeline(
        "inbox_pair",
        {
            "a": {"function": t.takes_only_n, "params": {"n": 1}},
            "b": {"function": t.takes_only_n, "depends_on": ["a"]},
        },
    )
    return launch_flow(flow)


def run_in_worker(*messages):
    """Run Django-Q2's worker loop on ``messages`` (OrmQ rows) as its pusher hands them; return the results."""
    tasks, results = queue.Queue(), queue.Queue()
    for message in messages:
        task = SignedPackage.loads(message.payload)
        task["ack_id"] = message.pk
        tasks.put(task)
    tasks.put("STOP")
    worker(tasks, results, multiprocessing.Value("f", -1))
    return [results.get_nowait() for _ in messages]


def test_the_message_is_deleted_with_the_outcome_and_left_out_of_the_monitors_work(pair):
    [message] = OrmQ.objects.all()
    [result] = run_in_worker(message)
    a = pair.task_runs.get(task_name="a")
    assert a.status == TaskState.SUCCEEDED
    # The next task's message is there; the one that ran is gone, and the
    # monitor is given no ack_id, so it writes nothing.
    assert [m.task["args"][0] for m in OrmQ.objects.all()] == [pair.task_runs.get(task_name="b").pk]
    assert result["success"]
    assert "ack_id" not in result


def test_a_repeated_message_records_nothing_and_is_left_to_the_monitor(pair):
    [message] = OrmQ.objects.all()
    copy = OrmQ.objects.create(key=message.key, payload=message.payload, lock=message.lock)
    first, second = run_in_worker(message, copy)
    assert "ack_id" not in first
    # The copy found nothing to claim: still in the queue, acknowledged by the monitor as before.
    assert second["ack_id"] == copy.pk
    assert OrmQ.objects.filter(pk=copy.pk).exists()
    assert TaskRun.objects.get(pk=message.task["args"][0]).attempt == 1


def test_a_failed_attempt_deletes_its_message_too(db):
    flow = register_task_pipeline("inbox_fail", {"boom": {"function": t.fail}})
    run = launch_flow(flow)
    [message] = OrmQ.objects.all()
    [result] = run_in_worker(message)
    assert run.task_runs.get().status == TaskState.FAILED
    assert "ack_id" not in result
    assert not OrmQ.objects.exists()


def test_other_functions_messages_are_left_to_the_monitor(db):
    get_broker().purge_queue()
    from django_q.tasks import async_task

    async_task("math.floor", 1.5)
    [message] = OrmQ.objects.all()
    [result] = run_in_worker(message)
    assert result["result"] == 1
    assert result["ack_id"] == message.pk
    assert OrmQ.objects.filter(pk=message.pk).exists()
