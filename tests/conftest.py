"""Shared fixtures of the test suite.

Tests that need a service the machine may lack (Chromium, PostgreSQL, Redis)
call :func:`require_service`: it skips with the reason printed, or fails when
``FLOWFORGE_REQUIRE_ALL=1`` (as in CI), so that nothing is silently left out.
"""

import os
import socket
import subprocess
import sys

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User

from flowforge_admin.alerts import watch as alert_watch
from flowforge_admin.api import register_task_pipeline
from flowforge_admin.definitions import store
from flowforge_admin.definitions.spec import FlowSpec, TaskSpec
from flowforge_admin.engine import pools
from flowforge_admin.models import Flow

from . import engine_tasks
from .engine.cluster import Clusters, cluster_count, purge_queue

DEMO = "flowforge_admin.demo.tasks."


def pytest_configure(config):
    # WhiteNoise warns, each time a test client builds the middleware, that
    # STATIC_ROOT does not exist: the tests never run collectstatic (the live
    # server serves static files from the finders). In production the warning
    # stays: there it means a forgotten collectstatic.
    config.addinivalue_line("filterwarnings", "ignore:No directory at:UserWarning")


@pytest.fixture(autouse=True, scope="session")
def artifact_root(tmp_path_factory):
    """Artifacts of every test (and of the workers it starts) go to a temporary directory, not var/."""
    root = tmp_path_factory.mktemp("artifacts")
    os.environ["FLOWFORGE_ARTIFACT_ROOT"] = str(root)
    settings.FLOWFORGE_ARTIFACT_ROOT = str(root)
    return root


@pytest.fixture(autouse=True)
def fresh_pool_limits():
    """Each test reads the default pool's limit afresh: a rolled-back one sends no signal to forget it."""
    pools.forget_default_limit()
    alert_watch.forget()  # likewise which flows have alerts


@pytest.fixture(autouse=True)
def one_task_per_message(settings):
    """Tests that deliver messages by hand see one task run per message: no continuation in the worker.

    They check what each step queues, as the broker would carry it; the
    real clusters of tests/engine (their own processes, the project's
    settings) continue, and tests/engine/test_continuation.py turns it on here.
    """
    settings.FLOWFORGE_CONTINUATIONS_PER_MESSAGE = 0


def answers(host, port):
    """Whether something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def run_suites_in_child(suites, timeout, **env):
    """Run pytest on ``suites`` in a child process with ``env`` over this one's; assert they all passed.

    For passes on other services (PostgreSQL, Redis), whose settings are read
    once per process. The child's output is the failure message.
    """
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--create-db", *suites],
        cwd=settings.BASE_DIR,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    summary = result.stdout.splitlines()[-1]
    assert " passed" in summary, summary
    assert "skipped" not in summary, summary


def require_service(name, available, reason):
    """Skip (or, with FLOWFORGE_REQUIRE_ALL=1, fail) when a service is missing."""
    if available:
        return
    message = f"{name} is not available: {reason}"
    if os.environ.get("FLOWFORGE_REQUIRE_ALL") == "1":
        pytest.fail(f"{message} (FLOWFORGE_REQUIRE_ALL=1 forbids skipping)", pytrace=False)
    pytest.skip(message)


def make_flow(name="flow", tasks=(), **kwargs):
    """Store a flow made of ``TaskSpec``s (as an editor would) and return it."""
    spec = FlowSpec(name=name, display_name=kwargs.pop("display_name", name), tasks=tuple(tasks), **kwargs)
    flow, _ = store.write_flow(spec, origin=Flow.Origin.ADMIN)
    return flow


def task_row(flow="f", task="a", parent="", function=DEMO + "prepare_batch", depends_on="", **more):
    """One row of an import file: task ``task`` of flow ``flow``, with the columns every format has."""
    return {
        "flow": flow,
        "task": task,
        "parent": parent,
        "function": function,
        "depends_on": depends_on,
        **more,
    }


def chain_tasks(count, prefix="t"):
    """Return ``count`` TaskSpecs, each depending on the one before."""
    return [
        TaskSpec(
            name=f"{prefix}{i}",
            function=DEMO + "prepare_batch",
            depends_on=(f"{prefix}{i - 1}",) if i else (),
        )
        for i in range(count)
    ]


def sized_flow(name):
    """A one-task flow whose ``size`` parameter (3) its schema wants at least 1: what schedules are checked against."""
    return register_task_pipeline(
        name,
        {"ok": {"function": engine_tasks.echo}},
        params={"size": 3},
        params_schema={"type": "object", "properties": {"size": {"type": "integer", "minimum": 1}}},
    )


def schedule_form_data(flow, **fields):
    """POST data of the schedule form for ``flow``: a daily run at 02:00, with ``fields`` over it."""
    data = {
        "flow": flow.pk,
        "name": "nightly",
        "kind": "daily",
        "cron": "",
        "every_minutes": "",
        "at_time": "02:00",
        "weekday": "",
        "day_of_month": "",
        "run_at": "",
        "params": "{}",
        "overlap": "skip",
    }
    data.update(fields)
    return data


@pytest.fixture
def role_user(db):
    """Return a function making a staff user in one of the role groups."""

    def make(group_name):
        user = User.objects.create_user(username=group_name.lower(), password="pw", is_staff=True)
        user.groups.add(Group.objects.get(name=group_name))
        return user

    return make


@pytest.fixture
def editor_client(client, role_user):
    client.force_login(role_user("Editor"))
    return client


@pytest.fixture
def operator_client(client, role_user):
    client.force_login(role_user("Operator"))
    return client


@pytest.fixture
def stakeholder_client(client, role_user):
    client.force_login(role_user("Stakeholder"))
    return client


def tree_errors(queryset):
    """Return the nodes whose nested-set fields disagree with their parent links.

    For each node, the descendants found by django-mptt's lft/rght/tree_id
    must be exactly those found by following ``parent`` links.
    """
    nodes = list(queryset)
    children = {}
    for node in nodes:
        children.setdefault(node.parent_id, []).append(node.pk)

    def below(pk):
        found = set()
        for child in children.get(pk, ()):
            found |= {child} | below(child)
        return found

    errors = []
    for node in nodes:
        by_numbers = {
            other.pk
            for other in nodes
            if other.tree_id == node.tree_id and node.lft < other.lft and other.rght < node.rght
        }
        if by_numbers != below(node.pk) or node.rght - node.lft != 2 * len(by_numbers) + 1:
            errors.append(node.name)
    return errors


@pytest.fixture
def cluster(transactional_db, tmp_path):
    """Real ``manage.py qcluster`` processes on the test database and broker, stopped after the test.

    One cluster, or ``FLOWFORGE_TEST_CLUSTERS`` of them (two machines' worth in
    the scale-out pass, see tests/test_scale_out.py).
    """
    purge_queue()  # what an earlier test left in the broker is not this test's
    clusters = Clusters(tmp_path, cluster_count())
    clusters.start()
    yield clusters
    clusters.stop()
