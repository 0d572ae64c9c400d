"""Read-only display of stored JSON that never breaks the page.

For a user who may only view, the admin shows a JSON field through
``display_for_field``, which writes a lone surrogate as it is: the page then
fails to encode, for every viewer. Entrances refuse such text now, but a value
stored before must still show. This mixin swaps each such field, for view-only
pages, for a read-only method that writes the surrogate as its ``\\uXXXX`` escape.
"""

import json

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from ..text import escape_surrogates


def stored_json(value):
    """Return ``value`` as JSON text that can be encoded whatever it holds."""
    if value is None:
        return "-"
    return escape_surrogates(json.dumps(value, ensure_ascii=False, sort_keys=True))


class StoredJSONDisplayMixin:
    """Shows ``stored_json_fields`` (params, params_schema) through :func:`stored_json` on view-only pages."""

    stored_json_fields = ()

    def get_fieldsets(self, request, obj=None):
        return self.with_stored_json_shown(request, obj, super().get_fieldsets(request, obj))

    def with_stored_json_shown(self, request, obj, fieldsets):
        """Return ``fieldsets`` with the stored JSON fields swapped for their display on view-only pages.

        Call it from a ``get_fieldsets`` that builds its fieldsets without ``super()``.
        """
        if obj is None or self.has_change_permission(request, obj):
            return fieldsets
        return [
            (name, {**options, "fields": [self._shown(field) for field in options["fields"]]})
            for name, options in fieldsets
        ]

    def _shown(self, field):
        return f"{field}_shown" if field in self.stored_json_fields else field

    @admin.display(description=_("default parameters"))
    def params_shown(self, obj):
        return stored_json(obj.params)

    @admin.display(description=_("parameters schema"))
    def params_schema_shown(self, obj):
        return stored_json(obj.params_schema)
