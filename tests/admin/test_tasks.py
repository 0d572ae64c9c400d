"""The task admin: the tree list, the task form, drag and drop, deletes and permissions.

Most tests use the flow ``etl`` (see the fixture) and a second flow ``other``
whose tasks must never mix with it::

    extract                  prepare_batch
    stage    (group)         depends on extract
      clean                  prepare_batch
      enrich                 prepare_batch, depends on clean
    load                     send_report, depends on stage
    report                   send_report
"""

import inspect
import json
from dataclasses import replace

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from flowforge_admin.definitions import store
from flowforge_admin.definitions.spec import TaskSpec
from flowforge_admin.demo import tasks as demo_tasks
from flowforge_admin.models import Flow, Task
from tests.conftest import DEMO, chain_tasks, make_flow


def changelist_url():
    return reverse("admin:flowforge_admin_task_changelist")


def add_url():
    return reverse("admin:flowforge_admin_task_add")


def change_url(task):
    return reverse("admin:flowforge_admin_task_change", args=[task.pk])


def delete_url(task):
    return reverse("admin:flowforge_admin_task_delete", args=[task.pk])


def task(flow, name):
    return Task.objects.get(flow=flow, name=name)


def definition(flow):
    """Return what an edit may change: the stored definition's hash, the version, the task ids."""
    flow.refresh_from_db()
    return (
        store.read_flow_spec(flow).signature(),
        flow.version,
        sorted(flow.tasks.values_list("pk", flat=True)),
    )


def children(flow, name):
    return list(task(flow, name).get_children().values_list("name", flat=True))


def dependencies(flow, name):
    return sorted(task(flow, name).depends_on.values_list("name", flat=True))


def task_form_data(flow=None, *, parent=None, depends_on=(), **fields):
    """Return the POST data of the task form; ``parent`` and ``depends_on`` are Tasks."""
    data = {
        "flow": flow.pk if flow else "",
        "parent": parent.pk if parent else "",
        "name": "new_task",
        "verbose_name": "",
        "function": DEMO + "prepare_batch",
        "params": "{}",
        "retries": 0,
        "retry_delay": 0,
        "timeout": "",
        "pool": "",
        "pool_slots": 1,
        "depends_on": [dep.pk for dep in depends_on],
    }
    data.update(fields)
    return data


def edit_data(task, **changes):
    """Return the POST data of ``task``'s change form, with ``changes`` applied."""
    data = task_form_data(
        task.flow,
        parent=changes.pop("parent", task.parent),
        depends_on=changes.pop("depends_on", task.depends_on.all()),
        name=task.name,
        verbose_name=task.verbose_name,
        function=task.function,
        params=json.dumps(task.params),
        retries=task.retries,
        retry_delay=task.retry_delay,
        timeout=task.timeout or "",
    )
    data.update(changes)
    return data


def form_errors(response):
    """Return the admin form's errors as ``{field: [message, ...]}``."""
    assert response.status_code == 200, "the form was accepted"
    return {field: list(messages) for field, messages in response.context["adminform"].form.errors.items()}


def move(client, cut_item, pasted_on, position):
    """Drag ``cut_item`` onto ``pasted_on`` as the draggable tree list does."""
    return client.post(
        changelist_url(),
        {"cmd": "move_node", "position": position, "cut_item": cut_item.pk, "pasted_on": pasted_on.pk},
    )


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def nested_chain(count, group_size=10):
    """Return ``count`` chained leaves in groups of ``group_size``, each group depending on the one before."""
    tasks = []
    for i, leaf in enumerate(chain_tasks(count)):
        group_index, leaf_index = divmod(i, group_size)
        if leaf_index == 0:
            group = f"g{group_index}"
            tasks.append(TaskSpec(name=group, depends_on=(f"g{group_index - 1}",) if group_index else ()))
        tasks.append(replace(leaf, parent=group))
    return tasks


@pytest.fixture
def etl(db):
    return make_flow(
        "etl",
        [
            TaskSpec(name="extract", function=DEMO + "prepare_batch"),
            TaskSpec(name="stage", depends_on=("extract",)),
            TaskSpec(name="clean", parent="stage", function=DEMO + "prepare_batch"),
            TaskSpec(name="enrich", parent="stage", function=DEMO + "prepare_batch", depends_on=("clean",)),
            TaskSpec(name="load", function=DEMO + "send_report", depends_on=("stage",)),
            TaskSpec(name="report", function=DEMO + "send_report"),
        ],
    )


@pytest.fixture
def other(db):
    return make_flow(
        "other",
        [
            TaskSpec(name="solo", function=DEMO + "prepare_batch"),
            TaskSpec(name="box"),
            TaskSpec(name="inside", parent="box", function=DEMO + "prepare_batch"),
        ],
    )


# The tree list -------------------------------------------------------------------


def test_changelist_filtered_by_flow_queries_do_not_grow_with_its_tasks(editor_client):
    """The tree list of a 500-task flow takes as many queries as that of a 50-task flow."""
    small = make_flow("small", nested_chain(50))
    large = make_flow("large", nested_chain(500))

    def get(flow):
        url = f"{changelist_url()}?flow__id__exact={flow.pk}"
        editor_client.get(url)  # warms caches that outlive a request
        with CaptureQueriesContext(connection) as queries:
            response = editor_client.get(url)
        assert response.status_code == 200
        return response, len(queries)

    _, small_queries = get(small)
    response, large_queries = get(large)

    shown = response.context["cl"].result_list
    assert len(shown) == 550  # 500 leaves and 50 groups, all on one page
    assert {row.flow_id for row in shown} == {large.pk}
    assert large_queries == small_queries


def test_changelist_shows_tasks_in_tree_order_with_their_dependencies(editor_client, etl, other):
    """Filtered by flow, the list holds that flow's tasks in tree order and names their dependencies."""
    response = editor_client.get(f"{changelist_url()}?flow__id__exact={etl.pk}")

    rows = response.context["cl"].result_list
    assert [row.name for row in rows] == ["extract", "stage", "clean", "enrich", "load", "report"]
    assert '<td class="field-dependency_names">stage</td>' in response.content.decode()


# Adding a task ---------------------------------------------------------------------


def test_add_task_into_a_group(editor_client, etl):
    """A new task lands in its flow and group, with its dependencies, function texts and a new version."""
    response = editor_client.post(
        add_url(),
        task_form_data(
            etl,
            parent=task(etl, "stage"),
            depends_on=[task(etl, "enrich")],
            name="publish",
            verbose_name="Publish the batch",
            params=json.dumps({"batch_size": 3}),
            retries=2,
            timeout=30,
        ),
    )

    assert response.status_code == 302
    new = task(etl, "publish")
    assert new.parent == task(etl, "stage")
    assert children(etl, "stage") == ["clean", "enrich", "publish"]
    assert dependencies(etl, "publish") == ["enrich"]
    assert (new.verbose_name, new.params, new.retries, new.timeout) == (
        "Publish the batch",
        {"batch_size": 3},
        2,
        30,
    )
    assert new.function == DEMO + "prepare_batch"
    assert new.docstring == inspect.getdoc(demo_tasks.prepare_batch)
    assert new.source == inspect.getsource(demo_tasks.prepare_batch)
    etl.refresh_from_db()
    assert etl.version == 2


def test_add_page_with_a_flow_offers_only_that_flows_tasks(editor_client, etl, other):
    """Opened from a flow (?flow=), the page preselects it and offers only its tasks as parent and dependencies."""
    response = editor_client.get(f"{add_url()}?flow={etl.pk}")

    form = response.context["adminform"].form
    assert str(form["flow"].value()) == str(etl.pk)
    for field in ("parent", "depends_on"):
        assert set(form.fields[field].queryset) == set(etl.tasks.all())


def test_add_task_with_a_function_that_is_not_offered_is_refused(editor_client, etl):
    """A dotted path outside the choices (os.system) is refused before anything is imported or stored."""
    before = definition(etl)

    response = editor_client.post(add_url(), task_form_data(etl, function="os.system"))

    assert form_errors(response) == {
        "function": ["Select a valid choice. os.system is not one of the available choices."]
    }
    assert definition(etl) == before


def test_add_empty_group_then_its_child(editor_client, etl):
    """An editor builds a group first (no function, no children yet), then nests a task in it."""
    response = editor_client.post(add_url(), task_form_data(etl, name="box", function=""))
    assert response.status_code == 302
    box = task(etl, "box")
    assert (box.function, box.is_leaf_node()) == ("", True)

    response = editor_client.post(add_url(), task_form_data(etl, name="inner", parent=box))
    assert response.status_code == 302
    assert children(etl, "box") == ["inner"]
    etl.refresh_from_db()
    assert etl.version == 3


def test_add_task_with_a_duplicate_name_is_refused(editor_client, etl):
    """A second task of the same name in a flow is refused with the validation message."""
    before = definition(etl)

    response = editor_client.post(add_url(), task_form_data(etl, name="clean"))

    assert form_errors(response)["name"] == ["'clean' is used by more than one task"]
    assert definition(etl) == before


def test_add_task_with_the_name_of_another_flows_task(editor_client, etl, other):
    """Names are unique per flow: another flow's task name is fine."""
    response = editor_client.post(add_url(), task_form_data(etl, name="solo"))

    assert response.status_code == 302
    assert task(etl, "solo").flow == etl


# Changing a task: the refusals --------------------------------------------------------


def test_rename_to_a_name_in_use_is_refused(editor_client, etl):
    """Renaming a task to the name of another task of its flow is refused."""
    report = task(etl, "report")
    before = definition(etl)

    response = editor_client.post(change_url(report), edit_data(report, name="extract"))

    assert form_errors(response)["name"] == ["'extract' is used by more than one task"]
    assert definition(etl) == before


def test_dependency_making_a_cycle_is_refused(editor_client, etl):
    """A dependency that closes a loop is refused with the path of the cycle."""
    extract = task(etl, "extract")
    before = definition(etl)

    response = editor_client.post(change_url(extract), edit_data(extract, depends_on=[task(etl, "load")]))

    assert form_errors(response) == {"depends_on": ["cycle: extract -> stage -> load -> extract"]}
    assert definition(etl) == before
    assert dependencies(etl, "extract") == []


def test_group_depending_on_its_own_descendant_is_refused(editor_client, etl):
    """A group cannot wait for a task nested in it: the message names the cycle and why."""
    stage = task(etl, "stage")
    before = definition(etl)

    response = editor_client.post(
        change_url(stage), edit_data(stage, depends_on=[task(etl, "extract"), task(etl, "enrich")])
    )

    assert form_errors(response) == {
        "depends_on": ["cycle: enrich -> stage -> enrich ('enrich' is nested in 'stage', which waits for it)"]
    }
    assert definition(etl) == before
    assert dependencies(etl, "stage") == ["extract"]


def test_a_task_is_not_offered_as_its_own_dependency_or_parent(editor_client, etl):
    """The change page offers neither the task itself as dependency nor its subtree as parent."""
    stage = task(etl, "stage")

    form = editor_client.get(change_url(stage)).context["adminform"].form

    assert stage not in form.fields["depends_on"].queryset
    assert set(form.fields["parent"].queryset) == set(
        etl.tasks.exclude(name__in=["stage", "clean", "enrich"])
    )

    before = definition(etl)
    response = editor_client.post(change_url(stage), edit_data(stage, depends_on=[stage]))
    assert form_errors(response) == {
        "depends_on": [f"Select a valid choice. {stage.pk} is not one of the available choices."]
    }
    assert definition(etl) == before


def test_add_page_without_a_flow_offers_every_flows_tasks_labelled_by_flow(editor_client, etl, other):
    """Opened without ?flow=, the parent and dependency lists span all flows and name each task's flow."""
    form = editor_client.get(add_url()).context["adminform"].form

    for name in ("parent", "depends_on"):
        assert set(form.fields[name].queryset) == set(Task.objects.all())
    assert form.fields["depends_on"].label_from_instance(task(other, "inside")) == "other / inside"
    # django-mptt puts its level indicator (and a space) before the name.
    assert (
        " ".join(form.fields["parent"].label_from_instance(task(other, "inside")).split())
        == "other / --- inside"
    )


@pytest.mark.parametrize("field", ["parent", "depends_on"])
def test_task_of_another_flow_is_refused(editor_client, etl, other, field):
    """A parent or dependency from another flow is refused and nothing is stored."""
    before, before_other = definition(etl), definition(other)
    data = task_form_data(etl, **{field: task(other, "box") if field == "parent" else [task(other, "solo")]})

    response = editor_client.post(add_url(), data)

    assert list(form_errors(response)) == [field]
    assert definition(etl) == before
    assert definition(other) == before_other


@pytest.mark.parametrize(("field", "other_task"), [("parent", "box"), ("depends_on", "solo")])
def test_task_of_another_flow_is_refused_with_the_validation_message(
    editor_client, etl, other, field, other_task
):
    """The refusal of another flow's task names that task and its flow."""
    value = task(other, other_task)
    data = task_form_data(etl, **{field: value if field == "parent" else [value]})

    response = editor_client.post(add_url(), data)

    assert form_errors(response) == {
        field: [f"'{other_task}' is not a task of this flow (it belongs to flow 'other')"]
    }


# Changing a task: accepted edits ---------------------------------------------------------


def test_change_task_dependencies_raises_the_version(editor_client, etl):
    """A new dependency is stored and raises the version by one."""
    report = task(etl, "report")

    response = editor_client.post(change_url(report), edit_data(report, depends_on=[task(etl, "load")]))

    assert response.status_code == 302
    assert dependencies(etl, "report") == ["load"]
    etl.refresh_from_db()
    assert etl.version == 2


def test_change_task_parent_through_the_form(editor_client, etl):
    """Choosing a group as parent nests the task there, last among its children."""
    report = task(etl, "report")

    response = editor_client.post(change_url(report), edit_data(report, parent=task(etl, "stage")))

    assert response.status_code == 302
    assert children(etl, "stage") == ["clean", "enrich", "report"]
    etl.refresh_from_db()
    assert etl.version == 2


def test_saving_a_task_unchanged_keeps_the_version(editor_client, etl):
    """Saving the form without changes keeps the flow's version."""
    enrich = task(etl, "enrich")

    response = editor_client.post(change_url(enrich), edit_data(enrich))

    assert response.status_code == 302
    etl.refresh_from_db()
    assert etl.version == 1


def test_flow_of_a_task_cannot_be_changed(editor_client, etl, other):
    """The flow is read-only on the change page: a posted flow is ignored."""
    report = task(etl, "report")

    response = editor_client.post(change_url(report), edit_data(report, flow=other.pk))

    assert response.status_code == 302
    assert Task.objects.get(pk=report.pk).flow == etl


# Drag and drop ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "position", "parent", "siblings"),
    [
        ("stage", "last-child", "stage", ["clean", "enrich", "report"]),
        ("clean", "left", "stage", ["report", "clean", "enrich"]),
        ("clean", "right", "stage", ["clean", "report", "enrich"]),
        ("extract", "left", None, ["report", "extract", "stage", "load"]),
    ],
)
def test_valid_move_changes_the_tree_and_the_version(editor_client, etl, target, position, parent, siblings):
    """A drag that keeps the flow valid moves the task, says so and raises the version."""
    report = task(etl, "report")

    response = move(editor_client, report, task(etl, target), position)

    assert response.status_code == 200
    assert response.content.startswith(b"OK")
    assert messages_of(response) == ["report has been successfully moved."]
    report.refresh_from_db()
    assert (report.parent.name if report.parent else None) == parent
    if parent:
        assert children(etl, parent) == siblings
    else:
        assert [t.name for t in Task.objects.filter(flow=etl, parent=None).order_by("tree_id")] == siblings
    etl.refresh_from_db()
    assert etl.version == 2


def test_move_into_a_group_that_waits_for_the_task_is_refused(editor_client, etl):
    """Nesting a task in a group that depends on it would be a cycle: refused, named, nothing moves."""
    before = definition(etl)

    response = move(editor_client, task(etl, "extract"), task(etl, "stage"), "last-child")

    assert response.content.startswith(b"FAIL")
    [message] = messages_of(response)
    assert "cycle: extract -> stage -> extract" in message
    assert "'extract' is nested in 'stage', which waits for it" in message
    assert task(etl, "extract").parent is None
    assert definition(etl) == before


def test_move_into_the_group_it_waits_for_is_refused(editor_client, etl):
    """Nesting a task in the group it depends on is a cycle too."""
    before = definition(etl)

    response = move(editor_client, task(etl, "load"), task(etl, "clean"), "right")

    assert response.content.startswith(b"FAIL")
    assert "cycle: load -> stage -> load" in messages_of(response)[0]
    assert definition(etl) == before


def test_move_emptying_a_pure_group_is_allowed(editor_client, other):
    """Moving the only child out of a group without a function leaves an empty group, which is valid."""
    response = move(editor_client, task(other, "inside"), task(other, "solo"), "right")

    assert response.content.startswith(b"OK")
    assert task(other, "inside").parent is None
    assert task(other, "box").is_leaf_node()


@pytest.mark.parametrize(
    ("target", "position"), [("box", "last-child"), ("inside", "left"), ("solo", "right")]
)
def test_move_into_another_flow_is_refused(editor_client, etl, other, target, position):
    """A task stays in its flow: dropping it onto another flow's tree is refused."""
    before, before_other = definition(etl), definition(other)

    response = move(editor_client, task(etl, "report"), task(other, target), position)

    assert response.content.startswith(b"FAIL")
    assert messages_of(response) == ["Task report cannot move into flow other: a task stays in its flow."]
    assert definition(etl) == before
    assert definition(other) == before_other


def test_move_of_a_group_into_its_own_subtree_is_refused(editor_client, etl):
    """A group cannot be dropped into one of its own children (django-mptt's own refusal)."""
    before = definition(etl)

    response = move(editor_client, task(etl, "stage"), task(etl, "clean"), "last-child")

    assert response.content.startswith(b"FAIL")
    assert messages_of(response) == ["A node may not be made a child of any of its descendants."]
    assert definition(etl) == before


# Deleting ---------------------------------------------------------------------------------


def test_delete_group_removes_its_subtree_and_raises_the_version(editor_client, etl):
    """Deleting a group deletes the tasks nested in it and the dependencies on them."""
    response = editor_client.post(delete_url(task(etl, "stage")), {"post": "yes"})

    assert response.status_code == 302
    assert sorted(etl.tasks.values_list("name", flat=True)) == ["extract", "load", "report"]
    assert dependencies(etl, "load") == []
    etl.refresh_from_db()
    assert etl.version == 2


def test_delete_leaf_raises_the_version(editor_client, etl):
    """Deleting one task leaves the others and raises the version by one."""
    response = editor_client.post(delete_url(task(etl, "enrich")), {"post": "yes"})

    assert response.status_code == 302
    assert children(etl, "stage") == ["clean"]
    etl.refresh_from_db()
    assert etl.version == 2


def test_delete_selected_action_raises_the_version(editor_client, etl):
    """Deleting tasks with the list's 'delete selected' action raises the version too."""
    response = editor_client.post(
        changelist_url(),
        {"action": "delete_selected", "_selected_action": [task(etl, "report").pk], "post": "yes"},
    )

    assert response.status_code == 302
    assert not etl.tasks.filter(name="report").exists()
    etl.refresh_from_db()
    assert etl.version == 2


# Permissions ------------------------------------------------------------------------------


@pytest.mark.parametrize("role_client", ["stakeholder_client", "operator_client"])
def test_viewers_can_see_tasks_but_not_change_them(request, etl, role_client):
    """Stakeholders and operators see the task list and pages; adds, changes, drags and deletes are refused."""
    client = request.getfixturevalue(role_client)
    report = task(etl, "report")
    before = definition(etl)

    assert client.get(changelist_url()).status_code == 200
    assert client.get(f"{changelist_url()}?flow__id__exact={etl.pk}").status_code == 200
    assert client.get(change_url(report)).status_code == 200

    assert client.get(add_url()).status_code == 403
    assert client.post(add_url(), task_form_data(etl)).status_code == 403
    assert client.post(change_url(report), edit_data(report, name="renamed")).status_code == 403
    assert client.post(delete_url(report), {"post": "yes"}).status_code == 403
    response = move(client, report, task(etl, "stage"), "last-child")
    assert response.content == b"FAIL, no permission."

    assert definition(etl) == before
    assert Task.objects.get(pk=report.pk).name == "report"


def test_editor_can_add_change_and_delete_tasks(editor_client, etl):
    """Editors may add, change and delete tasks."""
    report = task(etl, "report")

    assert editor_client.get(add_url()).status_code == 200
    assert editor_client.post(add_url(), task_form_data(etl)).status_code == 302
    assert editor_client.post(change_url(report), edit_data(report, name="renamed")).status_code == 302
    assert Task.objects.get(pk=report.pk).name == "renamed"
    assert editor_client.post(delete_url(report), {"post": "yes"}).status_code == 302
    assert sorted(etl.tasks.values_list("name", flat=True)) == [
        "clean",
        "enrich",
        "extract",
        "load",
        "new_task",
        "stage",
    ]


@pytest.mark.parametrize("page", ["changelist", "change", "add"])
def test_anonymous_users_are_sent_to_the_login_page(client, etl, page):
    """Without a login every task page redirects to the admin login."""
    url = {"changelist": changelist_url(), "change": change_url(task(etl, "report")), "add": add_url()}[page]

    response = client.get(url)

    assert response.status_code == 302
    assert response.url == f"{reverse('admin:login')}?next={url}"


def test_anonymous_move_is_refused(client, etl):
    """An anonymous drag is sent to the login page and moves nothing."""
    before = definition(etl)

    response = move(client, task(etl, "report"), task(etl, "stage"), "last-child")

    assert response.status_code == 302
    assert definition(etl) == before
    assert Flow.objects.get(pk=etl.pk).version == 1


def autocomplete(client, **params):
    query = {"app_label": "flowforge_admin", "model_name": "task", "field_name": "depends_on", **params}
    response = client.get(reverse("admin:autocomplete"), query)
    assert response.status_code == 200
    return sorted(result["text"] for result in response.json()["results"])


def test_dependency_autocomplete_asks_for_the_same_flows_tasks(editor_client, etl, other):
    """The dependency box is Django's autocomplete; its search URL names the task's flow."""
    stage = task(etl, "stage")
    page = editor_client.get(change_url(stage)).text
    assert f'data-ajax--url="{reverse("admin:autocomplete")}?flow={etl.pk}&amp;task={stage.pk}"' in page

    assert autocomplete(editor_client, flow=etl.pk) == sorted(str(t) for t in etl.tasks.all())
    assert autocomplete(editor_client, flow=etl.pk, term="ins") == []
    assert autocomplete(editor_client, flow=other.pk, term="ins") == [str(task(other, "inside"))]
    assert autocomplete(editor_client, flow="x") == []


@pytest.mark.parametrize(
    ("name", "left_out"),
    [("clean", {"clean", "stage"}), ("stage", {"stage", "clean", "enrich"}), ("report", {"report"})],
)
def test_dependency_autocomplete_leaves_out_the_task_its_groups_and_its_nested_tasks(
    editor_client, etl, name, left_out
):
    """Saving refuses them (a cycle): the box does not offer them."""
    edited = task(etl, name)
    offered = autocomplete(editor_client, flow=etl.pk, task=edited.pk)
    assert offered == sorted(str(t) for t in etl.tasks.all() if t.name not in left_out)
    assert autocomplete(editor_client, flow=etl.pk, task="99999999999999999999") == autocomplete(
        editor_client, flow=etl.pk
    )


def test_the_add_page_autocomplete_names_no_task(editor_client, etl):
    page = editor_client.get(reverse("admin:flowforge_admin_task_add") + f"?flow={etl.pk}").text
    assert f'data-ajax--url="{reverse("admin:autocomplete")}?flow={etl.pk}"' in page


def test_dependency_autocomplete_is_for_people_who_may_see_tasks(client, etl):
    client.force_login(User.objects.create_user("nobody", password="pw", is_staff=True))
    query = {"app_label": "flowforge_admin", "model_name": "task", "field_name": "depends_on", "flow": etl.pk}
    assert client.get(reverse("admin:autocomplete"), query).status_code == 403


def test_a_dependency_edit_is_in_the_tasks_history(editor_client, etl):
    """Who changed which dependency, and when: Django's admin log, shown on the History page."""
    load = task(etl, "load")
    response = editor_client.post(change_url(load), edit_data(load, depends_on=[task(etl, "extract")]))
    assert response.status_code == 302
    entry = LogEntry.objects.get(object_id=str(load.pk))
    assert entry.user.username == "editor"
    assert entry.get_change_message().startswith("Changed Depends on")
    history = editor_client.get(reverse("admin:flowforge_admin_task_history", args=[load.pk])).text
    assert "Changed Depends on" in history
