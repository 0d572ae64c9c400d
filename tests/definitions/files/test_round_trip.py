"""Flow definition files: every format, the round trip (demo, random flows, any text), bounded queries."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, assume, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from flowforge_admin.definitions import store
from flowforge_admin.definitions.files.export import flow_rows
from flowforge_admin.definitions.files.write import import_file
from flowforge_admin.definitions.rules import validate_flow
from flowforge_admin.definitions.spec import FlowSpec, TaskSpec
from flowforge_admin.models import Flow, FlowSchedule
from tests.conftest import DEMO, make_flow, task_row

from .conftest import FIXTURES, FORMATS, definitions, export, rows_file, same_file, snapshot, store_demo


@pytest.mark.django_db
@pytest.mark.parametrize("format_name", FORMATS)
def test_demo_round_trip(format_name):
    """Export -> empty database -> import -> export: same file, same definitions (schedules too)."""
    store_demo()
    Flow.objects.filter(name="demo_daily_report").update(is_paused=True)
    first = export(format_name)
    before = definitions()

    Flow.objects.all().delete()
    plan = import_file(first, format_name)

    assert plan.is_valid, plan.issues
    assert [change.status for change in plan.flows] == ["created"]
    assert definitions() == before
    assert same_file(format_name, export(format_name), first)


@pytest.mark.django_db
def test_a_schedule_s_catchup_is_in_the_file_and_a_file_without_it_means_off():
    """Files written before catch-up existed have no "catchup" key: their schedules import with it off."""
    store_demo()
    rows = json.loads(export("json"))
    schedules = json.loads(rows[0]["flow_schedules"])
    assert {item["name"]: item["catchup"] for item in schedules} == {"nightly": True, "every5": False}
    for item in schedules:
        del item["catchup"]
    rows[0]["flow_schedules"] = json.dumps(schedules)
    Flow.objects.all().delete()
    plan = import_file(json.dumps(rows).encode(), "json")
    assert plan.is_valid, plan.issues
    assert dict(FlowSchedule.objects.values_list("name", "catchup")) == {"nightly": False, "every5": False}


@pytest.mark.django_db
@pytest.mark.parametrize("format_name", ["yaml", "json"])
def test_fixture_files_hold_the_demo_flow(format_name):
    """fixtures/demo_flows.{yaml,json} import to the same demo_daily_report, and re-export to the same bytes."""
    content = (FIXTURES / f"demo_flows.{format_name}").read_bytes()

    plan = import_file(content, format_name)

    assert plan.is_valid, plan.issues
    spec = store.read_flow_spec(Flow.objects.get(name="demo_daily_report"))
    assert [task.name for task in spec.tasks] == [
        "fetch",
        "fetch_sales",
        "fetch_visitors",
        "clean_data",
        "analyse_data",
        "post_process",
    ]
    assert export(format_name) == content


@pytest.mark.django_db
@pytest.mark.parametrize("format_name", FORMATS)
def test_same_file_again_changes_nothing(format_name):
    """Importing what the database holds writes nothing: no new version, no touched row."""
    store_demo()
    content = export(format_name)
    before = snapshot()
    stamps = dict(Flow.objects.values_list("name", "updated_at"))

    plan = import_file(content, format_name)

    assert [change.status for change in plan.flows] == ["unchanged"]
    assert snapshot() == before
    assert dict(Flow.objects.values_list("name", "updated_at")) == stamps


@pytest.mark.django_db
def test_rows_in_any_order():
    """A parent or dependency may be defined further down; position orders the siblings."""
    rows = [
        task_row(task="c", parent="g", position=2, depends_on="b"),
        task_row(task="b", parent="g", position=1),
        task_row(task="d", depends_on="g", position=2),
        task_row(task="g", function="", position=1),
    ]

    plan = import_file(rows_file(rows), "json")

    assert plan.is_valid, plan.issues
    spec = store.read_flow_spec(Flow.objects.get(name="f"))
    assert [(task.name, task.parent) for task in spec.tasks] == [
        ("g", None),
        ("b", "g"),
        ("c", "g"),
        ("d", None),
    ]
    assert {task.name: task.depends_on for task in spec.tasks} == {"g": (), "b": (), "c": ("b",), "d": ("g",)}


@pytest.mark.django_db
def test_export_uses_a_bounded_number_of_queries():
    """Export costs the same queries for 10 or 200 tasks (per flow, not per task)."""
    from tests.conftest import chain_tasks

    make_flow("small", chain_tasks(10))
    with CaptureQueriesContext(connection) as small:
        export("json", Flow.objects.filter(name="small"))
    make_flow("large", chain_tasks(200))
    with CaptureQueriesContext(connection) as large:
        export("json", Flow.objects.filter(name="large"))
    assert len(large) == len(small)


@pytest.mark.django_db
def test_import_uses_a_bounded_number_of_queries():
    """Preview and write of 200 tasks cost about the queries of 10 (bulk, not per row)."""
    from tests.conftest import chain_tasks

    def content(count):
        spec = FlowSpec(name="f", tasks=tuple(chain_tasks(count)))
        rows = flow_rows(spec)
        return rows_file(rows)

    counts = []
    for count in (10, 200):
        Flow.objects.all().delete()
        with CaptureQueriesContext(connection) as queries:
            assert import_file(content(count), "json").is_valid
        counts.append(len(queries))
    # Bulk statements: SQLite splits a bulk insert into batches (its variable limit), so a few
    # more for 20 times the tasks, never one per row or per dependency.
    assert counts[1] - counts[0] <= 6, counts


@pytest.mark.django_db
@pytest.mark.parametrize("format_name", FORMATS)
def test_text_survives_every_format_exactly(format_name):
    """Line endings of admin text areas, control characters, spaces and Excel's own escapes."""

    description = "line one\r\nline two\rthree\n\ttab \x0b\x1f \x85\u2028 _x000D_ _x005F_x0041_ =1+2"
    make_flow(
        "f", [TaskSpec(name="a", verbose_name=" padded \x07")], description=description, display_name=" x "
    )
    content = export(format_name)
    Flow.objects.all().delete()

    assert import_file(content, format_name).is_valid
    flow = Flow.objects.get()
    assert flow.description == description
    assert flow.display_name == " x "
    assert flow.tasks.get().verbose_name == " padded \x07"


# ---------------------------------------------------------------- property: random DAGs with nested groups

NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True)
LABELS = st.text(
    alphabet=st.characters(
        codec="utf-8", categories=["L", "N", "P", "S", "Z", "Cc"], exclude_characters="\x00"
    ),
    max_size=12,
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | LABELS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(LABELS, children, max_size=3),
    max_leaves=6,
)
PARAMS = st.dictionaries(st.from_regex(r"[a-z_][a-z0-9_]{0,5}", fullmatch=True), JSON_VALUES, max_size=3)
FUNCTIONS = st.sampled_from(["", DEMO + "prepare_batch", DEMO + "clean_data", DEMO + "fetch_data1"])


@st.composite
def flow_specs(draw):
    """A valid flow: parents come earlier (a tree), dependencies kept only while the flow stays acyclic."""
    names = draw(st.lists(NAMES, min_size=0, max_size=10, unique=True))
    tasks = []
    for index, name in enumerate(names):
        parent = draw(st.none() | st.sampled_from(names[:index])) if index else None
        tasks.append(
            TaskSpec(
                name=name,
                parent=parent,
                function=draw(FUNCTIONS),
                verbose_name=draw(LABELS),
                params=draw(PARAMS),
                retries=draw(st.integers(0, 5)),
                retry_delay=draw(st.integers(0, 100)),
                timeout=draw(st.none() | st.integers(1, 3600)),
            )
        )
    spec = FlowSpec(
        name=draw(NAMES),
        tasks=tuple(tasks),
        display_name=draw(LABELS),
        description=draw(LABELS),
        params=draw(PARAMS),
    )
    spec = storage_order(spec)
    for index, task in enumerate(spec.tasks):
        for upstream in draw(st.lists(st.sampled_from(names), max_size=3, unique=True)) if names else []:
            candidate = spec.replace_task(task.name, _with_dependency(spec.tasks[index], upstream))
            if not validate_flow(candidate, lambda path: None):
                spec = candidate
    return spec


def storage_order(spec):
    from flowforge_admin.definitions.spec import preorder

    return FlowSpec(
        name=spec.name,
        tasks=tuple(preorder(list(spec.tasks))),
        display_name=spec.display_name,
        description=spec.description,
        params=spec.params,
    )


def _with_dependency(task, upstream):
    return TaskSpec(**{**task.__dict__, "depends_on": (*task.depends_on, upstream)})


SCHEDULES = st.lists(
    st.builds(
        dict,
        name=NAMES,
        kind=st.just("daily"),
        at_time=st.times().map(lambda value: value.replace(microsecond=0)),
        params=PARAMS,
        is_paused=st.booleans(),
        catchup=st.booleans(),
    ),
    max_size=2,
    unique_by=lambda item: item["name"],
)


def store_flow(spec, paused, schedules):
    flow, _ = store.write_flow(spec, origin=Flow.Origin.ADMIN)
    if paused:
        flow.is_paused = True
        flow.save()
    for item in schedules:
        FlowSchedule.objects.create(flow=flow, **item)


@pytest.mark.django_db
@pytest.mark.parametrize("format_name", FORMATS)
@hypothesis_settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(specs=st.lists(flow_specs(), min_size=1, max_size=2, unique_by=lambda spec: spec.name), data=st.data())
def test_round_trip_of_random_flows(format_name, specs, data):
    """Any valid flows survive export -> empty database -> import -> export, exactly."""
    Flow.objects.all().delete()
    for spec in specs:
        assume(not validate_flow(spec, lambda path: None))
        store_flow(spec, data.draw(st.booleans()), data.draw(SCHEDULES))
    first = export(format_name)
    before = definitions()

    Flow.objects.all().delete()
    plan = import_file(first, format_name)

    assert plan.is_valid, [str(issue) for issue in plan.issues]
    assert definitions() == before
    assert same_file(format_name, export(format_name), first)
    # Once more: the same file now changes nothing.
    assert {change.status for change in import_file(first, format_name).flows} == {"unchanged"}
