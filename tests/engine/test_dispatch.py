"""Tasks queued together are written, and sent to the broker, together."""

import pytest
import redis
from django.conf import settings
from django.db import transaction
from django_q.brokers.redis_broker import Redis
from django_q.signing import SignedPackage
from django_q.tasks import async_task

from flowforge_admin.engine import dispatch
from flowforge_admin.models import FlowRun

from ..conftest import answers, require_service

pytestmark = pytest.mark.django_db

REDIS_URL = "redis://127.0.0.1:6379/0"


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
    monkeypatch.setattr(dispatch, "_broker", lambda queue="": redis_broker)
    monkeypatch.setattr(dispatch, "queue_in_this_database", lambda: False)
    run = FlowRun.objects.create(flow_name="x", flow_version=1)
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        dispatch.enqueue_all(run.pk, [(10, 1, None, ""), (11, 1, 30, "")])
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
