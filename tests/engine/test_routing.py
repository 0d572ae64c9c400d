"""Routed tasks (task key ``queue``) go to their Django-Q2 cluster's queue, whoever sends them (no cluster).

The messages are read from the ORM broker's table, where a queue's are the
rows with its name as ``key``.
"""

import datetime

import pytest
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import OrmQ

from flowforge_admin.api import launch_flow, register_task_pipeline
from flowforge_admin.engine import recovery
from flowforge_admin.queues import default_queue
from flowforge_admin.states import TaskState

from .. import engine_tasks as t
from .conftest import deliver, make_stale, task_run

pytestmark = pytest.mark.django_db

GPU = "gpu"


def queued_in(queue):
    """The (task run id, attempt) of the messages waiting in ``queue``, oldest first."""
    return [tuple(message.task["args"][:2]) for message in OrmQ.objects.filter(key=queue).order_by("pk")]


@pytest.fixture
def routed(db, marker_dir, django_capture_on_commit_callbacks):
    """A run of train (queue gpu) -> report (no queue), with prepare (no queue) beside them."""
    flow = register_task_pipeline(
        "routed",
        {
            "prepare": {"function": t.work},
            "train": {"function": t.work, "queue": GPU},
            "report": {"function": t.gather, "depends_on": ["train"]},
        },
    )
    with django_capture_on_commit_callbacks(execute=True):
        return launch_flow(flow, {"marker_dir": str(marker_dir)})


def test_a_launch_sends_each_task_to_its_queue(routed):
    assert queued_in(GPU) == [(task_run(routed, "train").pk, 1)]
    assert queued_in(default_queue()) == [(task_run(routed, "prepare").pk, 1)]


def test_a_routed_workers_next_unrouted_task_goes_to_the_projects_cluster(
    routed, monkeypatch, django_capture_on_commit_callbacks
):
    """In a worker of gpu, Django-Q2's cluster name is gpu; report still belongs to the project's cluster."""
    monkeypatch.setattr(Conf, "CLUSTER_NAME", GPU)
    train = task_run(routed, "train")
    OrmQ.objects.filter(key=GPU).delete()  # taken by the gpu cluster

    deliver(django_capture_on_commit_callbacks, train.pk, 1)

    assert task_run(routed, "train").status == TaskState.SUCCEEDED
    assert queued_in(GPU) == []
    assert (task_run(routed, "report").pk, 1) in queued_in(default_queue())


def test_a_lost_message_is_sent_again_to_its_queue(routed, django_capture_on_commit_callbacks):
    train = task_run(routed, "train")
    OrmQ.objects.filter(key=GPU).delete()  # lost with a killed gpu cluster
    make_stale(train, queued_at=timezone.now() - datetime.timedelta(minutes=5))

    with django_capture_on_commit_callbacks(execute=True):
        recovery.check_lost_work()

    assert queued_in(GPU) == [(train.pk, 1)]
    assert len(queued_in(default_queue())) == 1  # prepare's first message only


def test_a_retry_goes_to_its_queue(db, marker_dir, django_capture_on_commit_callbacks):
    """The project's cluster fires the retry's schedule; the new attempt goes to the task's queue."""
    flow = register_task_pipeline(
        "flaky", {"flaky": {"function": t.fail_first, "queue": GPU, "retries": 1, "retry_delay": 60}}
    )
    with django_capture_on_commit_callbacks(execute=True):
        run = launch_flow(flow, {"marker_dir": str(marker_dir)})
    flaky = task_run(run, "flaky")
    deliver(django_capture_on_commit_callbacks, flaky.pk, 1)
    assert task_run(run, "flaky").status == TaskState.RETRYING

    with django_capture_on_commit_callbacks(execute=True):
        assert recovery.resume_retry(flaky.pk, 1) == 1

    assert queued_in(GPU) == [(flaky.pk, 1), (flaky.pk, 2)]  # the first one, delivered here, stays
