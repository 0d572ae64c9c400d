"""Shared data of the actions' tests: a flow with one good and one failing task, users by role."""

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User

from flowforge_admin.api import register_task_pipeline
from flowforge_admin.models import RunEvent

from .. import engine_tasks as t


@pytest.fixture
def flow(db):
    """ok -> bad (bad always fails), default parameters {"size": 3}."""
    return register_task_pipeline(
        "acted_on",
        {"ok": {"function": t.echo}, "bad": {"function": t.fail, "depends_on": ["ok"]}},
        params={"size": 3},
    )


@pytest.fixture
def operator(role_user):
    return role_user("Operator")


@pytest.fixture
def stakeholder(role_user):
    return role_user("Stakeholder")


@pytest.fixture
def editor(role_user):
    return role_user("Editor")


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("root", password="pw")


def log_of(obj):
    """The admin-log entries of ``obj``, oldest first: (user name, action flag, message)."""
    return list(
        LogEntry.objects.filter(object_id=str(obj.pk), content_type__model=obj._meta.model_name)
        .order_by("pk")
        .values_list("user__username", "action_flag", "change_message")
    )


def events_of(run, launch=True):
    """The run's events, oldest first: (user name or None, action, message); without its launch if not ``launch``."""
    events = RunEvent.objects.filter(run=run).order_by("pk")
    if not launch:
        events = events.exclude(action=RunEvent.Action.LAUNCH)
    return list(events.values_list("user__username", "action", "message"))
