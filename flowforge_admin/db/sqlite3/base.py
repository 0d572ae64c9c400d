"""SQLite for Flow Forge: writers wait their turn on a file lock, not in SQLite's busy handler.

SQLite lets one connection write at a time. The others wait in its busy
handler, which sleeps 1, 2, 5, 10 ... ms between tries however early the
writer is done, and a worker's write transaction takes a fraction of a
millisecond: with the broker, the workers and their heartbeats all writing,
the lock was mostly free while the waiting processes slept (bench/README.md).
Here a write (a transaction, which on this project's SQLite always begins
``IMMEDIATE``, or a data-changing statement in autocommit) first takes an
exclusive ``flock`` on a file beside the database; the kernel wakes the
next writer the moment the lock is released. SQLite's own locking is left
as it is, so programs that do not use this backend (the ``sqlite3`` shell, a
backup) stay safe: the file lock only orders the writers that take it.

``DATABASES["default"]["ENGINE"] = "flowforge_admin.db.sqlite3"`` (the
embedded default's settings); an in-memory database is left alone.

The backend also brings the options a web server and workers sharing one
file need (:data:`DEFAULT_OPTIONS`), so a host sets only ``ENGINE``; a
host's own ``OPTIONS`` win.
"""

import fcntl
import os

from django.db.backends.sqlite3 import base

# WAL lets the web server read while a worker writes; IMMEDIATE makes a writer take the
# lock when its transaction begins instead of failing half-way with "database is
# locked" when a read turns into a write; the timeout covers programs that write
# without this backend's file lock.
DEFAULT_OPTIONS = {
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}

# Statements that write in autocommit: each one is a write transaction of its own.
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class WriterLock:
    """An exclusive ``flock`` on ``path``, held by one connection at a time."""

    def __init__(self, path):
        self.path = path
        self._file = None
        self._pid = None
        self.held = False

    def acquire(self):
        if self._pid != os.getpid():  # opened in a parent process (before a fork): the lock is shared
            self._file = open(self.path, "ab")  # noqa: SIM115 (kept open with the connection)
            self._pid = os.getpid()
            self.held = False
        if not self.held:
            fcntl.flock(self._file, fcntl.LOCK_EX)
            self.held = True

    def release(self):
        if self.held and self._pid == os.getpid():
            fcntl.flock(self._file, fcntl.LOCK_UN)
        self.held = False

    def close(self):
        self.release()
        if self._file is not None and self._pid == os.getpid():
            self._file.close()
        self._file = self._pid = None


class Cursor(base.SQLiteCursorWrapper):
    writer = None

    def execute(self, query, params=None):
        return self._write_in_turn(query, super().execute, query, params)

    def executemany(self, query, param_list):
        return self._write_in_turn(query, super().executemany, query, param_list)

    def _write_in_turn(self, query, run, *args):
        """Run ``run(*args)``; an autocommit write waits for the writer lock first."""
        if self.writer is None or not self._autocommit_write(query):
            return run(*args)
        self.writer.acquire()
        try:
            return run(*args)
        finally:
            self.writer.release()

    def _autocommit_write(self, query):
        # isolation_level None: Django's autocommit, no transaction open and none begun implicitly.
        connection = self.connection
        return (
            connection.isolation_level is None
            and not connection.in_transaction
            and query.lstrip()[:7].upper().startswith(_WRITES)
        )


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, settings_dict, *args, **kwargs):
        settings_dict = {**settings_dict, "OPTIONS": {**DEFAULT_OPTIONS, **settings_dict.get("OPTIONS", {})}}
        super().__init__(settings_dict, *args, **kwargs)
        self._writer = None

    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        if self._writer is not None:
            self._writer.close()
        # The file of the database connected to now (tests switch to another).
        self._writer = None if self.is_in_memory_db() else WriterLock(f"{self.settings_dict['NAME']}-writer")
        return connection

    def create_cursor(self, name=None):
        cursor = self.connection.cursor(factory=Cursor)
        cursor.writer = self._writer
        return cursor

    def _start_transaction_under_autocommit(self):
        if self._writer is None:
            return super()._start_transaction_under_autocommit()
        self._writer.acquire()
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._writer.release()
            raise

    def _commit(self):
        try:
            return super()._commit()
        finally:
            self._release_writer()

    def _rollback(self):
        try:
            return super()._rollback()
        finally:
            self._release_writer()

    def _close(self):
        try:
            return super()._close()
        finally:
            if self._writer is not None:
                self._writer.close()

    def _release_writer(self):
        if self._writer is not None:
            self._writer.release()
