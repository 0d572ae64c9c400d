"""Every error of a definition is reported at once, and imported schedules meet the admin form's checks.

The launch form's side of "every error at once" is in tests/forms/test_launch.py.
"""

import datetime
import json

import pytest
from django.utils import timezone

from flowforge_admin.definitions.files.export import export_flows
from flowforge_admin.definitions.files.preview import plan_import
from flowforge_admin.definitions.files.write import import_file
from flowforge_admin.definitions.rules import validate_flow
from flowforge_admin.definitions.spec import FlowSpec, TaskSpec
from flowforge_admin.models import Flow, FlowSchedule

from ..conftest import DEMO, sized_flow, task_row

pytestmark = pytest.mark.django_db

F = DEMO + "prepare_batch"


def allow_demo(path):
    return None if path.startswith(DEMO) else f"{path} is not allowed"


def test_import_reports_field_errors_and_the_cycle_together():
    """A bad function, a negative retries and a cycle: one upload shows all three."""
    rows = [
        task_row(task="a", depends_on="b", function="os.system"),
        task_row(task="b", depends_on="a", retries=-1),
    ]
    plan = plan_import(json.dumps(rows).encode(), "json")
    found = {(issue.row, issue.column) for issue in plan.issues}
    assert found == {(1, "function"), (2, "retries"), (1, "depends_on")}
    assert "cycle: a -> b -> a" in " ".join(str(issue) for issue in plan.issues)
    assert not Flow.objects.exists()


def test_validation_reports_a_nesting_cycle_beside_an_unknown_dependency():
    spec = FlowSpec(
        "f",
        tasks=(
            TaskSpec("a", parent="b", function=F, depends_on=("ghost",)),
            TaskSpec("b", parent="a", function=F),
        ),
    )
    codes = {problem.code for problem in validate_flow(spec, allow_demo)}
    assert codes == {"unknown_dependency", "nesting_cycle"}


# Imported schedules ----------------------------------------------------------------


@pytest.fixture
def typed_flow():
    return sized_flow("f")


def schedules_file(*schedules):
    """An export of the stored flow with ``schedules`` in its flow_schedules cell."""
    rows = json.loads(export_flows(Flow.objects.all(), "json"))
    rows[0]["flow_schedules"] = json.dumps(list(schedules))
    return json.dumps(rows).encode()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"size": 0}, "schedule 's', params.size: 0 is less than the minimum of 1"),
        ({"not a name": 1}, "schedule 's', params: parameter names must be Python identifiers"),
    ],
)
def test_import_checks_schedule_params_against_the_flow(typed_flow, params, message):
    plan = import_file(schedules_file({"name": "s", "kind": "daily", "params": params}), "json")
    assert [issue.column for issue in plan.issues] == ["flow_schedules"]
    assert message in str(plan.issues[0])
    assert not FlowSchedule.objects.exists()


def test_import_checks_schedule_params_against_the_schema_the_file_brings(typed_flow):
    """The file's new schema is the one the schedule must meet."""
    rows = json.loads(schedules_file({"name": "s", "kind": "daily", "params": {"size": 5}}))
    rows[0]["flow_params_schema"] = json.dumps({"properties": {"size": {"maximum": 4}}})
    plan = import_file(json.dumps(rows).encode(), "json")
    assert "schedule 's', params.size: 5 is greater than the maximum of 4" in str(plan.issues[0])


def test_import_refuses_a_new_one_off_time_in_the_past(typed_flow):
    past = (timezone.now() - datetime.timedelta(hours=1)).isoformat()
    plan = import_file(schedules_file({"name": "s", "kind": "once", "run_at": past}), "json")
    assert "has passed: give a time to come" in str(plan.issues[0])
    assert not FlowSchedule.objects.exists()


def test_an_exported_one_off_that_has_fired_imports_again(typed_flow):
    """Unchanged, a past one-off schedule is not refused: an export always imports again."""
    past = timezone.now() - datetime.timedelta(days=1)
    FlowSchedule.objects.create(flow=typed_flow, name="s", kind="once", run_at=past)
    plan = import_file(export_flows(Flow.objects.all(), "json"), "json")
    assert plan.is_valid, plan.issues
