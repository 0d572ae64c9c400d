"""Who may call each endpoint: 401 without a valid token, 403 without the permission, else served.

The roles are the admin's: a Stakeholder reads everything and changes
nothing; an Operator (and an Editor) also launches and controls runs; a
staff user in no group may do nothing.
"""

import datetime

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from .conftest import bearer_client, url

pytestmark = pytest.mark.django_db

READ, LAUNCH, CONTROL = "read", "launch", "control"

# (name, method, path from the failed run, body, what it needs, status when allowed)
ENDPOINTS = [
    ("flows", "get", lambda run: url("api-flow-list"), None, READ, 200),
    ("flow", "get", lambda run: url("api-flow-detail", run.flow_name), None, READ, 200),
    ("definition", "get", lambda run: url("api-flow-definition", run.flow_name), None, READ, 200),
    ("launch", "post", lambda run: url("api-flow-launch", run.flow_name), {"params": {}}, LAUNCH, 201),
    ("runs", "get", lambda run: url("api-run-list"), None, READ, 200),
    ("run", "get", lambda run: url("api-run-detail", run.pk), None, READ, 200),
    ("metrics", "get", lambda run: url("api-run-metrics", run.pk), None, READ, 200),
    ("artifacts", "get", lambda run: url("api-run-artifacts", run.pk), None, READ, 200),
    ("cancel", "post", lambda run: url("api-run-cancel", run.pk), None, CONTROL, 409),  # finished: not now
    ("rerun-failed", "post", lambda run: url("api-run-rerun-failed", run.pk), None, CONTROL, 200),
    ("clear", "post", lambda run: url("api-run-clear", run.pk), {"tasks": ["ok"]}, CONTROL, 200),
    ("tasks", "get", lambda run: url("api-task-list", run.pk), None, READ, 200),
    ("task", "get", lambda run: url("api-task-detail", run.pk, "ok"), None, READ, 200),
    ("logs", "get", lambda run: url("api-task-logs", run.pk, "bad"), None, READ, 200),
    ("log-download", "get", lambda run: url("api-task-logs-download", run.pk, "bad"), None, READ, 200),
    ("artifact", "get", lambda run: url("api-task-artifact", run.pk, "ok"), None, READ, 404),  # none made
    ("retry", "post", lambda run: url("api-task-retry", run.pk, "bad"), None, CONTROL, 200),
    (
        "mark",
        "post",
        lambda run: url("api-task-mark", run.pk, "bad"),
        {"status": "succeeded", "reason": "fixed by hand"},
        CONTROL,
        200,
    ),
]
ALLOWED = {
    "nobody": set(),
    "Stakeholder": {READ},
    "Operator": {READ, LAUNCH, CONTROL},
    "Editor": {READ, LAUNCH, CONTROL},
}


def call(client, method, path, body):
    return (
        getattr(client, method)(path, body, format="json")
        if body is not None
        else getattr(client, method)(path)
    )


@pytest.mark.parametrize("role", list(ALLOWED))
@pytest.mark.parametrize(
    ("name", "method", "path", "body", "needs", "served"), ENDPOINTS, ids=[e[0] for e in ENDPOINTS]
)
def test_each_role_gets_what_its_permissions_allow(
    as_role, failed_run, role, name, method, path, body, needs, served
):
    response = call(as_role(role), method, path(failed_run), body)

    expected = served if needs in ALLOWED[role] else 403
    assert response.status_code == expected, response.content[:500]
    if expected == 403:
        assert "detail" in response.json()


@pytest.mark.parametrize(
    ("name", "method", "path", "body", "needs", "served"), ENDPOINTS, ids=[e[0] for e in ENDPOINTS]
)
def test_without_credentials_every_endpoint_answers_401(failed_run, name, method, path, body, needs, served):
    response = call(APIClient(), method, path(failed_run), body)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("make_unusable", ["revoked", "expired"])
def test_a_revoked_or_expired_token_answers_401_and_changes_nothing(operator_api, flow, make_unusable):
    client = bearer_client(operator_api.token.user)
    assert client.get(url("api-flow-list")).status_code == 200
    if make_unusable == "revoked":
        client.token.revoke()
    else:
        type(client.token).objects.filter(pk=client.token.pk).update(
            expires_at=timezone.now() - datetime.timedelta(seconds=1)
        )

    assert client.get(url("api-flow-list")).status_code == 401
    assert client.post(url("api-flow-launch", flow.name), {"params": {}}, format="json").status_code == 401
    assert not flow.runs.exists()


def test_a_wrong_token_answers_401(flow):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer ffa_not-a-token")

    assert client.get(url("api-flow-list")).status_code == 401


def test_a_logged_in_admin_session_reads_the_api(stakeholder_client, flow):
    """Session authentication, as the browsable docs use it."""
    assert stakeholder_client.get(url("api-flow-detail", flow.name)).status_code == 200


def test_a_refusal_names_the_permission_needed(stakeholder_api, flow):
    response = stakeholder_api.post(url("api-flow-launch", flow.name), {"params": {}}, format="json")

    assert response.status_code == 403
    assert "flowforge_admin.launch_flow is needed" in response.json()["detail"]
    assert not flow.runs.exists()


def test_options_describes_every_endpoint_to_a_reader(stakeholder_api, failed_run):
    for name, method, path, *_ in ENDPOINTS:
        response = stakeholder_api.options(path(failed_run))

        assert response.status_code == 200, name
        assert method.upper() in response["Allow"], name
