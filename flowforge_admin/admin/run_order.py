"""The run list's order by logical date, chosen in its sidebar.

A column of logical dates would make the list wider than a 1 280 px window,
so the choice sits with the filters: a filter that filters nothing, whose
value :class:`LogicalDateOrderMixin` turns into the list's ordering (a
column header's own ordering, ``?o=``, still wins). Both orders read the
run table's logical-date indexes.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

ORDERINGS = {"newest": ["-logical_date", "-id"], "oldest": ["logical_date", "id"]}


class LogicalDateOrder(admin.SimpleListFilter):
    title = _("logical date order")
    parameter_name = "logical_order"

    def lookups(self, request, model_admin):
        return [("newest", _("newest first")), ("oldest", _("oldest first"))]

    def queryset(self, request, queryset):
        return queryset  # the order is the admin's: see LogicalDateOrderMixin


class LogicalDateOrderMixin:
    def get_ordering(self, request):
        return ORDERINGS.get(request.GET.get(LogicalDateOrder.parameter_name)) or super().get_ordering(
            request
        )
