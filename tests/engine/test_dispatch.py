"""Tasks queued together are written, and sent to the broker, together."""

import pytest
import redis
from django.conf import settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django_q.brokers.redis_broker import Redis
from django_q.models import OrmQ
from django_q.signing import SignedPackage
from django_q.tasks import async_task

from flowforge_admin.api import launch_flow, register_task_pipeline
from flowforge_admin.engine import dispatch
from flowforge_admin.engine.transitions import changing
from flowforge_admin.models import FlowRun
from flowforge_admin.states import TaskState

from .. import engine_tasks as t
from ..conftest import answers, require_service

pytestmark = pytest.mark.django_db

REDIS_URL = "redis://127.0.0.1:6379/0"


def fan_out(width):
    return register_task_pipeline(
        f"fan{width}", {f"t{n}": {"function": t.takes_only_n, "params": {"n": n}} for n in range(width)}
    )


def launch_statements(flow):
    """Run the launch; return the run and its statements but the task runs' creation (Django's bulk_create)."""
    with CaptureQueriesContext(connection) as captured:
        run = launch_flow(flow)
    return run, [
        query["sql"]
        for query in captured
        if "SAVEPOINT" not in query["sql"]
        and not query["sql"].startswith('INSERT INTO "flowforge_admin_taskrun"')
    ]


def test_a_launch_costs_the_same_statements_for_3_tasks_as_for_600():
    """One update queues every ready task and one insert writes their messages (per 500 or 300 of them)."""
    _, small = launch_statements(fan_out(3))
    run, large = launch_statements(fan_out(600))
    # 600 tasks take one more update (500 a time) and one more insert (300 a time).
    assert len(large) == len(small) + 2, "\n".join(large)
    assert run.queued_count == 600
    assert set(run.task_runs.values_list("status", "attempt").distinct()) == {(TaskState.QUEUED, 1)}
    sent = sorted(message.task["args"] for message in OrmQ.objects.all() if message.task["args"][2] == run.pk)
    assert sent == sorted((pk, 1, run.pk) for pk in run.task_runs.values_list("pk", flat=True))


def test_a_task_run_moved_behind_the_runs_lock_stops_the_change_and_changes_nothing():
    run = launch_flow(
        register_task_pipeline(
            "pair",
            {"a": {"function": t.takes_only_n}, "b": {"function": t.takes_only_n, "depends_on": ["a"]}},
        )
    )
    messages = OrmQ.objects.count()

    def queue_b_while_something_else_moves_it():
        with changing(run.pk) as change:
            assert change.queue_pending("b")
            # Something moved it without taking the run's lock (nothing in the engine does).
            run.task_runs.filter(task_name="b").update(status=TaskState.CANCELLED)

    with pytest.raises(RuntimeError, match="were not pending any more"):
        queue_b_while_something_else_moves_it()
    run.refresh_from_db()
    assert (run.pending_count, run.queued_count) == (1, 1)
    assert run.task_runs.get(task_name="b").status == TaskState.PENDING
    assert OrmQ.objects.count() == messages


@pytest.fixture
def redis_broker():
    require_service("Redis", answers("127.0.0.1", 6379), "nothing answers on 127.0.0.1:6379")
    broker = Redis(list_key=f"{settings.Q_CLUSTER['name']}-dispatch-test")
    broker.connection = redis.Redis.from_url(REDIS_URL)
    broker.delete_queue()
    yield broker
    broker.delete_queue()


def rpush_calls(client):
    return client.info("commandstats").get("cmdstat_rpush", {}).get("calls", 0)


def test_a_batch_reaches_redis_in_one_command_in_order(redis_broker):
    batch = dispatch._Batch(redis_broker)
    for number in range(5):
        async_task("tests.engine_tasks.takes_only_n", number, q_options={"broker": batch, "save": False})
    assert redis_broker.queue_size() == 0  # nothing is sent before send()
    before = rpush_calls(redis_broker.connection)
    batch.send()
    assert rpush_calls(redis_broker.connection) == before + 1
    packs = redis_broker.connection.lrange(redis_broker.list_key, 0, -1)
    assert [SignedPackage.loads(pack)["args"] for pack in packs] == [(n,) for n in range(5)]


def test_messages_for_another_broker_go_out_when_the_transaction_commits(
    redis_broker, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(dispatch, "_broker", lambda: redis_broker)
    monkeypatch.setattr(dispatch, "queue_in_this_database", lambda: False)
    run = FlowRun.objects.create(flow_name="x", flow_version=1)
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        dispatch.enqueue_all(run.pk, [(10, 1, None), (11, 1, 30)])
        assert redis_broker.queue_size() == 0
    assert len(callbacks) == 1  # one send for the batch
    packs = [
        SignedPackage.loads(pack) for pack in redis_broker.connection.lrange(redis_broker.list_key, 0, -1)
    ]
    assert [(pack["args"], pack.get("timeout")) for pack in packs] == [
        ((10, 1, run.pk), None),
        ((11, 1, run.pk), 30),
    ]
    assert {pack["group"] for pack in packs} == {str(run.pk)}
