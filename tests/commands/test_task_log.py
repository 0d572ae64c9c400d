"""`manage.py task_log RUN_ID TASK [--attempt N] [--follow]` on finished runs: lines, attempts, exit codes.

Following a task while a real worker runs it: test_task_log_on_workers.py.
"""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from flowforge_admin.api import register_task_pipeline, run_flow

from . import log_tasks

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(tmp_path, django_capture_on_commit_callbacks):
    """A finished run: "talk" succeeded; "flaky" failed twice (one retry)."""
    gate = tmp_path / "open"
    gate.touch()
    flow = register_task_pipeline(
        "logs",
        {
            "talk": {"function": log_tasks.chatter, "params": {"gate": str(gate), "lines": 2}},
            "flaky": {
                "function": log_tasks.chatter,
                "params": {"gate": str(gate), "lines": 1, "fail": True},
                "retries": 1,
                "retry_delay": 0,
            },
        },
    )
    with django_capture_on_commit_callbacks(execute=True):
        return run_flow(flow)


def task_log(*args):
    out = StringIO()
    call_command("task_log", *args, stdout=out)
    return out.getvalue()


def messages(output):
    """The level and message of each line (the time differs from run to run; a traceback goes on below)."""
    return [line.split(maxsplit=1)[1] for line in output.splitlines() if line.startswith("20")]


def test_it_prints_the_latest_attempts_lines_and_its_status(run):
    output = task_log(str(run.pk), "talk")
    assert messages(output) == [
        "INFO     talk line 0",
        "INFO     talk line 1",
        "WARNING  talk past the gate",
    ]
    assert output.splitlines()[-1] == f"task 'talk' of run {run.pk}, attempt 1: succeeded"
    assert output.splitlines()[0][:2] == "20"  # a UTC time first: 2026-12-06T07:22:25.123Z
    assert task_log(str(run.pk), "talk", "--follow").splitlines()[1:] == output.splitlines()


@pytest.mark.parametrize("follow", [[], ["--follow"]])
def test_a_failed_attempt_exits_1_and_an_earlier_one_is_readable(run, follow):
    for attempt in (["--attempt", "1"], []):
        out = StringIO()
        with pytest.raises(CommandError) as caught:
            call_command("task_log", str(run.pk), "flaky", *attempt, *follow, stdout=out)
        assert caught.value.returncode == 1
        number = 1 if attempt else 2
        assert str(caught.value) == f"task 'flaky' of run {run.pk}, attempt {number}: failed"
        assert messages(out.getvalue()) == [
            *(["INFO     Attempt 2 started."] if number == 2 else []),
            "INFO     flaky line 0",
            "WARNING  flaky past the gate",
            "ERROR    Traceback (most recent call last):",
        ]
        assert out.getvalue().endswith("RuntimeError: failing on purpose\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x", "talk"], "RUN_ID 'x' is not a run id (a whole number)"),
        (["999", "talk"], "there is no run 999"),
        (["{run}", "nope"], "run {run} has no task 'nope' (its tasks: talk, flaky)"),
        (["{run}", "talk", "--attempt", "2"], "task 'talk' of run {run} has no attempt 2 (it has had 1)"),
        (["{run}", "talk", "--attempt", "0"], "--attempt '0' is not an attempt number (1, 2, ...)"),
    ],
)
def test_bad_input_exits_2_with_the_message(run, args, message):
    with pytest.raises(CommandError) as caught:
        task_log(*(arg.format(run=run.pk) for arg in args))
    assert (caught.value.returncode, str(caught.value)) == (2, message.format(run=run.pk))
