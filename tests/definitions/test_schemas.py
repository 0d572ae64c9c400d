"""Parameters schemas are checked whole when saved and applied offline, with RE2, at launch."""

import json

import pytest
from django.core.exceptions import ValidationError

from flowforge_admin.api import register_task_pipeline
from flowforge_admin.definitions.files.write import import_file
from flowforge_admin.definitions.params import check_params_schema, check_run_params
from flowforge_admin.definitions.schemas import validator_for
from flowforge_admin.exceptions import FlowDefinitionError
from flowforge_admin.models import Flow

from .. import engine_tasks as t
from ..conftest import DEMO

UNUSABLE = [
    ({"$ref": "#/$defs/nope"}, "the reference '#/$defs/nope' leads nowhere"),
    ({"$ref": "https://example.com/schema.json"}, "leads nowhere (only references inside the schema work"),
    ({"$ref": "#"}, "a $ref leads back to itself without descending"),
    (
        {
            "$defs": {
                "a": {"$ref": "#/$defs/b"},
                "b": {"anyOf": [{"type": "string"}, {"$ref": "#/$defs/a"}]},
            },
            "properties": {"x": {"$ref": "#/$defs/a"}},
        },
        "a $ref leads back to itself",
    ),
    ({"properties": {"x": {"pattern": "(a)\\1"}}}, "the regular expression '(a)\\\\1' is not supported"),
    ({"patternProperties": {"^(?!x)": {}}}, "the regular expression '^(?!x)' is not supported"),
    (
        {"patternProperties": {"^a": {}}, "unevaluatedProperties": False},
        "unevaluatedProperties together with patternProperties is not supported",
    ),
]
USABLE = [
    {"type": "object", "properties": {"child": {"$ref": "#"}}},  # recursion that descends
    {"$defs": {"n": {"type": "integer"}}, "properties": {"a": {"$ref": "#/$defs/n"}}},
    {"$anchor": "top", "properties": {"again": {"$ref": "#top"}}},
    {"$id": "https://flows.example/p", "$defs": {"s": {"$id": "s", "type": "string"}}, "$ref": "s"},
    {"properties": {"x": {"type": "string", "pattern": "^(a+)+$"}}},  # fine under RE2
]


@pytest.mark.parametrize(("schema", "message"), UNUSABLE)
def test_a_schema_that_cannot_be_applied_is_refused_with_why(schema, message):
    assert message in check_params_schema(schema)


@pytest.mark.parametrize("schema", USABLE)
def test_schemas_that_can_be_applied_are_accepted(schema):
    assert check_params_schema(schema) is None


@pytest.mark.django_db
@pytest.mark.parametrize(("schema", "message"), UNUSABLE[:3])
def test_registration_refuses_an_unusable_schema(schema, message):
    with pytest.raises(FlowDefinitionError, match="params_schema: cannot be used") as raised:
        register_task_pipeline("typed", {"a": {"function": t.echo}}, params_schema=schema)
    assert message in str(raised.value)
    assert not Flow.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("schema", "message"), UNUSABLE[:3])
def test_import_refuses_an_unusable_schema(schema, message):
    rows = [
        {
            "flow": "typed",
            "task": "a",
            "parent": "",
            "function": DEMO + "prepare_batch",
            "depends_on": "",
            "flow_params_schema": json.dumps(schema),
        }
    ]
    plan = import_file(json.dumps(rows).encode(), "json")
    assert any(message in str(issue) and issue.column == "flow_params_schema" for issue in plan.issues)
    assert not Flow.objects.exists()


def test_a_schema_stored_before_the_check_refuses_launches_with_a_message():
    """Not a 500: the launch is refused, saying where to fix it."""
    flow = Flow(name="old", params={}, params_schema={"$ref": "#/$defs/nope"})
    with pytest.raises(ValidationError, match="the parameters schema of flow 'old' cannot be used"):
        check_run_params(flow, {})


def test_patterns_run_with_re2():
    r"""RE2 syntax Python's re lacks (\p{Lu}) works: the regex engine is RE2 for every keyword."""
    schema = {
        "properties": {"name": {"type": "string", "pattern": r"^\p{Lu}"}},
        "patternProperties": {r"^\p{Lu}": {"type": "integer"}},
        "additionalProperties": False,
    }
    validator = validator_for(schema)
    assert validator.is_valid({"name": "Ann", "Size": 3})
    messages = {error.message for error in validator.iter_errors({"name": "ann", "Size": "x", "z": 1})}
    assert messages == {
        "'ann' does not match '^\\\\p{Lu}'",
        "'x' is not of type 'integer'",
        "'z' does not match any of the regexes: '^\\\\p{Lu}'",
    }


def test_a_schema_never_fetches_anything(monkeypatch):
    """A remote $ref met at launch (stored before the check) is refused without a request."""

    def no_network(*args, **kwargs):
        raise AssertionError("a schema tried to fetch a URL")

    monkeypatch.setattr("urllib.request.urlopen", no_network)
    flow = Flow(name="remote", params={}, params_schema={"$ref": "https://example.com/s.json"})
    with pytest.raises(ValidationError, match="cannot be used"):
        check_run_params(flow, {})
