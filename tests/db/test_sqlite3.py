"""The embedded default's SQLite backend: writers take turns on a file lock (flowforge_admin/db/sqlite3)."""

import fcntl
import threading

import pytest
from django.db import connection, connections, transaction

from flowforge_admin.models import Flow

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite backend"),
]


@pytest.fixture
def lock_file():
    connection.ensure_connection()
    with open(f"{connection.settings_dict['NAME']}-writer", "ab") as file:
        yield file


def is_free(lock_file):
    try:
        fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    fcntl.flock(lock_file, fcntl.LOCK_UN)
    return True


def in_thread(func):
    """Start ``func`` in a thread with its own connection; return the thread and what it returned or raised."""
    outcome = {}

    def target():
        try:
            outcome["value"] = func()
        except Exception as error:  # noqa: BLE001 (reported to the test)
            outcome["error"] = error
        finally:
            connections.close_all()

    thread = threading.Thread(target=target)
    thread.start()
    return thread, outcome


def test_a_transaction_holds_the_writer_lock_until_it_commits_or_rolls_back(lock_file):
    assert is_free(lock_file)
    with transaction.atomic():
        assert not is_free(lock_file)
    assert is_free(lock_file)
    held = []

    @transaction.atomic
    def fail_half_way():
        held.append(not is_free(lock_file))
        raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        fail_half_way()
    assert held == [True]
    assert is_free(lock_file)


def test_a_writer_waits_for_the_lock_and_then_writes(lock_file):
    """An autocommit write and a transaction both wait for whoever holds the lock, without an error."""
    fcntl.flock(lock_file, fcntl.LOCK_EX)  # another process writing
    single, single_outcome = in_thread(lambda: Flow.objects.create(name="written_alone").pk)
    atomic, atomic_outcome = in_thread(
        lambda: transaction.atomic()(Flow.objects.create)(name="in_a_transaction").pk
    )
    single.join(timeout=0.5)
    atomic.join(timeout=0.5)
    # Still waiting (not failed with "database is locked", not written).
    assert single.is_alive()
    assert atomic.is_alive()
    assert not Flow.objects.filter(name__in=["written_alone", "in_a_transaction"]).exists()
    fcntl.flock(lock_file, fcntl.LOCK_UN)
    single.join(timeout=30)
    atomic.join(timeout=30)
    assert "error" not in single_outcome
    assert "error" not in atomic_outcome
    assert set(Flow.objects.values_list("name", flat=True)) >= {"written_alone", "in_a_transaction"}


def test_reading_does_not_wait_for_the_lock(lock_file):
    Flow.objects.create(name="there")
    fcntl.flock(lock_file, fcntl.LOCK_EX)
    try:
        reader, outcome = in_thread(lambda: list(Flow.objects.values_list("name", flat=True)))
        reader.join(timeout=30)
        assert outcome == {"value": ["there"]}
    finally:
        fcntl.flock(lock_file, fcntl.LOCK_UN)


def wrapper_for(path, **options):
    from flowforge_admin.db.sqlite3.base import DatabaseWrapper

    settings_dict = {**connection.settings_dict, "NAME": str(path), "OPTIONS": options}
    return DatabaseWrapper(settings_dict, alias="host")


def test_the_backend_brings_wal_and_immediate_transactions_without_options(tmp_path):
    """A host that sets only ENGINE gets WAL, IMMEDIATE transactions and a busy timeout."""
    host = wrapper_for(tmp_path / "host.sqlite3")
    try:
        with host.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode")
            assert cursor.fetchone()[0] == "wal"
        assert host.transaction_mode == "IMMEDIATE"
        assert host.settings_dict["OPTIONS"]["timeout"] > 0
    finally:
        host.close()


def test_a_hosts_own_options_win(tmp_path):
    host = wrapper_for(tmp_path / "host.sqlite3", transaction_mode="EXCLUSIVE", init_command="")
    try:
        with host.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode")
            assert cursor.fetchone()[0] == "delete"
        assert host.transaction_mode == "EXCLUSIVE"
    finally:
        host.close()
