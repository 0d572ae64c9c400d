"""Coming from django-flow-forge: its keys are refused with a pointer to the guide, and the guide's port runs."""

import importlib
import re
import sys
from pathlib import Path

import pytest
from django.conf import settings
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from flowforge_admin.api import register_task_pipeline, run_flow
from flowforge_admin.definitions.spec import MIGRATION_GUIDE, PIPELINE_TASK_KEYS, PREDECESSOR_TASK_KEYS
from flowforge_admin.exceptions import FlowDefinitionError
from flowforge_admin.models import Flow, Task, TaskFunction

from . import flow_functions as fn

pytestmark = pytest.mark.django_db

GUIDE = Path(settings.BASE_DIR) / MIGRATION_GUIDE
KNOWN_KEYS = ", ".join(sorted(PIPELINE_TASK_KEYS))
# Keys a later release might add: not here, so unknown today.
LATER_KEYS = ["skip_if"]


def nested_pipeline(**extra):
    """The predecessor's pipeline_with_nested_tasks, with ``extra`` keys on its first nested task."""
    return {
        "fetch_data": {
            "function": fn.fetch_data1,
            "depends_on": [],
            "nested_tasks": {
                "fetch_metadata": {"function": fn.split, "depends_on": [], **extra},
                "fetch_tiktok_data": {"function": fn.fit, "depends_on": ["fetch_metadata"]},
            },
        },
        "clean_data": {"function": fn.clean_data, "depends_on": ["fetch_data"]},
    }


def refusal(pipeline):
    """Register ``pipeline``; return the FlowDefinitionError, after checking nothing was written."""
    with pytest.raises(FlowDefinitionError) as raised:
        register_task_pipeline(flow_name="pipeline_with_nested_tasks", pipeline=pipeline)
    assert not Flow.objects.exists()
    assert not Task.objects.exists()
    assert not TaskFunction.objects.exists()
    return raised.value


@pytest.mark.parametrize("key", sorted(PREDECESSOR_TASK_KEYS))
def test_predecessor_key_is_refused_naming_flow_task_key_and_guide(key):
    error = refusal(nested_pipeline(**{key: ["fetch_data"]}))
    assert [(p.task, p.field, p.code) for p in error.problems] == [("fetch_metadata", key, "predecessor_key")]
    assert str(error) == (
        f"flow 'pipeline_with_nested_tasks', task 'fetch_metadata', {key}: "
        f"a django-flow-forge key that Flow Forge does not have: {PREDECESSOR_TASK_KEYS[key]} "
        "(see docs/migrating-from-django-flow-forge.md)"
    )


def test_predecessor_key_on_top_level_task_is_refused_too():
    pipeline = nested_pipeline()
    pipeline["clean_data"]["depends_bidirectionally_with"] = ["fetch_data"]
    error = refusal(pipeline)
    assert "task 'clean_data', depends_bidirectionally_with: a django-flow-forge key" in str(error)


@pytest.mark.parametrize("key", ["depend_on", *LATER_KEYS])
def test_unknown_key_is_refused_with_the_known_keys(key):
    error = refusal(nested_pipeline(**{key: 1}))
    assert [(p.task, p.field, p.code) for p in error.problems] == [("fetch_metadata", key, "unknown_key")]
    assert f"task 'fetch_metadata', {key}: unknown key; expected one of {KNOWN_KEYS}" in str(error)
    assert MIGRATION_GUIDE not in str(error)


def test_a_typo_gets_a_suggestion():
    error = refusal(nested_pipeline(depend_on=[]))
    assert str(error).endswith("(did you mean 'depends_on'?)")


def test_every_bad_key_of_a_task_is_reported():
    error = refusal(nested_pipeline(depends_bidirectionally_with=[], retires=2, skip_if="x", **{"7": 1}))
    assert sorted((p.field, p.code) for p in error.problems) == [
        ("7", "unknown_key"),
        ("depends_bidirectionally_with", "predecessor_key"),
        ("retires", "unknown_key"),
        ("skip_if", "unknown_key"),
    ]


def test_a_key_that_is_not_text_is_reported_not_a_crash():
    pipeline = nested_pipeline()
    pipeline["clean_data"][3] = "x"
    pipeline["clean_data"]["sensor"] = "x"
    error = refusal(pipeline)
    assert sorted(p.field for p in error.problems) == ["3", "sensor"]


@hypothesis_settings(max_examples=40, deadline=None)
@given(key=st.text(min_size=1, max_size=30).filter(lambda key: key not in PIPELINE_TASK_KEYS))
def test_any_key_but_the_known_ones_is_refused_by_name(key):
    with pytest.raises(FlowDefinitionError) as raised:
        register_task_pipeline("flow", {"a": {"function": fn.fit, key: None}})
    assert [(p.task, p.field) for p in raised.value.problems] == [("a", key)]
    assert not Flow.objects.exists()


# The guide ---------------------------------------------------------------------------


def guide_text():
    return GUIDE.read_text(encoding="utf-8")


def test_guide_names_every_refused_key():
    """The refusal points to the guide: it must exist and explain each key refused that way."""
    text = guide_text()
    missing = [key for key in PREDECESSOR_TASK_KEYS if f"`{key}`" not in text]
    assert missing == []


def test_guide_quotes_the_refusal_as_registration_words_it():
    error = refusal(nested_pipeline(depends_bidirectionally_with=["fetch_data"]))
    assert f"\n{error}\n" in guide_text()


def test_guide_lists_the_task_keys_there_are():
    text = guide_text()
    assert [key for key in sorted(PIPELINE_TASK_KEYS) if f"`{key}`" not in text] == []


def guide_module(name):
    """The guide's code block that starts with ``# myapp/<name>.py``."""
    blocks = re.findall(r"```python\n(# myapp/(\w+)\.py\n.*?)```", guide_text(), flags=re.DOTALL)
    return {module: code for code, module in blocks}[name]


@pytest.fixture
def myapp(tmp_path, monkeypatch):
    """The guide's ported example as an importable package ``myapp``."""
    package = tmp_path / "myapp"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name in ("tasks", "flows"):
        (package / f"{name}.py").write_text(guide_module(name))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    for name in ("myapp.flows", "myapp.tasks", "myapp"):
        sys.modules.pop(name, None)


@pytest.mark.usefixtures("myapp")
def test_guide_port_registers_and_runs_its_nested_tasks_first():
    """The guide's "after" code, as written: the nested tasks run, then their group's function."""
    importlib.import_module("myapp.flows")
    run = run_flow("pipeline_with_nested_tasks", {"batch": 7})
    assert run.status == "succeeded"
    runs = {task_run.task_name: task_run for task_run in run.task_runs.all()}
    # Each output is made from its upstream's, so each task ran after what it waited for.
    assert runs["fetch_tiktok_data"].output == {"rows": 3, "fields": ["views", "likes"]}
    assert runs["fetch_data"].output == {"tiktok_rows": 3}
    assert runs["clean_data"].output == {"clean_rows": 3}
    assert runs["post_process_function"].output == "A great result!"
    log = runs["post_process_function"].logs.get().message
    assert log == f"post-processing run {run.pk} with {{'batch': 7}}"
