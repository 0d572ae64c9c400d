"""The ORM broker of the embedded default (flowforge_admin/broker.py): batched locking, adaptive polling."""

import datetime

import pytest
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import OrmQ

from flowforge_admin.broker import AdaptiveORM
from flowforge_admin.db import sql

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker(monkeypatch, settings):
    monkeypatch.setattr(Conf, "BULK", 2)
    settings.FLOWFORGE_FAST_POLL = 0
    broker = AdaptiveORM(list_key="broker-test")
    broker.purge_queue()
    return broker


def test_takes_up_to_bulk_due_messages_oldest_first_in_one_statement(broker, django_assert_num_queries):
    ids = [broker.enqueue(f"payload {n}") for n in range(3)]
    # One read of what is due, one UPDATE locking them (not one per message).
    with django_assert_num_queries(2):
        taken = broker.dequeue()
    assert taken == [(ids[0], "payload 0"), (ids[1], "payload 1")]
    locked = OrmQ.objects.filter(pk__in=ids[:2])
    assert all(
        message.lock > timezone.now() + datetime.timedelta(seconds=Conf.RETRY - 5) for message in locked
    )
    assert broker.dequeue() == [(ids[2], "payload 2")]
    assert broker.dequeue() is None  # all locked: nothing due


def test_leaves_messages_another_cluster_locked_in_between(broker, monkeypatch):
    ids = [broker.enqueue(f"payload {n}") for n in range(2)]
    lock = sql.update

    def another_cluster_was_faster(model, where, *args, **kwargs):
        # After this broker read what is due, another one locked the first message.
        OrmQ.objects.filter(pk=ids[0]).update(lock=timezone.now() + datetime.timedelta(minutes=5))
        return lock(model, where, *args, **kwargs)

    monkeypatch.setattr(sql, "update", another_cluster_was_faster)
    assert broker.dequeue() == [(ids[1], "payload 1")]


def test_a_message_whose_lock_expired_is_taken_again(broker):
    [message_id] = [broker.enqueue("payload")]
    OrmQ.objects.filter(pk=message_id).update(lock=timezone.now() - datetime.timedelta(seconds=1))
    assert broker.dequeue() == [(message_id, "payload")]


def test_polls_fast_after_work_and_at_the_clusters_poll_when_idle(broker, monkeypatch, settings):
    slept = []
    monkeypatch.setattr("flowforge_admin.broker.time.sleep", slept.append)
    settings.FLOWFORGE_FAST_POLL = 0.01
    settings.FLOWFORGE_FAST_POLL_FOR = 5
    assert broker.dequeue() is None  # never worked: idle
    broker.enqueue("payload")
    assert broker.dequeue()
    assert broker.dequeue() is None  # just worked: fast
    assert slept == [Conf.POLL, 0.01]
