"""``manage.py sync_flows``: registers every installed app's ``flows`` module."""

import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import modify_settings

from flowforge_admin.definitions import store
from flowforge_admin.models import Flow, Task

from .conftest import DEMO_FLOWS_MODULE

DEMO_FLOWS = [
    "demo_pipeline_simple",
    "demo_pipeline_simple_ml",
    "demo_pipeline_with_failure",
    "demo_model_release",
]
BROKEN_MODULE = "tests.brokenflows.flows"
BROKEN_FLOW = "pipeline_seed_example"


def versions():
    return dict(Flow.objects.values_list("name", "version"))


def listed(out):
    """Return the per-flow lines of the command's output (the summary line left out)."""
    return [line for line in out.splitlines() if not line.endswith(" unchanged.")]


def tree_rows():
    return sorted(
        Task.objects.values_list("flow__name", "name", "pk", "parent_id", "tree_id", "lft", "rght", "level")
    )


def test_first_sync_creates_the_demo_flows(sync_flows):
    """A fresh database gets the four demo flows at version 1, each reported as created."""
    out = sync_flows()

    assert versions() == dict.fromkeys(DEMO_FLOWS, 1)
    for name in DEMO_FLOWS:
        assert f"created {name} (version 1)" in out
    assert not any(line.startswith("changed") for line in listed(out))
    assert "4 flow(s) created or changed, 0 unchanged." in out


def test_demo_flows_are_stored_from_code(sync_flows):
    """The demo flows are marked as defined in code, with their tasks and dependencies."""
    sync_flows()

    simple = Flow.objects.get(name="demo_pipeline_simple")
    assert simple.origin == Flow.Origin.CODE
    assert simple.display_name == "Simple pipeline"
    clean = simple.tasks.get(name="clean_data")
    assert clean.function == "flowforge_admin.demo.tasks.clean_data"
    assert sorted(clean.depends_on.values_list("name", flat=True)) == ["fetch_data1", "fetch_data2"]
    assert simple.tasks.get(name="post_process").params == {"report_title": "Daily report"}
    flaky = Flow.objects.get(name="demo_pipeline_with_failure").tasks.get(name="flaky_step")
    assert (flaky.retries, flaky.retry_delay) == (2, 5)


def test_ml_flow_nests_training_in_a_group(sync_flows):
    """train_model is a group whose children are split_data and fit_linear_model, in that order."""
    sync_flows()

    flow = Flow.objects.get(name="demo_pipeline_simple_ml")
    train = flow.tasks.get(name="train_model")
    assert train.is_group is True
    assert [child.name for child in train.get_children()] == ["split_data", "fit_linear_model"]
    assert [task.name for task in train.get_descendants()] == ["split_data", "fit_linear_model"]
    assert train.parent is None
    fit = flow.tasks.get(name="fit_linear_model")
    assert list(fit.depends_on.values_list("name", flat=True)) == ["split_data"]
    assert fit.timeout == 60
    assert list(flow.tasks.get(name="evaluate_model").depends_on.values_list("name", flat=True)) == [
        "train_model"
    ]
    assert flow.params == {"n_points": 200}


def test_second_sync_changes_nothing(sync_flows):
    """Registering the same flows again reports nothing new and keeps versions, tasks and trees."""
    sync_flows()
    before_versions, before_trees = versions(), tree_rows()

    out = sync_flows()

    assert listed(out) == []
    assert "0 flow(s) created or changed, 4 unchanged." in out
    assert versions() == before_versions
    assert tree_rows() == before_trees


def test_second_sync_in_the_same_process_changes_nothing(sync_flows):
    """A second call in the same process (flows module already imported) reports nothing new."""
    sync_flows()
    before = versions()

    out = StringIO()
    call_command("sync_flows", stdout=out)

    assert listed(out.getvalue()) == []
    assert "0 flow(s) created or changed, 4 unchanged." in out.getvalue()
    assert versions() == before


def test_verbose_sync_lists_unchanged_flows(sync_flows):
    """With -v2 every unchanged flow is listed with its version."""
    sync_flows()

    out = sync_flows(verbosity=2)

    for name in DEMO_FLOWS:
        assert f"unchanged {name} (version 1)" in out


def test_unchanged_flows_are_not_listed_by_default(sync_flows):
    """At the default verbosity only created and changed flows are listed."""
    sync_flows()

    out = sync_flows()

    assert "unchanged demo_pipeline_simple" not in out


def test_sync_restores_a_flow_edited_in_admin(sync_flows):
    """A code flow edited elsewhere is put back by the code definition, with a new version."""
    sync_flows()
    flow = Flow.objects.get(name="demo_pipeline_simple")
    Task.objects.filter(flow=flow, name="clean_data").update(retries=5)
    assert store.sync_version(flow) is True
    assert flow.version == 2

    out = sync_flows()

    assert "changed demo_pipeline_simple (version 2 -> 3)" in out
    assert "1 flow(s) created or changed, 3 unchanged." in out
    assert Task.objects.get(flow=flow, name="clean_data").retries == 0
    assert versions() == {
        "demo_pipeline_simple": 3,
        "demo_pipeline_simple_ml": 1,
        "demo_pipeline_with_failure": 1,
        "demo_model_release": 1,
    }


@pytest.mark.parametrize("position", ["append", "prepend"])
def test_broken_flows_module_fails_and_others_are_synced(sync_flows, monkeypatch, position):
    """A flows module that fails is named in a CommandError with its error; other apps still sync."""
    monkeypatch.delitem(sys.modules, BROKEN_MODULE, raising=False)

    with (
        modify_settings(INSTALLED_APPS={position: "tests.brokenflows"}),
        pytest.raises(CommandError) as caught,
    ):
        sync_flows()

    message = str(caught.value)
    assert BROKEN_MODULE in message
    assert "clean_data" in message
    assert "fetch_data1" in message
    assert BROKEN_FLOW in message
    # The other apps' flows are created all the same, and the broken one is not.
    assert versions() == dict.fromkeys(DEMO_FLOWS, 1)
    assert not Flow.objects.filter(name=BROKEN_FLOW).exists()
    assert not Task.objects.filter(name="fetch_data2a").exists()


def test_broken_flows_module_output_still_reports_the_others(sync_flows, monkeypatch):
    """Before failing, the command prints what it created for the apps that synced."""
    monkeypatch.delitem(sys.modules, BROKEN_MODULE, raising=False)
    monkeypatch.delitem(sys.modules, DEMO_FLOWS_MODULE, raising=False)
    out = StringIO()

    with modify_settings(INSTALLED_APPS={"prepend": "tests.brokenflows"}), pytest.raises(CommandError):
        call_command("sync_flows", stdout=out)

    assert "created demo_pipeline_simple (version 1)" in out.getvalue()
    assert "4 flow(s) created or changed, 0 unchanged." in out.getvalue()


def test_flows_module_failing_in_any_way_is_reported(sync_flows, monkeypatch, tmp_path):
    """A flows module raising something other than a definition error is reported with its traceback."""
    package = tmp_path / "crashingflows"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "flows.py").write_text("raise RuntimeError('no network in flows module')\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    with (
        modify_settings(INSTALLED_APPS={"append": "crashingflows"}),
        pytest.raises(CommandError) as caught,
    ):
        sync_flows()

    assert "crashingflows.flows" in str(caught.value)
    assert "RuntimeError: no network in flows module" in str(caught.value)
    assert versions() == dict.fromkeys(DEMO_FLOWS, 1)


def test_two_flows_modules_registering_one_name_fail_naming_both(sync_flows, monkeypatch, tmp_path):
    """A host flow with a demo flow's name is refused (the first module keeps it): no overwrite at every sync."""
    package = tmp_path / "hostflows"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "flows.py").write_text(
        "from flowforge_admin.api import register_task_pipeline\n"
        "from flowforge_admin.demo import tasks\n"
        f"register_task_pipeline(flow_name={DEMO_FLOWS[0]!r}, pipeline={{'only': {{'function': tasks.fetch_data1}}}})\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))

    with modify_settings(INSTALLED_APPS={"append": "hostflows"}):
        for _ in range(2):
            monkeypatch.delitem(sys.modules, "hostflows.flows", raising=False)
            with pytest.raises(CommandError) as caught:
                sync_flows()

    message = str(caught.value)
    assert f"flow {DEMO_FLOWS[0]!r}, flow_name: is registered by two flows modules" in message
    assert f"{DEMO_FLOWS_MODULE} and hostflows.flows" in message
    # The demo's definition stays, at its first version, sync after sync.
    assert versions() == dict.fromkeys(DEMO_FLOWS, 1)
    assert not Task.objects.filter(name="only").exists()
