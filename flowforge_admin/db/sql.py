"""The engine's hot-path statements, written as SQL once per shape instead of built by the ORM each time.

Every task attempt runs about ten statements (claim, result, counters, the
next tasks). Building one with ``QuerySet.filter().update()`` costs
150-250 µs of Python, about as much as PostgreSQL takes to run it, and on a
small machine that CPU is taken from the workers (bench/README.md). These
helpers cover the simple shapes the engine needs (equality and ``IN``
conditions, plain and incremented columns, ``RETURNING``) in SQL that SQLite
(3.35 or later) and PostgreSQL both run. Table and column names come from
the models and values are converted by the model fields themselves, so the
statements follow the models; anything less simple stays with the ORM.
"""

import datetime
import functools

from django.conf import settings
from django.db import connections
from django.db.models import JSONField
from django.utils import timezone


class Compare:
    """A condition ``field <op> value`` in ``where``, other than equality."""

    op = None

    def __init__(self, value):
        self.value = value


class AtLeast(Compare):
    """``field >= value``."""

    op = ">="


class Below(Compare):
    """``field < value``."""

    op = "<"


def update(model, where, values=None, *, add=None, keep=None, returning=(), using="default"):
    """``UPDATE`` rows of ``model`` matching ``where``; return the row count, or the returned rows.

    ``where`` maps field names to a value (``=``), a list or tuple of values
    (``IN``) or a :class:`Compare` (:class:`AtLeast`, :class:`Below`); ``values`` maps field names to new values; ``add`` maps
    field names to a number added to the current value; ``keep`` maps field
    names to a value set only where the field is null; ``returning`` names
    fields to return, one tuple per updated row.
    """
    values, add, keep = values or {}, add or {}, keep or {}
    connection = connections[using]
    statement = _update_sql(
        using, model, _shape(where), tuple(values), tuple(add), tuple(keep), tuple(returning)
    )
    params = [
        _field(model, name).get_db_prep_save(value, connection)
        for name, value in (*values.items(), *keep.items())
    ]
    params += add.values()
    params += _where_params(model, where, connection)
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        if returning:
            return [_aware_row(row) for row in cursor.fetchall()]
        return cursor.rowcount


def commit_without_waiting(using="default"):
    """Let the current transaction's commit return before its changes are on disk.

    For a change that something else brings back should a crash of the
    database server lose it, so that the locks it holds are released
    sooner: PostgreSQL's ``synchronous_commit`` turned off for this
    transaction only (a later durable commit writes it out with its own).
    SQLite, in WAL mode with ``synchronous=NORMAL``, commits without waiting
    for the disk already.
    """
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def insert(model, fields, rows, using="default", *, plain=False):
    """``INSERT`` ``rows`` (tuples of values for ``fields``) into ``model``'s table, in one statement per 300 rows.

    ``plain``: every value is an int or a str (or None) the database takes as it is,
    so the fields' conversions are skipped (a third of a 5 000-task launch's time);
    on PostgreSQL the rows then go through ``COPY`` (psycopg parses a statement
    of thousands of placeholders slowly; COPY also costs the server half of what
    an INSERT of the same rows does). Django's query log does not see a COPY.
    """
    connection = connections[using]
    if plain and rows and connection.vendor == "postgresql":
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(_copy_sql(using, model, tuple(fields))) as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    converters = [_field(model, name) for name in fields]
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 300):
            chunk = rows[start : start + 300]
            if plain:
                params = [value for row in chunk for value in row]
            else:
                params = [
                    field.get_db_prep_save(value, connection)
                    for row in chunk
                    for field, value in zip(converters, row, strict=True)
                ]
            cursor.execute(_insert_sql(using, model, tuple(fields), len(chunk)), params)


def delete(model, where, using="default"):
    """``DELETE`` the rows of ``model`` matching ``where`` (as :func:`update`); return the row count."""
    connection = connections[using]
    statement = _delete_sql(using, model, _shape(where))
    with connection.cursor() as cursor:
        cursor.execute(statement, _where_params(model, where, connection))
        return cursor.rowcount


def select(model, fields, where, for_update=False, using="default"):
    """Return the ``fields`` of the rows of ``model`` matching ``where`` (as :func:`update`), as tuples.

    ``for_update`` locks the rows for the transaction, where the database
    can (SQLite has nothing to lock: its writers take turns already).
    """
    connection = connections[using]
    statement = _select_sql(using, model, tuple(fields), _shape(where), for_update)
    with connection.cursor() as cursor:
        cursor.execute(statement, _where_params(model, where, connection))
        return [_aware_row(row) for row in cursor.fetchall()]


def load_fields(model):
    """The attribute names of ``model``'s fields that :func:`select` can load as they are.

    JSON fields are left out: their values need decoding (the ORM's job).
    """
    return tuple(field.attname for field in model._meta.concrete_fields if not isinstance(field, JSONField))


def _shape(where):
    """The conditions' names and kinds, with the number of values for an ``IN`` (the SQL differs by it)."""
    return tuple((name, _kind(value)) for name, value in where.items())


def _kind(value):
    if isinstance(value, (list, tuple)):
        return len(value)
    return value.op if isinstance(value, Compare) else "="


def _where_params(model, where, connection):
    params = []
    for name, value in where.items():
        field = _field(model, name)
        if isinstance(value, (list, tuple)):
            params += [field.get_db_prep_value(item, connection) for item in value]
        else:
            value = value.value if isinstance(value, Compare) else value
            params.append(field.get_db_prep_value(value, connection))
    return params


@functools.lru_cache(maxsize=512)
def _update_sql(using, model, where, values, add, keep, returning):
    quote = connections[using].ops.quote_name
    sets = [f"{_column(model, name, quote)} = %s" for name in values]
    sets += [f"{_column(model, name, quote)} = COALESCE({_column(model, name, quote)}, %s)" for name in keep]
    sets += [f"{_column(model, name, quote)} = {_column(model, name, quote)} + %s" for name in add]
    statement = f"UPDATE {quote(model._meta.db_table)} SET {', '.join(sets)}{_where_sql(model, where, quote)}"
    if returning:
        statement += " RETURNING " + ", ".join(_column(model, name, quote) for name in returning)
    return statement


@functools.lru_cache(maxsize=512)
def _insert_sql(using, model, fields, count):
    quote = connections[using].ops.quote_name
    columns = ", ".join(_column(model, name, quote) for name in fields)
    values = ", ".join(["(" + ", ".join(["%s"] * len(fields)) + ")"] * count)
    return f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES {values}"


@functools.lru_cache(maxsize=64)
def _copy_sql(using, model, fields):
    quote = connections[using].ops.quote_name
    columns = ", ".join(_column(model, name, quote) for name in fields)
    return f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN"


@functools.lru_cache(maxsize=512)
def _delete_sql(using, model, where):
    quote = connections[using].ops.quote_name
    return f"DELETE FROM {quote(model._meta.db_table)}{_where_sql(model, where, quote)}"


@functools.lru_cache(maxsize=512)
def _select_sql(using, model, fields, where, for_update):
    connection = connections[using]
    quote = connection.ops.quote_name
    columns = ", ".join(_column(model, name, quote) for name in fields)
    statement = f"SELECT {columns} FROM {quote(model._meta.db_table)}{_where_sql(model, where, quote)}"
    if for_update and connection.features.has_select_for_update:
        statement += " " + connection.ops.for_update_sql()
    return statement


def _where_sql(model, where, quote):
    conditions = []
    for name, kind in where:
        column = _column(model, name, quote)
        if isinstance(kind, str):
            conditions.append(f"{column} {kind} %s")
        else:
            # An empty list matches nothing, as the ORM's ``__in=[]`` does.
            conditions.append(f"{column} IN ({', '.join(['%s'] * kind)})" if kind else "1 = 0")
    return " WHERE " + " AND ".join(conditions) if conditions else ""


def _field(model, name):
    return model._meta.pk if name == "pk" else model._meta.get_field(name)


def _column(model, name, quote):
    return quote(_field(model, name).column)


def _aware_row(row):
    # SQLite hands back naive UTC datetimes where the ORM would give aware ones.
    if not settings.USE_TZ:
        return row
    return tuple(
        timezone.make_aware(value, datetime.UTC)
        if isinstance(value, datetime.datetime) and timezone.is_naive(value)
        else value
        for value in row
    )
