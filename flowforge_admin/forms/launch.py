"""The form that launches a run of a flow: one field per parameter.

Fields come from the flow's ``params_schema`` (a JSON Schema) when it has one,
else from the types of its default parameters. The form only turns text into
typed values; whether the parameters suit the flow is decided by
:func:`flowforge_admin.definitions.params.check_run_params`, the same check a
launch from code or a schedule meets, and its messages are shown next to the
field they name.
"""

import json
import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from ..definitions.params import check_params, check_run_params, paused_message
from ..exceptions import InvalidTransition
from .fields import JSONTextField

# Not Python identifiers, so no parameter can be called that.
EXTRA = "extra-params"
LOGICAL_DATE = "logical-date"

# check_run_params names the parameter at the start of its messages:
# "params.batch_size: 0 is less than the minimum of 1", "params.tags.1: ...",
# and jsonschema's "params: 'name' is a required property".
FIELD_MESSAGE = re.compile(r"^params\.(?P<name>[^.:]+)(?:\.(?P<path>[^:]*))?: (?P<message>.*)$", re.S)
REQUIRED_MESSAGE = re.compile(r"^params: '(?P<name>[^']+)' is a required property$")

# A default this long is not repeated in the help text.
DEFAULT_HELP_LENGTH = 60


class JSONValueField(JSONTextField):
    """A JSON field that shows nothing, rather than ``null``, when it has no value."""

    def prepare_value(self, value):
        return "" if value is None else super().prepare_value(value)


def _text_input():
    return forms.TextInput(attrs={"class": "vTextField"})


def _json_input():
    return forms.Textarea(attrs={"class": "vLargeTextField ff-json", "rows": 3, "spellcheck": "false"})


def _number_input(schema, integer):
    """A number input with the schema's bounds as hints (the check stays check_run_params')."""
    attrs = {"class": "vIntegerField" if integer else "vTextField"}
    for keyword, attr in (("minimum", "min"), ("maximum", "max")):
        if isinstance(schema.get(keyword), (int, float)):
            attrs[attr] = schema[keyword]
    return forms.NumberInput(attrs=attrs)


def _field_for_value(default):
    """Return a field typed after a default value (a flow without a schema)."""
    if isinstance(default, bool):
        return forms.BooleanField(required=False)
    if isinstance(default, int):
        return forms.IntegerField(required=False, widget=_number_input({}, integer=True))
    if isinstance(default, float):
        return forms.FloatField(required=False, widget=_number_input({}, integer=False))
    if isinstance(default, str):
        return forms.CharField(required=False, widget=_text_input())
    return JSONValueField(required=False, widget=_json_input())


def _schema_type(schema):
    """Return the one JSON type a property allows besides null, or None."""
    kind = schema.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        kind = kinds[0] if len(kinds) == 1 else None
    return kind if isinstance(kind, str) else None


def _choice_keys(values):
    """Return the form value of each choice: text as it is, other JSON values as JSON.

    If that makes two choices alike (``"1"`` and ``1``), every choice is
    written as JSON instead.
    """
    keys = [value if isinstance(value, str) else json.dumps(value) for value in values]
    if len(set(keys)) < len(keys):
        keys = [json.dumps(value) for value in values]
    return keys


def _choice_field(values, required, labels=None):
    """A select of JSON values; the chosen one comes back with its type (7, not "7")."""
    keys = _choice_keys(values)
    by_key = dict(zip(keys, values, strict=True))
    labels = labels or {}
    choices = [(key, labels.get(key, key)) for key in keys]
    if not required:
        choices.insert(0, ("", "—"))
    field = forms.TypedChoiceField(
        choices=choices, coerce=by_key.__getitem__, empty_value=None, required=required
    )
    field.choice_key = dict(zip(map(json.dumps, values), keys, strict=True))
    return field


def _field_for_schema(schema, required, has_default):
    """Return a field for one property of the parameters' JSON Schema."""
    kind = _schema_type(schema)
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return _choice_field(schema["enum"], required)
    if kind == "boolean":
        if has_default:
            return forms.BooleanField(required=False)
        # No default: "not given" must stay possible, which a checkbox cannot say.
        return _choice_field([True, False], required, labels={"true": _("yes"), "false": _("no")})
    if kind == "integer":
        return forms.IntegerField(required=required, widget=_number_input(schema, integer=True))
    if kind == "number":
        return forms.FloatField(required=required, widget=_number_input(schema, integer=False))
    if kind == "string":
        return forms.CharField(required=required, widget=_text_input())
    return JSONValueField(required=required, widget=_json_input())


def _initial(field, value):
    """Return ``value`` as ``field`` shows it (a choice by its form value)."""
    if isinstance(field, forms.TypedChoiceField):
        return field.choice_key.get(json.dumps(value))
    return value


def _default_help(value):
    text = json.dumps(value)
    if len(text) > DEFAULT_HELP_LENGTH:
        return ""
    return _("Default: %(value)s.") % {"value": text}


def _humanised(name):
    """A parameter key as a label: "batch_size" -> "Batch size" (for schemas without titles)."""
    return capfirst(name.replace("_", " ").strip()) or name


class LaunchForm(forms.Form):
    """Parameters of a new run of ``flow``; ``params()`` gives them once the form is valid.

    An empty field is left out of the parameters, so the flow's default
    applies. Parameters not in the form go in the ``extra-params`` JSON box.
    """

    # Admin's forms.css shows these labels in bold.
    required_css_class = "required"
    error_messages = {
        "extra_not_object": _("Enter a JSON object of parameter name: value."),
        "extra_clash": _("%(names)s: set in the form above, not here."),
    }

    def __init__(self, flow, data=None, prefix=None):
        super().__init__(data=data, prefix=prefix)
        self.flow = flow
        self.param_names = []
        schema = flow.params_schema if isinstance(flow.params_schema, dict) else None
        if schema:
            self._add_schema_fields(schema)
        for name, default in (flow.params or {}).items():
            if name not in self.fields:
                self._add_param_field(name, _field_for_value(default), default=default)
        self.fields[EXTRA] = JSONValueField(
            label=_("Other parameters"),
            required=False,
            widget=_json_input(),
            help_text=_('A JSON object of parameters not listed above, e.g. {"key": "value"}.'),
        )
        self.fields[LOGICAL_DATE] = forms.DateTimeField(
            label=_("Logical date"),
            required=False,
            widget=forms.TextInput(attrs={"class": "vTextField", "placeholder": "2026-01-31 06:00"}),
            help_text=_(
                "The moment of data this run is for, such as 2026-01-31 06:00 (%(zone)s). Blank: now."
            )
            % {"zone": timezone.get_current_timezone_name()},
            error_messages={
                "invalid": _("Enter a date, or a date and time, such as 2026-01-31 or 2026-01-31 06:00.")
            },
        )
        self._params = None

    def _add_schema_fields(self, schema):
        properties = schema.get("properties")
        if not isinstance(properties, dict):
            return
        required = schema.get("required") if isinstance(schema.get("required"), list) else []
        for name, prop in properties.items():
            prop = prop if isinstance(prop, dict) else {}
            has_default = name in (self.flow.params or {}) or "default" in prop
            default = (self.flow.params or {}).get(name, prop.get("default"))
            field = _field_for_schema(
                prop, required=name in required and not has_default, has_default=has_default
            )
            self._add_param_field(
                name,
                field,
                default=default if has_default else None,
                has_default=has_default,
                label=prop.get("title"),
                description=prop.get("description"),
            )

    def _add_param_field(self, name, field, default, has_default=True, label=None, description=None):
        field.label = label or _humanised(name)
        field.initial = _initial(field, default) if has_default else None
        help_parts = [str(description)] if description else []
        if has_default and not isinstance(field, forms.BooleanField):
            help_parts.append(_default_help(default))
        if field.label != name:
            # The key is what "Other parameters", run_flow --param and the API take.
            help_parts.append(_("Key: %(key)s.") % {"key": name})
        field.help_text = " ".join(part for part in help_parts if part)
        self.fields[name] = field
        self.param_names.append(name)

    @property
    def blocked_reason(self):
        """Why this flow cannot be launched at all (paused), or None."""
        return paused_message(self.flow)

    def clean(self):
        cleaned = super().clean()
        if self.blocked_reason:
            raise ValidationError(self.blocked_reason, code="paused")
        extras = self._clean_extras(cleaned.get(EXTRA))
        params = {
            name: cleaned[name]
            for name in self.param_names
            if name in cleaned and cleaned[name] is not None and cleaned[name] != ""
        }
        # Unreadable extras still leave the typed fields to check: every error of the
        # submission is shown at once (an error the extras might have cured lands on the
        # extras box, which already shows one, and is dropped).
        params.update(extras or {})
        try:
            check_run_params(self.flow, params)
        except ValidationError as error:
            self.add_launch_error(error)
        self._params = params
        return cleaned

    def _clean_extras(self, extras):
        """Return the extra parameters as a dict, or None after adding an error to the box."""
        if self.has_error(EXTRA):
            return None
        if extras in (None, ""):
            return {}
        if not isinstance(extras, dict):
            self.add_error(EXTRA, ValidationError(self.error_messages["extra_not_object"], code="not_object"))
            return None
        # The same rule (and words) as for default parameters.
        problem = check_params(extras)
        if problem:
            self.add_error(EXTRA, ValidationError(problem, code="invalid_params"))
            return None
        clash = sorted(set(extras) & set(self.param_names))
        if clash:
            self.add_error(
                EXTRA,
                ValidationError(
                    self.error_messages["extra_clash"], code="clash", params={"names": ", ".join(clash)}
                ),
            )
            return None
        return extras

    def add_launch_error(self, error):
        """Show an error of check_run_params or launch next to the field it names.

        Also used by the views when launch itself refuses (the flow was paused
        or changed after the form was checked). A field that already shows an
        error (it could not even be read) gets no second one.
        """
        if isinstance(error, InvalidTransition):
            self.add_error(None, ValidationError(str(error), code="invalid_transition"))
            return
        for message in error.messages:
            field, text = self._field_of(message)
            if field is None or not self.has_error(field):
                self.add_error(field, ValidationError(text, code="invalid_params"))

    def _field_of(self, message):
        """Return (field name or None, message to show there) for a check_run_params message."""
        match = REQUIRED_MESSAGE.match(message)
        if match and match["name"] in self.param_names:
            return match["name"], self.fields[match["name"]].error_messages["required"]
        match = FIELD_MESSAGE.match(message)
        if match is None:
            return None, message
        where = f"{match['path']}: " if match["path"] else ""
        if match["name"] in self.param_names:
            return match["name"], f"{where}{match['message']}"
        # Only the extra box can hold a parameter the form has no field for.
        return EXTRA, f"{match['name']}{'.' + match['path'] if match['path'] else ''}: {match['message']}"

    def logical_date(self):
        """Return the logical date to launch with (None: now); call after ``is_valid()`` returned True."""
        if not self.is_valid():
            raise ValueError("the launch form is not valid")
        return self.cleaned_data.get(LOGICAL_DATE)

    def params(self):
        """Return the parameters to launch with; call after ``is_valid()`` returned True."""
        if not self.is_valid():
            raise ValueError("the launch form is not valid")
        return dict(self._params)
