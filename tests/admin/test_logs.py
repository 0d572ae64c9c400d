"""The task log pages: one attempt at a time, filtered, paginated by id, followed live, downloaded."""

import datetime
import logging
import re

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from flowforge_admin import logs_query
from flowforge_admin.admin.logs import TaskRunAdmin
from flowforge_admin.api import register_task_pipeline, run_flow
from flowforge_admin.models import TaskLog, TaskRun

from .. import engine_tasks as t

pytestmark = pytest.mark.django_db

START = datetime.datetime(2026, 11, 25, 10, 0, 0, 123000, tzinfo=datetime.UTC)
VIEWS = ["log", "log_lines", "log_download"]


@pytest.fixture
def task_run():
    """A finished task run of one attempt, with no log lines of its own."""
    flow = register_task_pipeline("logged", {"work": {"function": t.echo}})
    task_run = run_flow(flow).task_runs.get(task_name="work")
    task_run.logs.all().delete()
    return task_run


def add_lines(task_run, count, *, attempt=1, level=logging.INFO, message="line {}", source="app"):
    """Store ``count`` lines (one query per 1 000), a millisecond apart; return them in id order."""
    TaskLog.objects.bulk_create(
        (
            TaskLog(
                task_run=task_run,
                attempt=attempt,
                logged_at=START + datetime.timedelta(milliseconds=number),
                level=level,
                source=source,
                message=message.format(number),
            )
            for number in range(count)
        ),
        batch_size=1000,
    )
    return list(task_run.logs.filter(attempt=attempt).order_by("id"))


def set_running(task_run, attempt=1):
    TaskRun.objects.filter(pk=task_run.pk).update(
        status="running", attempt=attempt, started_at=timezone.now(), finished_at=None
    )


def url(name, task_run, **params):
    base = reverse(f"admin:flowforge_admin_taskrun_{name}", args=[task_run.pk])
    return TaskRunAdmin.log_url(base, params)


def shown_messages(response):
    return [line.message for line, _message in response.context["rows"]]


# Who may read logs


@pytest.mark.parametrize("name", VIEWS)
def test_anonymous_users_are_sent_to_the_login_page(client, task_run, name):
    response = client.get(url(name, task_run))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.parametrize("name", VIEWS)
def test_staff_without_view_permission_get_403(client, task_run, name):
    client.force_login(User.objects.create_user("nobody", password="pw", is_staff=True))
    assert client.get(url(name, task_run)).status_code == 403


@pytest.mark.parametrize("name", VIEWS)
def test_stakeholders_and_superusers_read_logs(stakeholder_client, admin_client, task_run, name):
    add_lines(task_run, 3)
    for client in (stakeholder_client, admin_client):
        response = client.get(url(name, task_run))
        assert response.status_code == 200
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert b"line 2" in body


def test_an_unknown_task_run_is_404(stakeholder_client, task_run):
    missing = reverse("admin:flowforge_admin_taskrun_log", args=[task_run.pk + 1000])
    assert stakeholder_client.get(missing).status_code == 404


def test_task_runs_are_hidden_from_the_index_and_cannot_be_edited(admin_client, task_run):
    index = admin_client.get(reverse("admin:index")).text
    assert reverse("admin:flowforge_admin_flowrun_changelist") in index
    assert reverse("admin:flowforge_admin_taskrun_changelist") not in index
    changelist = admin_client.get(reverse("admin:flowforge_admin_taskrun_changelist"))
    assert changelist.status_code == 200
    assert "ff-status-succeeded" in changelist.text
    assert admin_client.get(reverse("admin:flowforge_admin_taskrun_add")).status_code == 403
    assert (
        admin_client.get(reverse("admin:flowforge_admin_taskrun_history", args=[task_run.pk])).status_code
        == 200
    )
    change = reverse("admin:flowforge_admin_taskrun_change", args=[task_run.pk])
    assert admin_client.get(change)["Location"] == url("log", task_run)
    admin_client.post(change, {"status": "failed"})
    assert (
        admin_client.get(reverse("admin:flowforge_admin_taskrun_delete", args=[task_run.pk])).status_code
        == 403
    )
    task_run.refresh_from_db()
    assert task_run.status == "succeeded"


def test_the_change_page_of_an_unknown_task_run_is_404(admin_client, task_run):
    change = reverse("admin:flowforge_admin_taskrun_change", args=[task_run.pk + 1000])
    assert admin_client.get(change).status_code == 404


# The page


def test_page_shows_the_task_its_run_and_lines_in_utc(stakeholder_client, task_run):
    add_lines(task_run, 2, message="hello <b>{}</b>")
    page = stakeholder_client.get(url("log", task_run))
    assert page.status_code == 200
    text = page.text
    assert reverse("admin:flowforge_admin_flowrun_change", args=[task_run.run_id]) in text
    assert 'class="ff-status ff-status-succeeded"' in text
    assert "1 of 1" in text
    assert '<time datetime="2026-11-25T10:00:00.124Z">' in text
    assert "10:00:00.123" in text
    assert "hello &lt;b&gt;1&lt;/b&gt;" in text  # messages are text, never HTML
    assert reverse("admin:flowforge_admin_taskrun_log_download", args=[task_run.pk]) in text
    assert 'data-follow="0"' in text  # a finished task is not followed


def test_an_empty_log_says_so(stakeholder_client, task_run):
    page = stakeholder_client.get(url("log", task_run)).text
    assert "No log lines for this attempt." in page
    assert '<table class="ff-log-lines" id="ff-log-lines" hidden>' in page


def test_a_task_that_has_not_started_is_followed_until_it_starts(stakeholder_client, task_run):
    TaskRun.objects.filter(pk=task_run.pk).update(status="queued", attempt=0, started_at=None)
    page = stakeholder_client.get(url("log", task_run)).text
    assert "This task has not started yet" in page
    assert 'data-follow="1"' in page
    data = stakeholder_client.get(url("log_lines", task_run, after=0)).json()
    assert data["finished"] is False
    assert data["attempt"] == 0


# Attempts


@pytest.fixture
def two_attempts(task_run):
    TaskRun.objects.filter(pk=task_run.pk).update(attempt=2)
    add_lines(task_run, 2, attempt=1, message="first try {}")
    add_lines(task_run, 2, attempt=2, message="second try {}")
    task_run.refresh_from_db()
    return task_run


def test_the_current_attempt_shows_by_default_with_links_to_every_attempt(stakeholder_client, two_attempts):
    page = stakeholder_client.get(url("log", two_attempts))
    assert shown_messages(page) == ["second try 0", "second try 1"]
    assert f'href="{url("log", two_attempts, attempt=1)}"' in page.text
    assert f'href="{url("log", two_attempts, attempt=2)}" aria-current="page"' in page.text
    assert "2 of 2" in page.text


def test_an_earlier_attempt_keeps_its_own_lines(stakeholder_client, two_attempts):
    page = stakeholder_client.get(url("log", two_attempts, attempt=1))
    assert shown_messages(page) == ["first try 0", "first try 1"]
    assert "1 of 2" in page.text
    download = stakeholder_client.get(url("log_download", two_attempts, attempt=1))
    assert b"first try" in b"".join(download.streaming_content)
    assert "attempt1.log" in download["Content-Disposition"]


def test_an_attempt_that_does_not_exist_is_404_and_bad_input_400(stakeholder_client, two_attempts):
    assert stakeholder_client.get(url("log", two_attempts, attempt=3)).status_code == 404
    assert stakeholder_client.get(url("log", two_attempts, attempt="x")).status_code == 400
    assert stakeholder_client.get(url("log", two_attempts, level="LOUD")).status_code == 400
    assert stakeholder_client.get(url("log_lines", two_attempts, before=5, after=2)).status_code == 400


# Filters


@pytest.fixture
def mixed_levels(task_run):
    for level in (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL):
        add_lines(task_run, 1, level=level, message=f"{logging.getLevelName(level).lower()} Needle")
    add_lines(task_run, 1, level=logging.ERROR, message="nothing to find")
    return task_run


def test_level_filter_keeps_that_level_and_above(stakeholder_client, mixed_levels):
    page = stakeholder_client.get(url("log", mixed_levels, level="WARNING"))
    assert shown_messages(page) == ["warning Needle", "error Needle", "critical Needle", "nothing to find"]
    assert 'class="ff-log-warning"' in page.text
    assert 'class="ff-log-error"' in page.text
    lines = stakeholder_client.get(url("log_lines", mixed_levels, level="ERROR", after=0)).json()["lines"]
    assert [line["level"] for line in lines] == ["ERROR", "CRITICAL", "ERROR"]
    assert {line["severity"] for line in lines} == {"error"}


def test_search_is_case_insensitive_and_marks_the_matches(stakeholder_client, mixed_levels):
    page = stakeholder_client.get(url("log", mixed_levels, q="needle"))
    assert len(shown_messages(page)) == 5
    assert "nothing to find" not in shown_messages(page)
    assert "info <mark>Needle</mark>" in page.text
    assert "Clear filters" in page.text
    both = stakeholder_client.get(url("log", mixed_levels, q="NEEDLE", level="ERROR"))
    assert shown_messages(both) == ["error Needle", "critical Needle"]


def test_a_filter_that_matches_nothing_says_so(stakeholder_client, mixed_levels):
    page = stakeholder_client.get(url("log", mixed_levels, q="absent"))
    assert shown_messages(page) == []
    assert "No log lines match these filters." in page.text


# Pagination


@pytest.fixture
def long_log(task_run):
    return add_lines(task_run, 1200)


def page_ids(response):
    return [line.id for line, _message in response.context["rows"]]


def link(response, name):
    """The href of a pager link (older, newer, first, newest), or None when it is hidden."""
    found = re.search(rf'<a href="([^"]*)" data-ff-page="{name}"( hidden)?>', response.text)
    return None if found.group(2) else found.group(1).replace("&amp;", "&")


def test_the_newest_page_shows_the_end_of_the_log(stakeholder_client, task_run, long_log):
    ids = [line.id for line in long_log]
    newest = stakeholder_client.get(url("log", task_run))
    assert page_ids(newest) == ids[-500:]
    assert link(newest, "newer") is None
    assert link(newest, "newest") is None
    older = stakeholder_client.get(link(newest, "older"))
    assert page_ids(older) == ids[200:700]
    oldest = stakeholder_client.get(link(older, "older"))
    assert page_ids(oldest) == ids[:200]
    assert link(oldest, "older") is None
    back = stakeholder_client.get(link(oldest, "newer"))
    assert page_ids(back) == ids[200:700]
    assert stakeholder_client.get(link(back, "newest")).context["rows"] == newest.context["rows"]


def test_pages_from_the_first_line_cover_the_log_once(stakeholder_client, task_run, long_log):
    seen = []
    response = stakeholder_client.get(url("log", task_run, after=0))
    while True:
        seen += page_ids(response)
        assert len(page_ids(response)) <= TaskRunAdmin.log_page_size
        if link(response, "newer") is None:
            break
        response = stakeholder_client.get(link(response, "newer"))
    assert seen == [line.id for line in long_log]
    assert link(response, "first") == url("log", task_run, attempt=1, after=0)


def test_pager_links_keep_the_filters(stakeholder_client, task_run):
    add_lines(task_run, 600, level=logging.WARNING, message="warn {}")
    add_lines(task_run, 600, level=logging.INFO, message="info {}")
    page = stakeholder_client.get(url("log", task_run, level="WARNING"))
    assert shown_messages(page)[-1] == "warn 599"
    older = link(page, "older")
    assert "level=WARNING" in older
    assert all(m.startswith("warn") for m in shown_messages(stakeholder_client.get(older)))


def queries_for(client, address):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(address)
        assert response.status_code == 200
        if response.streaming:
            b"".join(response.streaming_content)
    return len(queries)


def test_page_and_lines_take_the_same_queries_for_100_and_1200_lines(stakeholder_client, task_run):
    set_running(task_run)
    lines = add_lines(task_run, 100)
    few = {name: queries_for(stakeholder_client, url(name, task_run, after=0)) for name in VIEWS[:2]}
    newest_few = queries_for(stakeholder_client, url("log", task_run))
    middle_few = queries_for(stakeholder_client, url("log", task_run, before=lines[50].id))
    lines = add_lines(task_run, 1100)
    assert {name: queries_for(stakeholder_client, url(name, task_run, after=0)) for name in VIEWS[:2]} == few
    assert queries_for(stakeholder_client, url("log", task_run)) == newest_few
    assert queries_for(stakeholder_client, url("log", task_run, before=lines[600].id)) == middle_few


# Following a running task


def test_lines_endpoint_returns_only_the_lines_after_the_given_one(stakeholder_client, task_run):
    set_running(task_run)
    lines = add_lines(task_run, 10)
    data = stakeholder_client.get(url("log_lines", task_run, after=lines[6].id)).json()
    assert [line["message"] for line in data["lines"]] == ["line 7", "line 8", "line 9"]
    assert data["last_id"] == lines[9].id
    assert data["lines"][0] == {
        "id": lines[7].id,
        "time": "2026-11-25T10:00:00.130Z",
        "level": "INFO",
        "severity": "info",
        "source": "app",
        "message": "line 7",
    }
    assert data["status"] == "running"
    assert data["finished"] is False
    assert data["more"] is False
    nothing_new = stakeholder_client.get(url("log_lines", task_run, after=lines[9].id)).json()
    assert nothing_new["lines"] == []
    assert nothing_new["last_id"] == lines[9].id


def test_lines_endpoint_caps_its_answer(stakeholder_client, task_run, monkeypatch):
    monkeypatch.setattr(TaskRunAdmin, "log_lines_limit", 4)
    lines = add_lines(task_run, 10)
    first = stakeholder_client.get(url("log_lines", task_run, after=0)).json()
    assert len(first["lines"]) == 4
    assert first["more"] is True
    rest = stakeholder_client.get(url("log_lines", task_run, after=first["last_id"])).json()
    assert [line["id"] for line in rest["lines"]] == [line.id for line in lines[4:8]]


def test_lines_endpoint_says_when_the_attempt_is_over(stakeholder_client, two_attempts):
    set_running(two_attempts, attempt=2)
    assert stakeholder_client.get(url("log_lines", two_attempts, attempt=2)).json()["finished"] is False
    earlier = stakeholder_client.get(url("log_lines", two_attempts, attempt=1)).json()
    assert earlier["finished"] is True
    assert earlier["current_attempt"] == 2
    TaskRun.objects.filter(pk=two_attempts.pk).update(status="failed", finished_at=timezone.now())
    data = stakeholder_client.get(url("log_lines", two_attempts, attempt=2)).json()
    assert data["finished"] is True
    assert data["status_label"] == "failed"


def test_a_running_task_is_followed_only_from_the_end_of_its_log(stakeholder_client, task_run, long_log):
    set_running(task_run)
    newest = stakeholder_client.get(url("log", task_run))
    assert 'data-follow="1"' in newest.text
    assert f'data-after="{long_log[-1].id}"' in newest.text
    assert 'data-follow="0"' in stakeholder_client.get(url("log", task_run, after=0)).text


# Download


def test_download_streams_every_line_as_text(stakeholder_client, task_run, monkeypatch):
    monkeypatch.setattr(logs_query, "DOWNLOAD_CHUNK", 7)  # several chunks
    add_lines(task_run, 20, message="step {}")
    add_lines(task_run, 1, level=logging.ERROR, message="Traceback:\n  boom", source="")
    response = stakeholder_client.get(url("log_download", task_run))
    assert response.streaming
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    filename = f"logged-run{task_run.run_id}-work-attempt1.log"
    assert response["Content-Disposition"] == f'attachment; filename="{filename}"'
    text = b"".join(response.streaming_content).decode()
    lines = text.splitlines()
    assert lines[0] == "2026-11-25T10:00:00.123Z INFO app step 0"
    assert lines[19] == "2026-11-25T10:00:00.142Z INFO app step 19"
    assert lines[20:] == ["2026-11-25T10:00:00.123Z ERROR - Traceback:", "  boom"]


def test_download_takes_one_query_per_chunk(stakeholder_client, task_run, monkeypatch):
    monkeypatch.setattr(logs_query, "DOWNLOAD_CHUNK", 10)
    add_lines(task_run, 10)
    small = queries_for(stakeholder_client, url("log_download", task_run))
    add_lines(task_run, 40)
    assert queries_for(stakeholder_client, url("log_download", task_run)) == small + 4


# A very long log


def test_a_100000_line_log_answers_one_page_at_a_time(stakeholder_client, task_run, monkeypatch):
    set_running(task_run)
    total = 100_000
    with connection.cursor() as cursor:  # bulk_create of model instances is slower; the rows are the same
        cursor.executemany(
            f"INSERT INTO {TaskLog._meta.db_table} (task_run_id, attempt, logged_at, level, source, message)"
            " VALUES (%s, 1, %s, 20, 'app', %s)",
            [(task_run.pk, START.isoformat(), f"line {n}") for n in range(total)],
        )
    assert task_run.logs.count() == total
    page = stakeholder_client.get(url("log", task_run))
    assert len(page.context["rows"]) == TaskRunAdmin.log_page_size
    assert shown_messages(page)[-1] == "line 99999"
    assert page.text.count('<tr class="ff-log-') == TaskRunAdmin.log_page_size
    data = stakeholder_client.get(url("log_lines", task_run, after=0)).json()
    assert len(data["lines"]) == TaskRunAdmin.log_lines_limit
    assert data["more"] is True
    found = stakeholder_client.get(url("log", task_run, q="line 4242"))
    assert shown_messages(found) == ["line 4242"] + [f"line 4242{n}" for n in range(10)]
