"""The preview of an import: tasks, dependencies and settings added, changed, removed; then written."""

import datetime
import json

import pytest

from flowforge_admin.definitions import store
from flowforge_admin.definitions.files.columns import REQUIRED_COLUMNS
from flowforge_admin.definitions.files.preview import plan_import
from flowforge_admin.definitions.files.write import apply_plan, import_file
from flowforge_admin.definitions.spec import TaskSpec
from flowforge_admin.models import Flow, Task
from tests.conftest import DEMO, make_flow, task_row

from .conftest import export, rows_file, snapshot, store_demo


@pytest.mark.django_db
def test_preview_lists_added_changed_removed_tasks_and_dependency_changes():
    store_demo()
    rows = [dict(item) for item in json.loads(export("json"))]
    by_task = {item["task"]: item for item in rows}
    by_task["clean_data"]["retries"] = 4
    by_task["clean_data"]["depends_on"] = "fetch, extra"
    rows = [item for item in rows if item["task"] != "post_process"]
    rows.append(task_row(flow="demo_daily_report", task="extra", function=DEMO + "prepare_batch"))
    rows[0]["flow_schedules"] = json.dumps([{"name": "nightly", "kind": "daily", "at_time": "03:00:00"}])
    before = snapshot()

    plan = plan_import(json.dumps(rows).encode(), "json")

    assert plan.is_valid, plan.issues
    (change,) = plan.flows
    assert change.status == "changed"
    assert change.tasks_added == ["extra"]
    assert change.tasks_removed == ["post_process"]
    assert change.tasks_changed == [("clean_data", ["retries"])]
    assert change.deps_added == [("clean_data", "extra")]
    assert change.deps_removed == [("post_process", "analyse_data")]
    assert change.schedules_changed == ["nightly"]
    assert change.schedules_removed == ["every5"]
    assert "  tasks changed: clean_data (retries)" in plan.summary()
    assert snapshot() == before  # a preview writes nothing

    apply_plan(plan)

    flow = Flow.objects.get(name="demo_daily_report")
    assert flow.version == before["demo_daily_report"][3] + 1
    assert flow.origin == Flow.Origin.IMPORT
    assert list(flow.schedules.values_list("name", "at_time")) == [("nightly", datetime.time(3, 0))]
    assert Task.objects.get(flow=flow, name="clean_data").retries == 4


@pytest.mark.django_db
def test_absent_flow_columns_keep_the_stored_settings():
    """A file without flow settings columns leaves the label, paused state and schedules alone."""
    flow = store_demo()
    flow.is_paused = True
    flow.save()
    rows = [
        {key: item[key] for key in REQUIRED_COLUMNS if key in item} for item in json.loads(export("json"))
    ]

    plan = import_file(json.dumps(rows).encode(), "json")

    assert plan.is_valid, plan.issues
    flow.refresh_from_db()
    assert flow.display_name == "Daily report (built in admin)"
    assert flow.is_paused is True
    assert flow.schedules.count() == 2


@pytest.mark.django_db
def test_xlsx_keeps_text_starting_with_equals_as_text():
    """A label like '=1+2' is exported as text (no formula) and comes back as written."""

    make_flow("f", [TaskSpec(name="a", verbose_name="=HYPERLINK(1)")])
    content = export("xlsx")
    Flow.objects.all().delete()
    assert import_file(content, "xlsx").is_valid
    assert Task.objects.get(name="a").verbose_name == "=HYPERLINK(1)"


@pytest.mark.django_db
def test_reordered_siblings_show_as_position_changes_and_are_written():

    make_flow("f", [TaskSpec(name="a"), TaskSpec(name="b"), TaskSpec(name="c")])
    rows = [
        task_row(task="a", function="", position=3),
        task_row(task="b", function="", position=1),
        task_row(task="c", function="", position=2),
    ]

    plan = import_file(rows_file(rows), "json")

    assert plan.flows[0].tasks_changed == [("b", ["position"]), ("c", ["position"]), ("a", ["position"])]
    assert [task.name for task in store.read_flow_spec(Flow.objects.get(name="f")).tasks] == ["b", "c", "a"]
    assert Flow.objects.get(name="f").version == 2
