"""`manage.py task_log ... --follow` in its own process while a real `qcluster` runs the task.

The task logs some lines, then waits for a file the test creates: a line
printed before that file exists was followed live, not read at the end.
"""

import queue
import signal
import subprocess
import sys
import threading

import pytest
from django.conf import settings

from flowforge_admin.api import launch_flow, register_task_pipeline

from ..engine.cluster import process_env
from . import log_tasks

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 60


def _default_sigint():
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Follower:
    """``manage.py task_log RUN TASK --follow`` in a child process, its output read line by line as it comes."""

    def __init__(self, run, task):
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "task_log", str(run.pk), task, "--follow"],
            cwd=settings.BASE_DIR,
            env=process_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            # Ctrl-C as a terminal sends it: a shell starts background jobs with SIGINT
            # ignored, and Python keeps an ignored SIGINT ignored (no KeyboardInterrupt).
            preexec_fn=_default_sigint,
        )
        self.lines = queue.Queue()
        self.seen = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for_line(self, text):
        """Read what it printed until a line ends with ``text`` (fail after TIMEOUT s)."""
        while not (self.seen and self.seen[-1].endswith(text)):
            self.seen.append(self.lines.get(timeout=TIMEOUT))

    def finish(self):
        """Wait for it to exit; return (exit code, every stdout line, stderr)."""
        code = self.process.wait(timeout=TIMEOUT)
        stderr = self.process.stderr.read()
        self.process.stdout.close()
        self.process.stderr.close()
        while True:
            try:
                self.seen.append(self.lines.get(timeout=1))
            except queue.Empty:
                return code, self.seen, stderr


def test_follow_prints_lines_as_they_come_until_the_attempt_ends(cluster, tmp_path):
    gate = tmp_path / "gate"
    params = {"gate": str(gate), "lines": 3}
    run = launch_flow(
        register_task_pipeline(
            "followed",
            {
                "talk": {"function": log_tasks.chatter, "params": params},
                "sad": {"function": log_tasks.chatter, "params": {**params, "fail": True}},
            },
        )
    )
    talk, sad, stopped = Follower(run, "talk"), Follower(run, "sad"), Follower(run, "talk")
    talk.wait_for_line("talk line 2")
    sad.wait_for_line("sad line 2")
    stopped.wait_for_line("talk line 0")
    assert not gate.exists()  # so far every line came while the task ran

    stopped.process.send_signal(signal.SIGINT)
    code, _, stderr = stopped.finish()
    assert (code, stderr) == (130, "CommandError: interrupted\n")

    gate.touch()
    code, lines, stderr = talk.finish()
    assert code == 0, stderr
    assert [line.split(maxsplit=1)[-1] for line in lines] == [
        "attempt 1 ---",
        "INFO     talk line 0",
        "INFO     talk line 1",
        "INFO     talk line 2",
        "WARNING  talk past the gate",
        f"'talk' of run {run.pk}, attempt 1: succeeded",
    ]
    code, lines, stderr = sad.finish()
    assert (code, stderr) == (1, f"CommandError: task 'sad' of run {run.pk}, attempt 1: failed\n")
    assert lines[-1] == "RuntimeError: failing on purpose"
