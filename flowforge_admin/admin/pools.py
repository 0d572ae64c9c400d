"""Pools in the admin: how many slots each has, and how many its tasks hold and wait for now."""

from django.contrib import admin
from django.db.models import Count, IntegerField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from ..models import Pool, TaskRun
from ..states import TASK_HOLDING_SLOTS, TaskState


def _per_pool(queryset, aggregate):
    """A subquery of ``aggregate`` over the task runs of the pool in the outer row."""
    return Coalesce(
        Subquery(
            queryset.filter(pool=OuterRef("name"))
            .order_by()
            .values("pool")
            .annotate(total=aggregate)
            .values("total")[:1],
            output_field=IntegerField(),
        ),
        Value(0),
    )


@admin.register(Pool)
class PoolAdmin(admin.ModelAdmin):
    list_display = ["name", "limit", "used", "waiting", "description"]
    search_fields = ["name", "description"]
    readonly_fields = ["created_at", "updated_at"]
    fields = ["name", "slots", "description", "created_at", "updated_at"]

    def get_queryset(self, request):
        # The slots in use and the waiting tasks of every pool on the page, in the list's one query.
        return (
            super()
            .get_queryset(request)
            .annotate(
                used_slots=_per_pool(
                    TaskRun.objects.filter(status__in=TASK_HOLDING_SLOTS), Sum("pool_slots")
                ),
                waiting_tasks=_per_pool(
                    TaskRun.objects.filter(status=TaskState.PENDING, pool_waiting_since__isnull=False),
                    Count("pk"),
                ),
            )
        )

    @admin.display(description=_("slots"), ordering="slots")
    def limit(self, pool):
        return _("no limit") if pool.slots is None else pool.slots

    @admin.display(description=_("slots in use"), ordering="used_slots")
    def used(self, pool):
        return pool.used_slots

    @admin.display(description=_("tasks waiting"), ordering="waiting_tasks")
    def waiting(self, pool):
        return pool.waiting_tasks
