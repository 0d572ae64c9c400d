"""The flow admin: the list, the change page with its task tree, and the flow form."""

import json
import re
from dataclasses import replace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.timezone import localtime

from flowforge_admin import api
from flowforge_admin.definitions.spec import TaskSpec
from flowforge_admin.models import Flow, FlowRun
from tests.conftest import chain_tasks, make_flow


def changelist_url():
    return reverse("admin:flowforge_admin_flow_changelist")


def add_url():
    return reverse("admin:flowforge_admin_flow_add")


def change_url(flow):
    return reverse("admin:flowforge_admin_flow_change", args=[flow.pk])


def count_queries(client, url):
    """Return ``(response, number of queries)`` of a GET of ``url``.

    A first GET warms the caches that outlive a request (content types,
    templates), so that only the page's own queries are counted.
    """
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return response, len(queries)


def nested_chain(count, group_size=10, groups_per_stage=5):
    """Return ``count`` chained leaf tasks nested two levels deep, parents first.

    Stages ``s0, s1, ...`` hold groups ``g0, g1, ...``, which hold
    ``group_size`` leaves each; every leaf depends on the one before.
    """
    tasks = []
    for i, leaf in enumerate(chain_tasks(count)):
        group_index, leaf_index = divmod(i, group_size)
        if leaf_index == 0:
            stage_index, group_in_stage = divmod(group_index, groups_per_stage)
            if group_in_stage == 0:
                stage = f"s{stage_index}"
                tasks.append(TaskSpec(name=stage))
            group = f"g{group_index}"
            tasks.append(TaskSpec(name=group, parent=stage))
        tasks.append(replace(leaf, parent=group))
    return tasks


def task_tree_links(response):
    """Return ``[(task pk, task name), ...]`` as linked in the change page's task tree."""
    content = response.content.decode()
    start = content.index('class="module ff-task-tree"')
    section = content[start : content.index("</fieldset>", start)]
    return [
        (int(pk), name)
        for pk, name in re.findall(
            r'<a href="/admin/flowforge_admin/task/(\d+)/change/">([^<]*)</a>', section
        )
    ]


def flow_form_data(flow=None, **fields):
    """Return the POST data of the flow form: ``flow``'s current values, or a new flow's."""
    data = {
        "name": flow.name if flow else "etl",
        "display_name": flow.display_name if flow else "",
        "description": flow.description if flow else "",
        "params": json.dumps(flow.params if flow else {}),
        "params_schema": json.dumps(flow.params_schema) if flow and flow.params_schema else "",
    }
    if flow and flow.is_paused:
        data["is_paused"] = "on"
    data.update(ALERTS_INLINE)
    data.update(fields)
    return data


# The management form of the page's "Alerts" inline, with no alert.
ALERTS_INLINE = {
    "alerts-TOTAL_FORMS": "0",
    "alerts-INITIAL_FORMS": "0",
    "alerts-MIN_NUM_FORMS": "0",
    "alerts-MAX_NUM_FORMS": "1000",
}


def form_errors(response):
    """Return the admin form's errors as ``{field: [message, ...]}``."""
    assert response.status_code == 200, "the form was accepted"
    return {field: list(messages) for field, messages in response.context["adminform"].form.errors.items()}


@pytest.fixture
def etl(db):
    """A small flow with one group, default parameters and a parameters schema."""
    return make_flow(
        "etl",
        [
            *chain_tasks(2),
            TaskSpec(name="stage", depends_on=("t1",)),
            *[replace(task, parent="stage") for task in chain_tasks(2, prefix="stage_")],
        ],
        display_name="ETL",
        params={"batch_size": 10},
        params_schema={"type": "object", "properties": {"batch_size": {"type": "integer"}}},
    )


# The list ------------------------------------------------------------------


def test_changelist_queries_do_not_grow_with_the_number_of_flows(editor_client):
    """Showing all 200 flows takes as many queries as showing 20."""
    for i in range(20):
        make_flow(f"flow{i:03}", chain_tasks(3))
    url = changelist_url() + "?all="
    small, small_queries = count_queries(editor_client, url)
    assert len(small.context["cl"].result_list) == 20

    for i in range(20, 200):
        make_flow(f"flow{i:03}", chain_tasks(3))
    large, large_queries = count_queries(editor_client, url)
    assert len(large.context["cl"].result_list) == 200

    assert large_queries == small_queries


def test_changelist_shows_each_flows_task_count(editor_client):
    """The tasks column counts every task of the flow, groups and nested tasks included."""
    nested = make_flow("nested", nested_chain(20))  # 20 leaves, 2 groups, 1 stage
    make_flow("flat", chain_tasks(4))
    make_flow("empty")

    response = editor_client.get(changelist_url())

    content = response.content.decode()
    for flow, count in [
        (nested, 23),
        (Flow.objects.get(name="flat"), 4),
        (Flow.objects.get(name="empty"), 0),
    ]:
        row = re.search(rf'<tr>(?:(?!</tr>).)*href="{change_url(flow)}"(?:(?!</tr>).)*</tr>', content, re.S)
        assert row, f"no row for {flow.name}"
        assert f'<td class="field-task_count">{count}</td>' in row.group(0)


def launch(flow, status):
    """Launch a run of ``flow`` (nothing executes here) and give it ``status``."""
    run = api.launch_flow(flow)
    FlowRun.objects.filter(pk=run.pk).update(status=status)
    return run


def row_of(content, flow):
    row = re.search(rf'<tr>(?:(?!</tr>).)*href="{change_url(flow)}"(?:(?!</tr>).)*</tr>', content, re.S)
    assert row, f"no row for {flow.name}"
    return row.group(0)


def test_changelist_queries_for_last_runs_do_not_grow_with_the_number_of_flows(editor_client):
    """The last-run column comes with the flows' own query: 30 flows with runs cost what 3 do."""
    for i in range(3):
        flow = make_flow(f"flow{i:03}", chain_tasks(2))
        launch(flow, "succeeded")
        launch(flow, "failed")
    url = changelist_url() + "?all="
    _, small_queries = count_queries(editor_client, url)

    for i in range(3, 30):
        flow = make_flow(f"flow{i:03}", chain_tasks(2))
        launch(flow, "running")
    large, large_queries = count_queries(editor_client, url)

    assert large.text.count('class="ff-last-run"') == 30
    assert large_queries == small_queries


def test_changelist_shows_each_flows_newest_run_and_its_time(editor_client):
    """The newest run's status badge links to its page; a flow never run shows a dash."""
    ran = make_flow("ran", chain_tasks(1))
    launch(ran, "failed")
    newest = launch(ran, "succeeded")
    make_flow("never", chain_tasks(1))

    content = editor_client.get(changelist_url()).text

    cell = re.search(r'<td class="field-last_run">(.*?)</td>', row_of(content, ran), re.S).group(1)
    run_url = reverse("admin:flowforge_admin_flowrun_change", args=[newest.pk])
    assert (
        f'<a href="{run_url}" class="ff-last-run"><span class="ff-status ff-status-succeeded">succeeded</span></a>'
        in cell
    )
    when = localtime(FlowRun.objects.get(pk=newest.pk).created_at)
    assert (
        f'<time datetime="{when.isoformat()}" class="ff-muted"><span class="ff-unbroken">{when:%Y-%m-%d}</span>'
        f' <span class="ff-unbroken">{when:%H:%M}</span></time>'
    ) in cell
    assert '<td class="field-last_run">—</td>' in row_of(content, Flow.objects.get(name="never"))


def test_changelist_sorts_by_last_run_time(editor_client):
    """Sorting on the column orders flows by when their newest run was launched."""
    first, second, third = (make_flow(name, chain_tasks(1)) for name in ("a_first", "b_second", "c_third"))
    launch(third, "succeeded")
    launch(first, "succeeded")
    launch(second, "succeeded")
    column = editor_client.get(changelist_url()).context["cl"].list_display.index("last_run")

    ascending = editor_client.get(f"{changelist_url()}?o={column}").context["cl"].result_list
    descending = editor_client.get(f"{changelist_url()}?o=-{column}").context["cl"].result_list

    assert [flow.name for flow in ascending] == ["c_third", "a_first", "b_second"]
    assert [flow.name for flow in descending] == ["b_second", "a_first", "c_third"]


# The change page and its task tree ------------------------------------------


def test_change_page_queries_do_not_grow_with_the_number_of_tasks(editor_client):
    """The change page of a 500-task flow takes as many queries as that of a 50-task flow."""
    small = make_flow("small", nested_chain(50))
    large = make_flow("large", nested_chain(500))

    _, small_queries = count_queries(editor_client, change_url(small))
    response, large_queries = count_queries(editor_client, change_url(large))

    assert len(task_tree_links(response)) == large.tasks.count()
    assert large_queries == small_queries


def test_change_page_lists_tasks_in_tree_order_with_links(editor_client):
    """Each task appears once, parents before children in sibling order, linked to its change page."""
    spec = nested_chain(30, group_size=5, groups_per_stage=3)
    flow = make_flow("nested", spec)
    pks = dict(flow.tasks.values_list("name", "pk"))

    response = editor_client.get(change_url(flow))

    expected = [(pks[task.name], task.name) for task in spec]
    assert expected[:3] == [(pks["s0"], "s0"), (pks["g0"], "g0"), (pks["t0"], "t0")]
    assert task_tree_links(response) == expected
    link = reverse("admin:flowforge_admin_task_change", args=[pks["t7"]])
    assert editor_client.get(link).status_code == 200


def test_change_page_of_a_flow_without_tasks_says_so(editor_client):
    """A flow with no tasks shows a note and a link to add the first one."""
    flow = make_flow("empty")

    response = editor_client.get(change_url(flow))

    assert "This flow has no tasks yet." in response.content.decode()
    assert f"{reverse('admin:flowforge_admin_task_add')}?flow={flow.pk}" in response.content.decode()


# The flow form ----------------------------------------------------------------


def test_add_flow_with_an_invalid_name_shows_the_validation_message(editor_client):
    """A name with a space or '!' is refused with the validation module's words; no flow is made."""
    response = editor_client.post(add_url(), flow_form_data(name="bad name!"))

    assert form_errors(response) == {
        "name": ["'bad name!' may contain only letters, digits, '_' and '-' and may not start with '-'"]
    }
    assert not Flow.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "params_schema",
            {"type": "nope"},
            "is not a valid JSON Schema: 'nope' is not valid under any of the given schemas",
        ),
        ("params_schema", ["not", "an", "object"], "must be a JSON Schema object"),
        ("params", {"not a name": 1}, "parameter names must be Python identifiers: 'not a name' is not"),
        ("params", [1, 2], "must be a JSON object (a dict of name: value), not list"),
    ],
)
def test_add_flow_with_invalid_parameters_shows_the_validation_message(editor_client, field, value, message):
    """Bad default parameters or a bad JSON Schema are refused with the validation message."""
    response = editor_client.post(add_url(), flow_form_data(**{field: json.dumps(value)}))

    assert form_errors(response) == {field: [message]}
    assert not Flow.objects.exists()


def test_add_flow_creates_it_as_an_admin_flow(editor_client):
    """A valid form creates the flow, defined in the admin, and goes back to the list."""
    response = editor_client.post(
        add_url(), flow_form_data(display_name="ETL", params=json.dumps({"batch_size": 3}))
    )

    assert response.status_code == 302
    flow = Flow.objects.get(name="etl")
    assert (flow.display_name, flow.params, flow.origin) == ("ETL", {"batch_size": 3}, Flow.Origin.ADMIN)


def test_add_flow_starts_at_version_1(editor_client):
    """A flow added in the admin starts at version 1, like a registered or imported one."""
    editor_client.post(add_url(), flow_form_data())

    assert Flow.objects.get(name="etl").version == 1


def test_change_flow_with_an_invalid_schema_changes_nothing(editor_client, etl):
    """A refused edit leaves the stored flow and its version as they were."""
    response = editor_client.post(
        change_url(etl), flow_form_data(etl, display_name="New", params_schema=json.dumps({"type": "nope"}))
    )

    assert list(form_errors(response)) == ["params_schema"]
    stored = Flow.objects.get(pk=etl.pk)
    assert (stored.display_name, stored.params_schema, stored.version) == ("ETL", etl.params_schema, 1)


@pytest.mark.parametrize(
    "fields",
    [
        {"display_name": "Extract, transform, load"},
        {"description": "Nightly load of the warehouse."},
        {"is_paused": "on"},
        {},  # saved again unchanged
    ],
)
def test_change_flow_labels_keeps_the_version(editor_client, etl, fields):
    """Labels and the paused flag are not definition: saving them keeps the version."""
    response = editor_client.post(change_url(etl), flow_form_data(etl, **fields))

    assert response.status_code == 302
    stored = Flow.objects.get(pk=etl.pk)
    assert stored.version == 1
    for name, value in fields.items():
        assert getattr(stored, name) == (True if value == "on" else value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("params", {"batch_size": 5}),
        ("params", {}),
        ("params_schema", {"type": "object"}),
    ],
)
def test_change_flow_parameters_raises_the_version_by_one(editor_client, etl, field, value):
    """Default parameters and their schema are definition: changing them raises the version by 1."""
    response = editor_client.post(change_url(etl), flow_form_data(etl, **{field: json.dumps(value)}))

    assert response.status_code == 302
    stored = Flow.objects.get(pk=etl.pk)
    assert getattr(stored, field) == value
    assert stored.version == 2

    editor_client.post(change_url(etl), flow_form_data(stored))
    assert Flow.objects.get(pk=etl.pk).version == 2, "saving the same definition again keeps the version"


# Permissions ------------------------------------------------------------------


@pytest.mark.parametrize("role_client", ["stakeholder_client", "operator_client"])
def test_viewers_can_see_flows_but_not_change_them(request, etl, role_client):
    """Stakeholders and operators see the list and the change page; adding and changing are refused."""
    client = request.getfixturevalue(role_client)

    assert client.get(changelist_url()).status_code == 200
    response = client.get(change_url(etl))
    assert response.status_code == 200
    assert [name for _, name in task_tree_links(response)] == ["t0", "t1", "stage", "stage_0", "stage_1"]

    response = client.post(change_url(etl), flow_form_data(etl, display_name="Hacked", params="{}"))
    assert response.status_code == 403
    stored = Flow.objects.get(pk=etl.pk)
    assert (stored.display_name, stored.params, stored.version) == ("ETL", {"batch_size": 10}, 1)

    assert client.post(add_url(), flow_form_data(name="other")).status_code == 403
    assert not Flow.objects.filter(name="other").exists()


def test_editor_can_add_and_change_flows(editor_client, etl):
    """Editors may add flows and change them."""
    assert editor_client.get(add_url()).status_code == 200
    assert editor_client.post(add_url(), flow_form_data(name="other")).status_code == 302
    assert editor_client.post(change_url(etl), flow_form_data(etl, display_name="New")).status_code == 302
    assert Flow.objects.get(pk=etl.pk).display_name == "New"
    assert Flow.objects.filter(name="other").exists()


@pytest.mark.parametrize("url_name", ["changelist", "change", "add"])
def test_anonymous_users_are_sent_to_the_login_page(client, etl, url_name):
    """Without a login every flow page redirects to the admin login."""
    url = {"changelist": changelist_url(), "change": change_url(etl), "add": add_url()}[url_name]

    response = client.get(url)

    assert response.status_code == 302
    assert response.url == f"{reverse('admin:login')}?next={url}"


def test_change_page_warns_that_code_flows_are_replaced_on_sync(editor_client, etl):
    """A flow defined in code says so on its page; a flow made in the admin does not."""
    assert (
        "the next <code>manage.py sync_flows</code> replaces" not in editor_client.get(change_url(etl)).text
    )
    Flow.objects.filter(pk=etl.pk).update(origin=Flow.Origin.CODE)
    assert "the next <code>manage.py sync_flows</code> replaces" in editor_client.get(change_url(etl)).text
