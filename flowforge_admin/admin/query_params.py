"""Ids read from a query string, kept to those a row could have.

An id beyond the column's range cannot match anything, but the database
does not say so: SQLite raises OverflowError beyond 2^63, PostgreSQL a
DataError beyond 2^31 for an int column. Django guards ``field=value``
lookups itself, not ``__in`` lists nor values compared before a query.
"""

from django.db import connections, router


def ids_in_range(model, field_name, texts):
    """Return the ints among ``texts`` (strings of digits) that ``model.field_name`` can hold, in order.

    Anything else (not a number, or out of the column's range) is left out:
    the caller decides whether nothing left means "none" or "no filter".
    """
    field = model._meta.pk if field_name == "pk" else model._meta.get_field(field_name)
    column = getattr(field, "target_field", field)  # a foreign key holds its target's ids
    connection = connections[router.db_for_read(model)]
    low, high = connection.ops.integer_field_range(column.get_internal_type())
    numbers = (int(text) for text in texts if text.isascii() and text.isdigit())
    return [number for number in numbers if low <= number <= high]
