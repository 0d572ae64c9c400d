"""LaunchForm: fields built from a flow's parameters, validated by check_run_params."""

import json

import pytest
from django import forms

from flowforge_admin.forms.launch import EXTRA, LOGICAL_DATE, JSONValueField, LaunchForm
from flowforge_admin.models import Flow

SCHEMA = {
    "type": "object",
    "properties": {
        "region": {
            "type": "string",
            "enum": ["eu", "us", "apac"],
            "title": "Region",
            "description": "Where the data is loaded.",
        },
        "batch_size": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50},
        "threshold": {"type": "number"},
        "dry_run": {"type": "boolean", "default": False},
        "notify": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "level": {"enum": [1, 2, 3]},
        "owner": {"type": "string"},
    },
    "required": ["region", "threshold", "notify", "batch_size"],
    "additionalProperties": {"type": "integer"},
}


def flow(params=None, schema=None, paused=False):
    """An unsaved Flow: the form reads only its fields."""
    return Flow(name="etl", params=params or {}, params_schema=schema, is_paused=paused)


def data(**values):
    """POST data of the form: JSON-ish values written as a browser sends them."""
    return {name: value if isinstance(value, str) else json.dumps(value) for name, value in values.items()}


def errors(form):
    assert not form.is_valid()
    return {field: list(messages) for field, messages in form.errors.items()}


# Without a schema: one field per default, typed after it ----------------------


def test_fields_follow_the_type_of_each_default():
    """str, bool, int, float and JSON defaults give text, checkbox, integer, float and JSON fields."""
    form = LaunchForm(
        flow({"title": "x", "flag": True, "n": 3, "ratio": 0.5, "items": [1], "opts": {"a": 1}, "none": None})
    )

    kinds = {name: type(field) for name, field in form.fields.items()}
    assert kinds == {
        "title": forms.CharField,
        "flag": forms.BooleanField,
        "n": forms.IntegerField,
        "ratio": forms.FloatField,
        "items": JSONValueField,
        "opts": JSONValueField,
        "none": JSONValueField,
        EXTRA: JSONValueField,
        LOGICAL_DATE: forms.DateTimeField,
    }
    assert form.fields["flag"].required is False
    assert {name: form[name].initial for name in ("title", "flag", "n", "items")} == {
        "title": "x",
        "flag": True,
        "n": 3,
        "items": [1],
    }


def test_params_are_the_typed_values_with_the_extras():
    """params() returns every filled field, typed, plus the extra parameters."""
    form = LaunchForm(
        flow({"title": "x", "flag": True, "n": 3, "items": [1]}),
        data={"title": "Report", "n": "7", "items": "[1, 2]", EXTRA: '{"more": "yes"}'},
    )

    assert form.is_valid(), form.errors
    # An unticked checkbox is False, not "leave the default".
    assert form.params() == {"title": "Report", "flag": False, "n": 7, "items": [1, 2], "more": "yes"}


def test_an_emptied_field_leaves_the_default_in_force():
    """A field left empty is not sent: the flow's default applies at run time."""
    form = LaunchForm(flow({"n": 3, "title": "x"}), data={"n": "", "title": ""})

    assert form.is_valid(), form.errors
    assert form.params() == {}


def test_a_value_of_the_wrong_type_is_an_error_on_its_field():
    form = LaunchForm(flow({"n": 3}), data={"n": "three"})

    assert errors(form) == {"n": ["Enter a whole number."]}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("[1, 2]", "Enter a JSON object of parameter name: value."),
        ('{"not a name": 1}', "parameter names must be Python identifiers: 'not a name' is not"),
        ('{"n": 5}', "n: set in the form above, not here."),
        ("{nope", "Enter a valid JSON."),
    ],
)
def test_bad_extra_parameters_are_an_error_on_the_extra_box(extra, message):
    form = LaunchForm(flow({"n": 3}), data={"n": "3", EXTRA: extra})

    assert errors(form) == {EXTRA: [message]}


def test_a_paused_flow_cannot_be_launched_and_the_form_says_why():
    form = LaunchForm(flow({"n": 3}, paused=True), data={"n": "3"})

    assert form.blocked_reason == "flow 'etl' is paused: resume it before launching a run"
    assert errors(form) == {"__all__": ["flow 'etl' is paused: resume it before launching a run"]}


def test_an_unbound_form_of_a_paused_flow_gives_the_reason_too():
    """The page shows why before anyone presses a button."""
    assert LaunchForm(flow(paused=True)).blocked_reason.startswith("flow 'etl' is paused")
    assert LaunchForm(flow()).blocked_reason is None


def test_json_fields_without_a_value_show_an_empty_box():
    """Not the word null: an empty box means "not given"."""
    form = LaunchForm(flow({"none": None}))

    assert form["none"].value() == ""
    assert 'id="id_none">\n</textarea>' in str(form["none"])
    assert f'id="id_{EXTRA}">\n</textarea>' in str(form[EXTRA])


def test_params_of_an_invalid_form_raise():
    with pytest.raises(ValueError, match="not valid"):
        LaunchForm(flow({"n": 3}), data={"n": "x"}).params()


# With a JSON Schema -------------------------------------------------------------


def test_schema_fields_in_schema_order_then_defaults_without_a_property():
    form = LaunchForm(flow({"legacy": "x"}, SCHEMA))

    assert list(form.fields) == [*SCHEMA["properties"], "legacy", EXTRA, LOGICAL_DATE]


def test_schema_types_give_typed_fields_and_enums_give_choices():
    form = LaunchForm(flow(schema=SCHEMA))
    fields = form.fields

    assert type(fields["batch_size"]) is forms.IntegerField
    assert type(fields["threshold"]) is forms.FloatField
    assert type(fields["dry_run"]) is forms.BooleanField
    assert type(fields["tags"]) is JSONValueField
    assert type(fields["owner"]) is forms.CharField
    assert [label for _, label in fields["region"].choices] == ["eu", "us", "apac"]
    # A boolean with no default may stay unset, which a checkbox cannot say.
    assert [label for _, label in fields["notify"].choices] == ["yes", "no"]
    # The schema's bounds are hints for the browser's number input.
    assert (fields["batch_size"].widget.attrs["min"], fields["batch_size"].widget.attrs["max"]) == (1, 500)


def test_title_is_the_label_and_description_the_help_text():
    form = LaunchForm(flow(schema=SCHEMA))

    assert form.fields["region"].label == "Region"
    assert form.fields["region"].help_text == "Where the data is loaded. Key: region."
    assert form.fields["batch_size"].help_text == "Default: 50. Key: batch_size."


def test_a_key_without_a_title_gets_a_humanised_label_and_keeps_the_key_in_the_help():
    schema = {
        "type": "object",
        "properties": {"batch_size": {"type": "integer"}, "owner": {"type": "string"}},
    }
    form = LaunchForm(flow({"max_rows": 10, "x": 1}, schema))

    labels = {name: str(field.label) for name, field in form.fields.items()}
    assert labels["batch_size"] == "Batch size"
    assert labels["owner"] == "Owner"
    assert labels["max_rows"] == "Max rows"
    assert form.fields["batch_size"].help_text == "Key: batch_size."
    assert form.fields["max_rows"].help_text == "Default: 10. Key: max_rows."
    assert form.fields["x"].help_text == "Default: 1. Key: x."


def test_required_means_in_the_schemas_required_list_and_without_a_default():
    """batch_size is required by the schema but has a default, so it may be left empty."""
    form = LaunchForm(flow(schema=SCHEMA))

    required = {name for name, field in form.fields.items() if field.required}
    assert required == {"region", "threshold", "notify"}


def test_the_flows_default_wins_over_the_schemas():
    form = LaunchForm(flow({"batch_size": 20, "region": "us"}, SCHEMA))

    assert form["batch_size"].initial == 20
    assert form["region"].initial == "us"
    assert "region" not in {name for name, field in form.fields.items() if field.required}


def test_choice_values_stay_apart_when_text_and_number_look_alike():
    schema = {"type": "object", "properties": {"v": {"enum": ["1", 1]}}}
    form = LaunchForm(flow(schema=schema), data={"v": "1"})

    assert form.is_valid(), form.errors
    assert form.params() == {"v": 1}


def test_choices_come_back_with_their_type():
    """An enum of integers gives 2, not "2"; booleans give True."""
    form = LaunchForm(
        flow(schema=SCHEMA),
        data=data(region="us", batch_size="50", threshold="0.5", notify="true", level="2", tags=["a"]),
    )

    assert form.is_valid(), form.errors
    params = form.params()
    assert (params["region"], params["level"], params["notify"], params["threshold"]) == ("us", 2, True, 0.5)
    assert type(params["level"]) is int


def test_the_schema_check_of_launch_puts_its_message_on_the_field():
    """Bounds are checked by check_run_params (the launch check), next to the field."""
    form = LaunchForm(
        flow(schema=SCHEMA),
        data=data(region="eu", threshold="1", notify="false", batch_size="900"),
    )

    assert errors(form) == {"batch_size": ["900 is greater than the maximum of 500"]}


def test_a_required_parameter_left_unset_is_an_error_on_its_field():
    form = LaunchForm(flow(schema=SCHEMA), data=data(region="eu", batch_size="5", threshold="1", notify=""))

    assert errors(form) == {"notify": ["This field is required."]}


def test_a_required_parameter_emptied_of_its_schema_default_is_refused_by_the_launch_check():
    """batch_size has only a schema default (launch does not apply it): emptied, it is missing."""
    form = LaunchForm(
        flow(schema=SCHEMA), data=data(region="eu", threshold="1", notify="true", batch_size="")
    )

    assert errors(form) == {"batch_size": ["This field is required."]}


def test_an_error_inside_a_json_parameter_names_the_item():
    form = LaunchForm(
        flow(schema=SCHEMA),
        data=data(region="eu", batch_size="5", threshold="1", notify="true", tags=["a", 5]),
    )

    assert errors(form) == {"tags": ["1: 5 is not of type 'string'"]}


def test_an_extra_parameter_the_schema_refuses_is_an_error_on_the_extra_box():
    form = LaunchForm(
        flow(schema=SCHEMA),
        data=data(region="eu", batch_size="5", threshold="1", notify="true", **{EXTRA: {"retries": "x"}}),
    )

    assert errors(form) == {EXTRA: ["retries: 'x' is not of type 'integer'"]}


def test_a_schema_error_that_names_no_parameter_is_a_form_error():
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "additionalProperties": False}
    form = LaunchForm(flow(schema=schema), data={"a": "1", EXTRA: '{"b": 1}'})

    assert errors(form) == {"__all__": ["params: Additional properties are not allowed ('b' was unexpected)"]}


def test_a_valid_schema_form_gives_the_values_to_launch_with():
    form = LaunchForm(
        flow({"legacy": 1}, SCHEMA),
        data=data(
            region="apac", threshold="2.5", notify="false", batch_size="10", legacy="2", **{EXTRA: {"k": 1}}
        ),
    )

    assert form.is_valid(), form.errors
    assert form.params() == {
        "region": "apac",
        "batch_size": 10,
        "threshold": 2.5,
        "dry_run": False,
        "notify": False,
        "legacy": 2,
        "k": 1,
    }


def test_launch_form_shows_unreadable_extras_and_an_out_of_range_field_together():
    flow = Flow(
        name="etl",
        params={},
        params_schema={"type": "object", "properties": {"batch": {"type": "integer", "maximum": 10}}},
    )
    form = LaunchForm(flow, data={"batch": "11", EXTRA: "{not json"})
    assert not form.is_valid()
    assert form.errors["batch"] == ["11 is greater than the maximum of 10"]
    assert form.errors[EXTRA] == ["Enter a valid JSON."]
