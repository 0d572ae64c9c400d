"""``manage.py prepare_demo``: the database-only demo flow and the ``admin`` superuser."""

import re
from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command

from flowforge_admin.definitions import store
from flowforge_admin.models import Flow, Task
from tests.conftest import chain_tasks, make_flow

PASSWORD_RE = re.compile(r"Created superuser admin with password: (\S+)")


def prepare_demo(**options):
    out = StringIO()
    call_command("prepare_demo", stdout=out, **options)
    return out.getvalue()


def tree_rows(queryset):
    return sorted(queryset.values_list("pk", "parent_id", "tree_id", "lft", "rght", "level"))


def assert_trees_consistent():
    """Every task's nested-set fields agree with its parent links."""
    tasks = {task.pk: task for task in Task.objects.all()}
    children = {}
    for task in tasks.values():
        children.setdefault(task.parent_id, []).append(task.pk)

    def by_parent_links(pk):
        found = set()
        for child in children.get(pk, ()):
            found |= {child, *by_parent_links(child)}
        return found

    for task in tasks.values():
        by_numbers = {
            other.pk
            for other in tasks.values()
            if other.tree_id == task.tree_id and task.lft < other.lft and other.rght < task.rght
        }
        assert by_numbers == by_parent_links(task.pk), task.name
        assert task.rght - task.lft == 2 * len(by_numbers) + 1, task.name
        parent = tasks.get(task.parent_id)
        assert task.level == (parent.level + 1 if parent else 0), task.name
        if parent:
            assert parent.tree_id == task.tree_id, task.name
            assert parent.flow_id == task.flow_id, task.name
    # A tree belongs to one flow and has one root.
    roots_by_tree = {}
    for task in tasks.values():
        if task.parent_id is None:
            roots_by_tree.setdefault(task.tree_id, []).append(task.name)
    assert all(len(roots) == 1 for roots in roots_by_tree.values()), roots_by_tree
    assert set(roots_by_tree) == {task.tree_id for task in tasks.values()}


@pytest.fixture
def synced(sync_flows):
    sync_flows()


@pytest.fixture
def no_env_password(monkeypatch):
    monkeypatch.delenv("DJANGO_SUPERUSER_PASSWORD", raising=False)


@pytest.mark.usefixtures("synced", "no_env_password")
class TestDemoFlow:
    def test_loads_daily_report_with_its_group(self):
        """demo_daily_report is loaded; its group fetch holds fetch_sales and fetch_visitors."""
        out = prepare_demo()

        assert "Loaded the demo flow demo_daily_report." in out
        flow = Flow.objects.get(name="demo_daily_report")
        fetch = flow.tasks.get(name="fetch")
        assert fetch.function == ""
        assert [task.name for task in fetch.get_children()] == ["fetch_sales", "fetch_visitors"]
        assert [task.name for task in fetch.get_descendants()] == ["fetch_sales", "fetch_visitors"]
        assert list(flow.tasks.get(name="clean_data").depends_on.values_list("name", flat=True)) == ["fetch"]
        assert flow.tasks.count() == 6

    def test_a_host_without_the_fixture_gets_a_clear_error(self, settings, tmp_path):
        """In a host project (no fixtures/ of this repository): a message, no traceback, nothing loaded."""
        settings.BASE_DIR = tmp_path

        with pytest.raises(CommandError, match=r"fixtures/demo_flows.yaml is missing: prepare_demo loads"):
            prepare_demo()
        assert not Flow.objects.filter(name="demo_daily_report").exists()

    def test_the_ml_demo_gets_three_runs_with_metrics_once(self):
        """The demo ML flow runs three times, better each time; a second prepare_demo adds none."""
        out = prepare_demo()

        flow = Flow.objects.get(name="demo_pipeline_simple_ml")
        runs = list(flow.runs.order_by("pk"))
        assert [run.status for run in runs] == ["succeeded"] * 3
        assert (
            f"Ran demo_pipeline_simple_ml #{runs[0].pk} with {{'n_points': 100, 'noise': 1.0}}: succeeded."
            in out
        )
        rmse = [run.metrics.get(name="rmse").value for run in runs]
        assert rmse == sorted(rmse, reverse=True)
        assert "has runs already; none added" in prepare_demo()
        assert flow.runs.count() == 3

    def test_every_tree_is_consistent(self):
        """After loading, the nested-set fields of every task agree with the parent links."""
        prepare_demo()

        assert_trees_consistent()

    def test_daily_report_trees_do_not_collide_with_others(self):
        """The loaded flow's tree ids are its own, even when the fixture's ids were taken."""
        # Fill tree ids well past those written in the fixture (12 to 15).
        make_flow("occupies_fixture_tree_ids", chain_tasks(10))

        prepare_demo()

        assert_trees_consistent()
        daily = set(Task.objects.filter(flow__name="demo_daily_report").values_list("tree_id", flat=True))
        others = set(Task.objects.exclude(flow__name="demo_daily_report").values_list("tree_id", flat=True))
        assert len(daily) == 4
        assert daily.isdisjoint(others)
        fetch = Task.objects.get(flow__name="demo_daily_report", name="fetch")
        assert [task.name for task in fetch.get_descendants()] == ["fetch_sales", "fetch_visitors"]

    def test_other_flows_are_untouched(self):
        """Tasks of other flows keep their ids, parents and nested-set fields."""
        make_flow("occupies_fixture_tree_ids", chain_tasks(10))
        others = Task.objects.exclude(flow__name="demo_daily_report")
        before = tree_rows(others)
        versions = dict(Flow.objects.values_list("name", "version"))

        prepare_demo()

        assert tree_rows(others) == before
        assert dict(Flow.objects.exclude(name="demo_daily_report").values_list("name", "version")) == versions

    def test_loaded_definition_matches_its_version(self):
        """The fixture's definition hash is that of its tasks, so an unchanged save keeps version 1."""
        prepare_demo()

        flow = Flow.objects.get(name="demo_daily_report")
        assert store.read_flow_spec(flow).signature() == flow.definition_hash
        assert store.sync_version(flow) is False
        assert flow.version == 1

    def test_second_run_leaves_the_flow_as_it_is(self):
        """A second run says the flow is there and changes none of its rows."""
        prepare_demo()
        flow = Flow.objects.get(name="demo_daily_report")
        before = tree_rows(Task.objects.all())

        out = prepare_demo()

        assert "Demo flow demo_daily_report is already there; left as it is." in out
        assert "Loaded" not in out
        assert tree_rows(Task.objects.all()) == before
        assert Flow.objects.get(name="demo_daily_report").version == flow.version

    def test_edited_flow_is_not_reloaded(self):
        """A demo flow edited since it was loaded keeps the edits on the next run."""
        prepare_demo()
        Task.objects.filter(flow__name="demo_daily_report", name="post_process").delete()

        prepare_demo()

        assert not Task.objects.filter(flow__name="demo_daily_report", name="post_process").exists()


@pytest.mark.usefixtures("synced")
class TestSuperuser:
    def test_random_password_is_printed_once_and_works(self, no_env_password):
        """Without DJANGO_SUPERUSER_PASSWORD a random password is printed and logs the superuser in."""
        out = prepare_demo()

        match = PASSWORD_RE.search(out)
        assert match, out
        password = match.group(1)
        assert len(password) >= 12
        user = authenticate(username="admin", password=password)
        assert user is not None
        assert user.is_superuser is True
        assert user.is_staff is True

    def test_random_passwords_differ(self, no_env_password, django_user_model):
        """Each new superuser gets its own random password."""
        first = PASSWORD_RE.search(prepare_demo()).group(1)
        django_user_model.objects.filter(username="admin").delete()

        second = PASSWORD_RE.search(prepare_demo()).group(1)

        assert first != second

    def test_second_run_keeps_the_password(self, no_env_password):
        """A second run says the user exists, prints no password and leaves the password alone."""
        password = PASSWORD_RE.search(prepare_demo()).group(1)

        out = prepare_demo()

        assert "User admin exists; its password is unchanged." in out
        assert PASSWORD_RE.search(out) is None
        assert password not in out
        assert authenticate(username="admin", password=password) is not None
        assert get_user_model().objects.filter(username="admin").count() == 1

    def test_password_from_environment_is_used_and_not_printed(self, monkeypatch):
        """DJANGO_SUPERUSER_PASSWORD becomes the password and never appears in the output."""
        monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "correct-horse-battery-staple")

        out = prepare_demo()

        assert "Created superuser admin with DJANGO_SUPERUSER_PASSWORD." in out
        assert "correct-horse-battery-staple" not in out
        assert PASSWORD_RE.search(out) is None
        assert authenticate(username="admin", password="correct-horse-battery-staple") is not None

    def test_environment_password_does_not_reset_an_existing_user(self, monkeypatch):
        """An existing admin keeps its password even when DJANGO_SUPERUSER_PASSWORD is set later."""
        monkeypatch.delenv("DJANGO_SUPERUSER_PASSWORD", raising=False)
        password = PASSWORD_RE.search(prepare_demo()).group(1)
        monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "correct-horse-battery-staple")

        prepare_demo()

        assert authenticate(username="admin", password=password) is not None
        assert authenticate(username="admin", password="correct-horse-battery-staple") is None

    def test_username_option(self, no_env_password):
        """--username names the superuser to create."""
        out = prepare_demo(username="root")

        assert "Created superuser root with password: " in out
        assert get_user_model().objects.get(username="root").is_superuser is True
        assert not get_user_model().objects.filter(username="admin").exists()
