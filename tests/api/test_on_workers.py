"""A client launches a run over HTTP and follows it to its end while a real qcluster runs it.

The one test of the API with workers (one cluster): the live server and the
workers share the test database, so the data is committed (transactional).
"""

import json
import urllib.error
import urllib.request

import pytest

from flowforge_admin.api import register_task_pipeline
from flowforge_admin.models import ApiToken, FlowRun

from .. import engine_tasks as t
from ..engine.cluster import wait_for
from .conftest import url

pytestmark = pytest.mark.django_db(transaction=True)


class Http:
    """A minimal HTTP client with a Bearer token, as a CI job's script would be."""

    def __init__(self, base, token):
        self.base, self.token = base, token

    def call(self, method, path, body=None):
        """Return (status, headers, body as JSON or text)."""
        request = urllib.request.Request(
            path if path.startswith("http") else self.base + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, headers, content = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, headers, content = error.code, error.headers, error.read()
        if headers.get("Content-Type", "").startswith("application/json"):
            return status, headers, json.loads(content)
        return status, headers, content.decode()


def test_a_run_launched_over_http_is_followed_to_its_end(live_server, cluster, role_user):
    register_task_pipeline(
        "over_http",
        {
            "fetch": {"function": t.talk, "params": {"lines": 2, "seconds": 0}},
            "report": {"function": t.echo, "depends_on": ["fetch"]},
        },
    )
    _, token = ApiToken.objects.issue(role_user("Operator"), "CI job")
    http = Http(live_server.url, token)

    status, headers, run = http.call(
        "POST", url("api-flow-launch", "over_http"), {"params": {"day": "monday"}}
    )

    assert status == 201, run
    assert run["status"] == "queued"
    assert headers["Location"] == run["url"] == f"{live_server.url}{url('api-run-detail', run['id'])}"
    assert run["admin_url"] == f"{live_server.url}/admin/flowforge_admin/flowrun/{run['id']}/change/"

    def finished():
        status, _, body = http.call("GET", run["url"])
        assert status == 200, body
        return body if body["is_finished"] else None

    done = wait_for(finished, timeout=60, interval=0.2, message=f"run {run['id']} to finish")

    assert done["status"] == "succeeded", cluster.log()
    assert {task["task"]: task["status"] for task in done["tasks"]} == {
        "fetch": "succeeded",
        "report": "succeeded",
    }
    assert done["task_counts"]["succeeded"] == 2
    status, _, report = http.call("GET", url("api-task-detail", run["id"], "report"))
    assert report["output"]["context_params"] == {"day": "monday"}
    status, _, log = http.call("GET", url("api-task-logs", run["id"], "fetch") + "?after=0")
    assert status == 200
    assert [line["message"] for line in log["lines"] if line["source"] == "tests.engine_tasks"] == [
        "fetch log line 0",
        "fetch log line 1",
    ]
    status, _, text = http.call("GET", url("api-task-logs-download", run["id"], "fetch"))
    assert "fetch print line 1" in text
    assert FlowRun.objects.get(pk=run["id"]).triggered_by_user.username == "operator"
