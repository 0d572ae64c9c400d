"""Shared data of the REST API's tests: a flow, users by role with their API tokens, clients."""

import re
import uuid

import pytest
from django.contrib.auth.models import User
from django.urls import URLPattern, reverse
from rest_framework.test import APIClient

from flowforge_admin import api
from flowforge_admin.api import register_task_pipeline
from flowforge_admin.models import ApiToken
from flowforge_admin.rest import urls as api_urls

from .. import engine_tasks as t

# The pages about the API, not resources of it.
NOT_RESOURCES = {"api-schema", "api-docs"}


@pytest.fixture(autouse=True)
def private_throttle_counts(settings):
    """Each test counts its requests afresh: throttle counts in a cache of this test only."""
    # LocMemCache instances of one LOCATION share their data: a new one per test.
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": uuid.uuid4().hex}
    }


def url(name, *args, query=""):
    """The path of the API route ``name`` (``api-run-detail``...), with ``query`` ("a=1")."""
    path = reverse(f"flowforge_admin:{name}", args=args)
    return f"{path}?{query}" if query else path


def api_paths():
    """Every resource path of the API's URLconf, as OpenAPI writes it (/api/v1/runs/{id}/)."""
    prefix = url("api-flow-list").removesuffix("flows/")
    paths = set()
    for pattern in api_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)  # no include() whose paths this would miss
        if pattern.name not in NOT_RESOURCES:
            route = str(pattern.pattern).lstrip("^").rstrip("$")
            paths.add(prefix + re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", route))
    return paths


@pytest.fixture
def flow(db):
    """ok -> bad (bad always fails), default parameters {"size": 3}."""
    return register_task_pipeline(
        "api_flow",
        {"ok": {"function": t.echo}, "bad": {"function": t.fail, "depends_on": ["ok"]}},
        params={"size": 3},
        display_name="API flow",
        description="A flow the API tests read and launch.",
    )


@pytest.fixture
def failed_run(flow):
    """A finished run of ``flow``: ok succeeded, bad failed (run in this process)."""
    return api.run_flow(flow)


@pytest.fixture
def queued_run(flow):
    """A queued run of ``flow`` (no worker takes it: the test's transaction never commits)."""
    return api.launch_flow(flow)


def bearer_client(user, **token_options):
    """An APIClient that sends a new API token of ``user``; its ``token`` attribute is the ApiToken."""
    row, secret = ApiToken.objects.issue(user, "tests", **token_options)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    client.token = row
    return client


@pytest.fixture
def as_role(role_user):
    """Return a function making a Bearer client for a new user of a role group (or "nobody": no group)."""

    def make(role):
        if role == "nobody":
            return bearer_client(User.objects.create_user("nobody", password="pw", is_staff=True))
        return bearer_client(role_user(role))

    return make


@pytest.fixture
def operator_api(as_role):
    return as_role("Operator")


@pytest.fixture
def stakeholder_api(as_role):
    return as_role("Stakeholder")
