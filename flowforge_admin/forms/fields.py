"""Form fields shared by the admin's forms and the launch form."""

from django import forms
from django.core.exceptions import ValidationError
from django.forms.fields import InvalidJSONInput
from django.utils.translation import gettext_lazy as _


class JSONTextField(forms.JSONField):
    """Django's JSON field, with a message (not a 500) for JSON that Python cannot read.

    ``json.loads`` raises RecursionError for text nested a few thousand deep
    and ValueError for an integer of more than 4 300 digits; Django's field
    catches only JSONDecodeError. What the value may hold (NaN, size, depth)
    is the business of :func:`flowforge_admin.definitions.params.check_params`.
    """

    default_error_messages = {
        "unreadable": _("This JSON cannot be read: %(reason)s."),
    }

    def to_python(self, value):
        try:
            return super().to_python(value)
        except RecursionError:
            raise self._unreadable(_("it is nested too deeply")) from None
        except ValueError:
            raise self._unreadable(_("it holds an integer with too many digits")) from None

    def bound_data(self, data, initial):
        try:
            return super().bound_data(data, initial)
        except (RecursionError, ValueError):
            return InvalidJSONInput(data)

    def _unreadable(self, reason):
        return ValidationError(self.error_messages["unreadable"], code="invalid", params={"reason": reason})
