"""The task log page in a real headless Chromium: it follows a running task without reloading."""

import datetime
import logging

import pytest
from django.urls import reverse
from django.utils import timezone
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from flowforge_admin.admin.logs import TaskRunAdmin
from flowforge_admin.api import register_task_pipeline, run_flow
from flowforge_admin.models import TaskLog, TaskRun

from .. import engine_tasks as t

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

POLL_SECONDS = TaskRunAdmin.log_poll_ms / 1000


@pytest.fixture
def running_task():
    """A task run in its first attempt, with a screenful of lines of every level."""
    flow = register_task_pipeline("etl", {"load_orders": {"function": t.echo}})
    task_run = run_flow(flow).task_runs.get(task_name="load_orders")
    task_run.logs.all().delete()
    TaskRun.objects.filter(pk=task_run.pk).update(
        status="running", attempt=1, started_at=timezone.now(), finished_at=None
    )
    samples = [
        (logging.DEBUG, "orders.db", "connecting to warehouse (pool size 4)"),
        (logging.INFO, "orders", "fetched 1200 orders from 2026-11-24"),
        (logging.INFO, "stdout", "    indented output keeps its spaces"),
        (logging.WARNING, "orders", "order 1123 has no customer; skipped"),
        (
            logging.ERROR,
            "stderr",
            'Traceback (most recent call last):\n  File "load.py", line 3\nKeyError: 7',
        ),
        (logging.INFO, "orders", "a long line " + "with many words " * 20),
    ]
    add(task_run, [samples[n % len(samples)] for n in range(60)])
    return task_run


def add(task_run, lines):
    start = timezone.now()
    TaskLog.objects.bulk_create(
        TaskLog(
            task_run=task_run,
            attempt=1,
            logged_at=start + datetime.timedelta(milliseconds=n),
            level=level,
            source=source,
            message=message,
        )
        for n, (level, source, message) in enumerate(lines)
    )


def set_theme(browser, theme):
    """Switch admin's theme, then wait for its colour transitions to end (a screenshot would catch them midway)."""
    browser.execute_script("document.documentElement.dataset.theme = arguments[0];", theme)
    WebDriverWait(browser, 30).until(
        lambda b: b.execute_script(
            "return !document.getAnimations().some((a) => a instanceof CSSTransition);"
        )
    )


def row_count(browser):
    return len(browser.find_elements(By.CSS_SELECTOR, "#ff-log-lines tbody tr"))


def at_bottom(browser):
    return browser.execute_script(
        "return window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 40;"
    )


def test_log_page_follows_a_running_task_until_it_finishes(browser, logged_in, running_task, screenshot):
    browser.get(logged_in(reverse("admin:flowforge_admin_taskrun_log", args=[running_task.pk])))
    wait = WebDriverWait(browser, 30)
    wait.until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, "[data-ff-live]"), "Following"))
    assert row_count(browser) == 60
    assert at_bottom(browser)  # a followed log opens at its end, like tail -f
    # Count the polls, and mark the page: a reload would lose both.
    browser.execute_script(
        "window.ffPolls = 0; const f = window.fetch;"
        "window.fetch = (...a) => { window.ffPolls++; return f(...a); };"
    )
    screenshot("log_running_light")

    add(running_task, [(logging.INFO, "orders", "new line one"), (logging.ERROR, "orders", "new line two")])
    wait.until(lambda b: row_count(b) == 62)
    last = browser.find_elements(By.CSS_SELECTOR, "#ff-log-lines tbody tr")[-1]
    assert "new line two" in last.text
    assert "ff-log-error" in last.get_attribute("class")
    assert browser.execute_script("return window.ffPolls") >= 1  # the same page, not a reload
    assert at_bottom(browser)  # the reader was at the end, so the page stays there

    set_theme(browser, "dark")
    screenshot("log_running_dark")
    set_theme(browser, "light")

    TaskRun.objects.filter(pk=running_task.pk).update(status="succeeded", finished_at=timezone.now())
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "[data-ff-live][data-state=finished]")))
    assert browser.find_element(By.CSS_SELECTOR, "[data-ff-status] .ff-status-succeeded").text == "succeeded"
    polls = browser.execute_script("return window.ffPolls")
    # Polling has stopped: no request comes in three poll intervals, and a
    # line written now is not fetched. Proving an absence needs a bounded wait.
    add(running_task, [(logging.INFO, "orders", "too late")])
    with pytest.raises(TimeoutException):
        WebDriverWait(browser, 3 * POLL_SECONDS).until(
            lambda b: b.execute_script("return window.ffPolls") > polls
        )
    assert row_count(browser) == 62
    browser.execute_script("window.scrollTo(0, 0);")
    screenshot("log_finished_light")


def test_earlier_attempt_of_a_finished_task_filtered(browser, logged_in, running_task, screenshot):
    """The lines are in attempt 1; the task failed on attempt 2, which logged nothing."""
    TaskRun.objects.filter(pk=running_task.pk).update(status="failed", attempt=2, finished_at=timezone.now())
    browser.get(logged_in(reverse("admin:flowforge_admin_taskrun_log", args=[running_task.pk])))
    empty = WebDriverWait(browser, 30).until(
        ec.visibility_of_element_located((By.CSS_SELECTOR, ".ff-log-empty"))
    )
    assert empty.text == "No log lines for this attempt."
    # Each tab carries its attempt's status, when it is known (attempt 1's was made up here, unrecorded).
    assert browser.find_element(By.CSS_SELECTOR, ".ff-log-attempts [aria-current]").text == "Attempt 2 failed"
    browser.find_element(By.LINK_TEXT, "Attempt 1").click()
    WebDriverWait(browser, 30).until(ec.url_contains("attempt=1"))
    assert row_count(browser) == 60
    browser.find_element(By.CSS_SELECTOR, "select[name=level] option[value=WARNING]").click()
    browser.find_element(By.NAME, "q").send_keys("ORDER")
    browser.find_element(By.CSS_SELECTOR, ".ff-log-filter input[type=submit]").click()
    WebDriverWait(browser, 30).until(ec.url_contains("level=WARNING"))
    assert "attempt=1" in browser.current_url
    rows = browser.find_elements(By.CSS_SELECTOR, "#ff-log-lines tbody tr")
    assert len(rows) == 10
    assert {row.find_element(By.CSS_SELECTOR, ".ff-log-level").text for row in rows} == {"WARNING"}
    assert rows[0].find_element(By.CSS_SELECTOR, "mark").text == "order"
    assert browser.find_element(By.CSS_SELECTOR, "[data-ff-live]").get_attribute("hidden") is not None
    screenshot("log_filtered_light")
    set_theme(browser, "dark")
    screenshot("log_filtered_dark")


def test_a_long_log_opens_at_its_end_with_links_to_older_pages(browser, logged_in, running_task, screenshot):
    TaskRun.objects.filter(pk=running_task.pk).update(status="succeeded", finished_at=timezone.now())
    add(running_task, [(logging.INFO, "orders", f"batch {n} done") for n in range(1200)])
    browser.get(logged_in(reverse("admin:flowforge_admin_taskrun_log", args=[running_task.pk])))
    WebDriverWait(browser, 30).until(ec.presence_of_element_located((By.CSS_SELECTOR, "#ff-log-lines")))
    assert row_count(browser) == 500
    assert browser.find_elements(By.CSS_SELECTOR, "#ff-log-lines tbody tr")[-1].text.endswith(
        "batch 1199 done"
    )
    screenshot("log_long_newest")
    browser.find_element(By.CSS_SELECTOR, "[data-ff-page=older]").click()
    WebDriverWait(browser, 30).until(ec.url_contains("before="))
    first = browser.find_elements(By.CSS_SELECTOR, "#ff-log-lines tbody tr")[0]
    assert first.text.endswith("batch 200 done")
    newer = browser.find_element(By.CSS_SELECTOR, "[data-ff-page=newer]")
    assert newer.is_displayed()
    screenshot("log_long_older")


def test_a_long_followed_log_drops_its_oldest_rows_and_links_to_them(
    browser, logged_in, running_task, monkeypatch
):
    """A page left open on a chatty task keeps at most log_max_rows rows; the rest is an "older" link away."""
    monkeypatch.setattr(TaskRunAdmin, "log_max_rows", 60)  # the live server runs in this process
    browser.get(logged_in(reverse("admin:flowforge_admin_taskrun_log", args=[running_task.pk])))
    wait = WebDriverWait(browser, 30)
    wait.until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, "[data-ff-live]"), "Following"))
    older = browser.find_element(By.CSS_SELECTOR, "[data-ff-page=older]")
    assert not older.is_displayed()  # 60 lines: all of them are on the page
    ids = [
        row.get_attribute("data-id")
        for row in browser.find_elements(By.CSS_SELECTOR, "#ff-log-lines tbody tr")
    ]

    add(running_task, [(logging.INFO, "orders", "one more"), (logging.INFO, "orders", "and another")])
    wait.until(
        lambda b: "and another" in b.find_element(By.CSS_SELECTOR, "#ff-log-lines tbody tr:last-child").text
    )
    assert row_count(browser) == 60
    first = browser.find_element(By.CSS_SELECTOR, "#ff-log-lines tbody tr").get_attribute("data-id")
    assert first == ids[2]
    assert older.is_displayed()
    assert older.get_attribute("href").endswith(f"?before={first}")
