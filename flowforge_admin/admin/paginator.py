"""A paginator that estimates, instead of counting, the rows of a large unfiltered table.

COUNT(*) reads the whole table on PostgreSQL (no count is stored), so the
unfiltered run list would get slower with every run ever made. PostgreSQL's
planner statistics hold an estimate kept fresh by autovacuum; above
``EXACT_BELOW`` rows the list shows that instead (the admin's usual remedy
for big tables). Filtered lists, smaller tables and SQLite count exactly.
"""

from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property

# Below this many rows an exact count costs a few milliseconds and is worth it.
EXACT_BELOW = 50_000


class EstimatedCountPaginator(Paginator):
    @cached_property
    def count(self):
        estimate = estimated_rows(self.object_list)
        return estimate if estimate is not None and estimate >= EXACT_BELOW else super().count


def estimated_rows(queryset):
    """PostgreSQL's estimate of the rows of an unfiltered queryset's table, else None."""
    if not isinstance(queryset, QuerySet) or queryset.query.where:
        return None
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
            [connection.ops.quote_name(queryset.model._meta.db_table)],
        )
        row = cursor.fetchone()
    # -1: the table was never analysed.
    return row[0] if row and row[0] >= 0 else None
