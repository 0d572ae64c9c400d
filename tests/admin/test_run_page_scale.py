"""The run page of a large run: pages of tasks, a status filter, and a live view that sends what changed."""

import itertools
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowforge_admin.admin.run_live import DELTA_ROWS
from flowforge_admin.admin.task_pages import TASKS_PER_PAGE
from flowforge_admin.api import (
    cancel_run,
    launch_flow,
    mark_task,
    register_task_pipeline,
    rerun_failed,
    retry_task,
    run_flow,
)
from flowforge_admin.engine.worker import claim, record_success
from flowforge_admin.exceptions import InvalidTransition

from .. import engine_tasks as t

pytestmark = pytest.mark.django_db
RUNS = itertools.count()


def chain(name, count):
    """A flow of ``count`` tasks, each after the one before: launched, only t0 is queued."""
    return register_task_pipeline(
        name,
        {f"t{i}": {"function": t.echo, "depends_on": [f"t{i - 1}"] if i else []} for i in range(count)},
    )


def fan(name, count):
    """A flow of ``count`` independent tasks: launched, all are queued."""
    return register_task_pipeline(name, {f"t{i}": {"function": t.echo} for i in range(count)})


def page_url(run, **query):
    return reverse("admin:flowforge_admin_flowrun_change", args=[run.pk]), query


def live_url(run):
    return reverse("admin:flowforge_admin_flowrun_live", args=[run.pk])


def shown(response):
    return [row.name for row in response.context["rows"]]


def row_ids(html):
    return re.findall(r'<tr id="task-([^"]+)"', html)


class Poller:
    """The page's side of the live view: keeps the marker and page key it is sent, as run.js does."""

    def __init__(self, client, run, **query):
        self.client, self.url, self.query = client, live_url(run), query
        self.since = self.page = None

    def poll(self):
        query = dict(self.query)
        if self.since is not None:
            query.update(since=self.since, page=self.page)
        response = self.client.get(self.url, query)
        assert response.status_code == 200
        data = response.json()
        self.since, self.page = data["since"], data["page"]
        return data

    def sent(self, data):
        return row_ids(data["html"]["tasks"] if data["full"] else data["html"].get("rows", ""))


# Pages and the status filter ---------------------------------------------------------


def test_a_large_run_shows_one_page_of_tasks_in_dependency_order(admin_client):
    run = launch_flow(chain("long", 250))
    url, _ = page_url(run)
    first = admin_client.get(url)
    assert shown(first) == [f"t{i}" for i in range(TASKS_PER_PAGE)]
    assert "Tasks 1–100 of 250" in first.text
    assert '<a href="?tasks=3">3</a>' in first.text
    last = admin_client.get(url, {"tasks": 3})
    assert shown(last) == [f"t{i}" for i in range(200, 250)]
    assert "Tasks 201–250 of 250" in last.text


@pytest.mark.parametrize(
    ("asked", "page", "message"),
    [
        ("abc", 1, "Task page “abc” is not a page number: page 1 is shown."),
        ("0", 1, "There is no task page 0 (pages 1 to 3): page 1 is shown."),
        (
            "99999999999999999999999",
            3,
            "There is no task page 99999999999999999999999 (pages 1 to 3): page 3",
        ),
    ],
)
def test_a_page_that_does_not_exist_is_reported_and_the_nearest_shown(admin_client, asked, page, message):
    run = launch_flow(chain("long", 250))
    url, _ = page_url(run)
    response = admin_client.get(url, {"tasks": asked})
    assert response.status_code == 200
    assert message in response.text
    assert response.context["task_page"].page.number == page
    live = admin_client.get(live_url(run), {"tasks": asked})
    assert live.status_code == 200
    assert message in live.json()["html"]["tasks"]


def test_the_status_filter_keeps_the_tasks_of_that_status_in_page_order(admin_client):
    flow = register_task_pipeline(
        "mixed", {f"t{i:03d}": {"function": t.fail if i % 3 == 0 else t.echo} for i in range(130)}
    )
    run = run_flow(flow)
    url, _ = page_url(run)
    failed = admin_client.get(url, {"task_status": "failed"})
    assert shown(failed) == [f"t{i:03d}" for i in range(0, 130, 3)]
    assert "Tasks 1–44 of 44" in failed.text
    # The chart draws the rows of the page.
    chart = failed.context["chart"]
    assert [label["name"] for label in chart["labels"]] == shown(failed)
    assert [bar.name for bar in chart["bars"]] == shown(failed)
    # The counters in the summary are the filter's links.
    assert 'href="?task_status=failed"' in failed.text
    none = admin_client.get(url, {"task_status": "running"})
    assert shown(none) == []
    assert "No task is running." in none.text


def test_an_unknown_status_is_reported_and_every_task_shown(admin_client):
    run = launch_flow(chain("short", 3))
    url, _ = page_url(run)
    response = admin_client.get(url, {"task_status": "<b>bogus</b>"})
    assert response.status_code == 200
    assert "There is no task status “&lt;b&gt;bogus&lt;/b&gt;”" in response.text
    assert shown(response) == ["t0", "t1", "t2"]


# Queries that do not grow with the number of tasks ------------------------------------


def queries(client, url, query=None):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, query or {}).status_code == 200
    return len(captured)


@pytest.mark.parametrize("query", [{}, {"tasks": "2"}, {"task_status": "pending"}, {"task_status": "queued"}])
def test_the_page_and_its_live_view_take_as_many_queries_for_120_tasks_as_for_2000(
    admin_client, settings, query
):
    settings.FLOWFORGE_LAUNCH_INLINE_TASKS = 2000  # both runs started by their launch: tasks queued to claim
    small, large = launch_flow(fan("small", 120)), launch_flow(fan("large", 2000))
    for run in (small, large):  # a running task and a changed one on both
        claim(run.task_runs.get(task_name="t1").pk, 1, run.pk)
    counted = {}
    for run in (small, large):
        url, _ = page_url(run)
        admin_client.get(url, query)  # the first look at a run reads its snapshot, once per process
        poller = Poller(admin_client, run, **query)
        poller.poll()
        claim(run.task_runs.get(task_name="t2").pk, 1, run.pk)
        delta = {**query, "since": poller.since, "page": poller.page}
        counted[run.pk] = (
            queries(admin_client, url, query),
            queries(admin_client, live_url(run), query),
            queries(admin_client, live_url(run), delta),
        )
    assert counted[small.pk] == counted[large.pk]


# The live view sends what changed ---------------------------------------------------


def test_the_first_poll_sends_the_page_then_only_the_rows_that_changed(admin_client):
    run = launch_flow(fan("wide", 150))
    poller = Poller(admin_client, run)
    first = poller.poll()
    assert first["full"] is True
    assert poller.sent(first) == [f"t{i}" for i in range(TASKS_PER_PAGE)]
    quiet = poller.poll()
    assert (quiet["full"], quiet["tasks"], quiet["more"]) == (False, {}, False)
    assert "rows" not in quiet["html"]

    claim(run.task_runs.get(task_name="t7").pk, 1, run.pk)
    changed = poller.poll()
    assert changed["full"] is False
    assert changed["tasks"] == {"t7": "running"}
    assert poller.sent(changed) == ["t7"]
    assert list(changed["durations"]) == ["task-t7"]
    assert poller.poll()["tasks"] == {}

    record_success(run.pk, "t7", 1, output={"rows": 3})
    done = poller.poll()
    assert done["tasks"] == {"t7": "succeeded"}
    assert '<span class="ff-tree-key">rows</span>: <span class="ff-tree-num">3</span>' in done["html"]["rows"]
    assert done["durations"] == {}


def test_a_change_on_another_page_is_not_sent(admin_client):
    run = launch_flow(fan("wide", 150))
    poller = Poller(admin_client, run)
    poller.poll()
    claim(run.task_runs.get(task_name="t120").pk, 1, run.pk)
    assert poller.poll()["tasks"] == {}
    on_two = Poller(admin_client, run, tasks="2")
    assert "t120" in on_two.sent(on_two.poll())


def test_many_rows_changed_at_once_come_in_bounded_answers_none_lost_none_twice(admin_client):
    """A cancel moves every row in one change: they share one revision, split across answers by id."""
    run = launch_flow(fan("wide", 150))
    poller = Poller(admin_client, run)
    poller.poll()
    cancel_run(run)
    received, answers = [], []
    while True:
        data = poller.poll()
        answers.append(data)
        received += poller.sent(data)
        assert len(data["tasks"]) <= DELTA_ROWS
        if not data["more"]:
            break
    assert len(answers) == -(-TASKS_PER_PAGE // DELTA_ROWS)
    assert sorted(received) == sorted(f"t{i}" for i in range(TASKS_PER_PAGE))
    assert len(set(received)) == len(received)
    assert all(status == "cancelled" for data in answers for status in data["tasks"].values())
    assert answers[-1]["finished"] is True
    assert poller.poll()["tasks"] == {}


def test_a_row_changed_between_two_bounded_answers_comes_in_a_later_one(admin_client):
    """The boundary of one revision: a later change to a row already sent, or not yet sent, is not lost."""
    run = launch_flow(fan("wide", 150))
    poller = Poller(admin_client, run)
    poller.poll()
    cancel_run(run)
    first = poller.poll()
    assert first["more"] is True
    already, later = poller.sent(first)[0], f"t{TASKS_PER_PAGE - 1}"
    assert later not in poller.sent(first)
    # Both change again (a re-run queues the cancelled tasks) before the next poll.
    rerun_failed(run)
    statuses = {}
    while True:
        data = poller.poll()
        statuses.update(data["tasks"])
        if not data["more"]:
            break
    assert statuses[already] == "queued"
    assert statuses[later] == "queued"
    assert len(statuses) == TASKS_PER_PAGE


@pytest.mark.parametrize("since", ["", "garbage", "1.2.3", "999999999", "-1"])
def test_no_marker_or_one_it_cannot_use_gets_the_whole_page(admin_client, since):
    run = launch_flow(fan("wide", 5))
    response = admin_client.get(live_url(run), {"since": since, "page": "whatever"})
    data = response.json()
    assert data["full"] is True
    assert row_ids(data["html"]["tasks"]) == [f"t{i}" for i in range(5)]


def test_a_filtered_page_whose_rows_change_comes_whole(admin_client):
    run = launch_flow(fan("wide", 10))
    poller = Poller(admin_client, run, task_status="running")
    assert poller.sent(poller.poll()) == []
    claim(run.task_runs.get(task_name="t3").pk, 1, run.pk)
    data = poller.poll()
    assert data["full"] is True
    assert poller.sent(data) == ["t3"]
    assert poller.poll()["full"] is False


def test_the_page_gives_the_marker_and_page_key_the_live_view_goes_on_from(admin_client):
    run = launch_flow(fan("wide", 150))
    url, _ = page_url(run)
    page = admin_client.get(url)
    since = re.search(r'data-since="([^"]+)"', page.text).group(1)
    key = re.search(r'data-page-key="([^"]+)"', page.text).group(1)
    claim(run.task_runs.get(task_name="t4").pk, 1, run.pk)
    data = admin_client.get(live_url(run), {"since": since, "page": key}).json()
    assert (data["full"], data["tasks"]) == (False, {"t4": "running"})


# Whatever happens between polls, the page ends up showing what is stored ------------

OPERATIONS = st.sampled_from(["claim", "succeed", "fail", "mark", "retry", "cancel", "rerun", "poll"])


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    steps=st.lists(st.tuples(OPERATIONS, st.integers(0, 119)), max_size=25), page=st.sampled_from(["1", "2"])
)
def test_the_rows_the_live_view_sends_keep_the_page_as_stored(admin_client, steps, page):
    """A page that applies every answer as run.js does holds, after its last poll, every row as stored."""
    run = launch_flow(fan(f"wide_{next(RUNS)}", 120))
    poller = Poller(admin_client, run, tasks=page)
    statuses = {}

    def poll_all():
        while True:
            data = poller.poll()
            if data["full"]:
                statuses.clear()
            statuses.update(data["tasks"])
            if not data["more"]:
                return

    poll_all()
    for operation, index in steps:
        name = f"t{index}"
        task_run = run.task_runs.get(task_name=name)
        try:
            if operation == "claim":
                claim(task_run.pk, task_run.attempt, run.pk)
            elif operation == "succeed":
                record_success(run.pk, name, task_run.attempt, output={"i": index})
            elif operation == "fail":
                mark_task(task_run, "failed", "by the test")
            elif operation == "mark":
                mark_task(task_run, "succeeded", "by the test")
            elif operation == "retry":
                retry_task(task_run)
            elif operation == "cancel":
                cancel_run(run)
            elif operation == "rerun":
                rerun_failed(run)
            else:
                poll_all()
        except InvalidTransition:
            pass
    poll_all()
    names = [f"t{i}" for i in (range(100) if page == "1" else range(100, 120))]
    assert statuses == dict(run.task_runs.filter(task_name__in=names).values_list("task_name", "status"))
