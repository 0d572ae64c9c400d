"""The store raises a flow's version on any ORM edit of its definition, once per transaction.

pytest-django's transactions never commit: ``committed`` runs the on_commit
callbacks of the block it wraps, as a commit would.
"""

import pytest
from django.db import transaction

from flowforge_admin.api import register_task_pipeline
from flowforge_admin.definitions import store
from flowforge_admin.definitions.spec import TaskSpec
from flowforge_admin.models import Flow, Task

from .. import engine_tasks as t
from ..conftest import DEMO, chain_tasks, make_flow

pytestmark = pytest.mark.django_db


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    def commit():
        return django_capture_on_commit_callbacks(execute=True)

    return commit


@pytest.fixture
def flow():
    return make_flow(
        "flow",
        [
            TaskSpec("fetch"),
            TaskSpec("a", parent="fetch", function=DEMO + "fetch_data1"),
            TaskSpec("b", parent="fetch", function=DEMO + "fetch_data2"),
            TaskSpec("clean", function=DEMO + "clean_data", depends_on=("a",)),
        ],
        params={"n": 1},
    )


def version(flow):
    return Flow.objects.get(pk=flow.pk).version


def task(name):
    return Task.objects.get(name=name)


def test_creating_a_task_raises_the_version(flow, committed):
    with committed():
        Task.objects.create(flow=flow, name="extra", function=DEMO + "clean_data")
    assert version(flow) == 2


def test_saving_a_changed_task_raises_the_version(flow, committed):
    with committed():
        b = task("b")
        b.retries = 3
        b.save()
    assert version(flow) == 2


def test_saving_a_task_unchanged_keeps_the_version(flow, committed):
    with committed() as callbacks:
        task("b").save()
    assert len(callbacks) == 1, "the sync ran"
    assert version(flow) == 1


def test_saving_only_function_texts_queues_no_sync(flow, committed):
    with committed() as callbacks:
        b = task("b")
        b.docstring = "Another text."
        b.save(update_fields=["docstring"])
    assert callbacks == []


def test_deleting_a_task_raises_the_version(flow, committed):
    with committed():
        task("b").delete()
    assert version(flow) == 2


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda: task("clean").depends_on.add(task("b")), id="add"),
        pytest.param(lambda: task("clean").depends_on.remove(task("a")), id="remove"),
        pytest.param(lambda: task("clean").depends_on.clear(), id="clear"),
        pytest.param(lambda: task("a").downstream.remove(task("clean")), id="remove-reverse"),
    ],
)
def test_changing_dependencies_raises_the_version(flow, committed, edit):
    with committed():
        edit()
    assert version(flow) == 2


def test_moving_a_task_raises_the_version(flow, committed):
    with committed():
        task("b").move_to(task("clean"), "last-child")
    assert task("b").parent.name == "clean"
    assert version(flow) == 2


def test_changing_default_parameters_raises_the_version(flow, committed):
    with committed():
        flow.params = {"n": 2}
        flow.save()
    assert version(flow) == 2
    with committed():
        flow.save()
    assert version(flow) == 2, "saving the same definition again keeps the version"


def test_changing_labels_queues_no_sync(flow, committed):
    with committed() as callbacks:
        flow.display_name = "Another name"
        flow.save(update_fields=["display_name", "updated_at"])
    assert callbacks == []


def test_each_commit_raises_the_version_once(flow, committed):
    for expected, retries in [(2, 1), (3, 2)]:
        with committed():
            b = task("b")
            b.retries = retries
            b.save()
        assert version(flow) == expected


def test_a_bulk_edit_raises_the_version_once_in_bounded_queries(
    django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    flow = make_flow("big", chain_tasks(300))
    with django_capture_on_commit_callbacks() as callbacks:
        for node in Task.objects.filter(flow=flow):
            node.retries = 1
            node.save()
    assert len(callbacks) == 1
    # Lock the flow, read its tasks and dependencies, raise, refresh (and a savepoint).
    with django_assert_max_num_queries(7):
        callbacks[0]()
    assert version(flow) == 2


def test_edits_rolled_back_are_not_synced_and_later_ones_are(flow, committed):
    with committed() as callbacks:
        with transaction.atomic():
            task("b").delete()
            transaction.set_rollback(True)
        assert len(transaction.get_connection().run_on_commit) == 0, "the rollback dropped the sync"
        a = task("a")
        a.retries = 4
        a.save()
    assert len(callbacks) == 1
    assert version(flow) == 2
    assert Task.objects.filter(flow=flow, name="b").exists()


def test_a_flow_deleted_in_the_same_transaction_is_skipped(
    flow, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    with django_capture_on_commit_callbacks() as callbacks:
        task("b").delete()
        flow.delete()
    assert len(callbacks) == 1
    # Looking for the flow finds nothing: no read of its definition, no update.
    with django_assert_max_num_queries(3) as queries:
        callbacks[0]()
    assert not any("UPDATE" in query["sql"] for query in queries.captured_queries)


def test_sync_pending_versions_syncs_now_and_leaves_nothing_for_the_commit(flow, committed):
    with committed():
        task("b").delete()
        store.sync_pending_versions()
        assert version(flow) == 2
        Flow.objects.filter(pk=flow.pk).update(version=7)  # what the commit would overwrite
    assert version(flow) == 7


def test_write_flow_sets_the_version_once(flow, committed):
    spec = store.read_flow_spec(flow)
    without_clean = type(spec)(**{**spec.__dict__, "tasks": spec.tasks[:3]})
    with committed() as callbacks:
        _, outcome = store.write_flow(without_clean, origin=Flow.Origin.ADMIN)
    assert (outcome, version(flow)) == ("changed", 2)
    assert callbacks == [], "write_flow sets the version itself: its deletes and saves queue no sync"


def test_registering_an_unchanged_pipeline_keeps_the_version(committed):
    def register():
        return register_task_pipeline("pipe", {"ok": {"function": t.echo}}, params={"n": 1})

    with committed():
        flow = register()
    with committed():
        register()
    assert version(flow) == 1


@pytest.mark.django_db(transaction=True)
def test_real_commits_raise_the_version_once_each(flow):
    """Without the test transaction: an edit in autocommit syncs at once, a transaction's edits at its commit."""
    b = task("b")
    b.retries = 1
    b.save()
    assert version(flow) == 2
    with transaction.atomic():
        for retries in (2, 3):
            b.retries = retries
            b.save()
        task("clean").depends_on.add(b)
        assert version(flow) == 2, "not before the commit"
    assert version(flow) == 3
