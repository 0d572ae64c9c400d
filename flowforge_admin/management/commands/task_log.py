import time

from django.core.management.base import BaseCommand, CommandError

from flowforge_admin.logs_query import LogFilter, iter_lines, read_after
from flowforge_admin.management.users import EXIT_BAD_INPUT
from flowforge_admin.models import FlowRun, TaskAttempt, TaskRun
from flowforge_admin.states import TASK_ACTIVE, TaskState

EXIT_INTERRUPTED = 130  # what a shell reports for a command stopped by Ctrl-C (128 + SIGINT)
# --follow reads the database again this often. The lines are written by a
# worker in another process (maybe on another machine): the database is all
# the two share, so there is no event to wait on; one indexed query for the
# lines after the last one seen and one for the task run's status, twice a
# second, cost the database next to nothing.
FOLLOW_SECONDS = 0.5
CHUNK = 1000
# An attempt is under way in these; the task run's latest one also while it waits for its next try or its start.
ATTEMPT_ACTIVE = frozenset({TaskState.QUEUED, TaskState.RUNNING})
FAILED = frozenset({TaskState.FAILED, TaskState.UPSTREAM_FAILED, TaskState.CANCELLED})


def find_task_run(run_id, task):
    """Return the TaskRun ``task`` of run ``run_id``; raise ValueError naming what does not exist."""
    if not run_id.isdigit():
        raise ValueError(f"RUN_ID {run_id!r} is not a run id (a whole number)")
    if not FlowRun.objects.filter(pk=int(run_id)).exists():
        raise ValueError(f"there is no run {run_id}")
    task_run = TaskRun.objects.filter(run_id=int(run_id), task_name=task).first()
    if task_run is None:
        names = list(
            TaskRun.objects.filter(run_id=int(run_id)).order_by("id").values_list("task_name", flat=True)
        )
        shown = ", ".join(names[:10]) + (", ..." if len(names) > 10 else "")
        raise ValueError(f"run {run_id} has no task {task!r} (its tasks: {shown})")
    return task_run


def check_attempt(task_run, text):
    """Return the attempt number ``--attempt`` names; raise ValueError when the task run has had no such attempt."""
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"--attempt {text!r} is not an attempt number (1, 2, ...)")
    attempt = int(text)
    if attempt > task_run.attempt:
        had = f"it has had {task_run.attempt}" if task_run.attempt else "it has not started yet"
        raise ValueError(
            f"task {task_run.task_name!r} of run {task_run.run_id} has no attempt {attempt} ({had})"
        )
    return attempt


def format_line(line):
    return f"{line.timestamp} {line.level_name:<8} {line.message}"


class Command(BaseCommand):
    help = (
        "Print the log lines (time, level, message) of task TASK of run RUN_ID: its latest attempt, or "
        "--attempt N. --follow prints new lines as they arrive until the attempt ends (for the latest "
        "attempt: until the task run finishes, through its retries), then its status. Exit 0 when the "
        "attempt succeeded (or is not finished, without --follow), 1 when it failed, 2 on bad input "
        "(unknown run, a task the run does not have, an attempt it has not had), 130 on Ctrl-C."
    )

    def add_arguments(self, parser):
        parser.add_argument("run_id", metavar="RUN_ID", help="the run's id")
        parser.add_argument("task", metavar="TASK", help="the task's name in the run")
        parser.add_argument("--attempt", metavar="N", help="this attempt (default: the latest)")
        parser.add_argument("--follow", action="store_true", help="print new lines until the attempt ends")

    def handle(self, *args, run_id, task, attempt=None, follow=False, **options):
        try:
            task_run = find_task_run(run_id, task)
            chosen = check_attempt(task_run, attempt) if attempt is not None else None
        except ValueError as error:
            raise CommandError(str(error), returncode=EXIT_BAD_INPUT) from None
        self.task_run = task_run
        try:
            status = self.follow(chosen) if follow else self.show(chosen or task_run.attempt)
        except KeyboardInterrupt:
            raise CommandError("interrupted", returncode=EXIT_INTERRUPTED) from None
        if status in FAILED:
            raise CommandError(self.ending(status), returncode=1)

    def show(self, attempt):
        """Print the attempt's lines as they are now, then its status; return the status."""
        if attempt == 0:
            self.stdout.write(
                f"task {self.task_run.task_name!r} of run {self.task_run.run_id} has not started yet"
            )
            return None
        for line in iter_lines(LogFilter(self.task_run.pk, attempt), CHUNK):
            self.stdout.write(format_line(line))
        self.attempt = attempt
        status = self.outcome(attempt)
        if status not in FAILED:
            self.stdout.write(self.ending(status))
        return status

    def follow(self, chosen):
        """Print lines as they come until the attempt (the task run, without ``chosen``) ends; return its status."""
        attempt, last = chosen or 0, 0
        while True:
            # The status first, the lines second: every line written before the end is then read below.
            current, status = TaskRun.objects.values_list("attempt", "status").get(pk=self.task_run.pk)
            if chosen is None and current > attempt:
                if attempt:  # the rest of the replaced attempt: its worker wrote it before the next began
                    self.print_after(attempt, last)
                attempt, last = current, 0
                self.stdout.write(f"--- attempt {attempt} ---")
            if attempt:
                last = self.print_after(attempt, last)
            if chosen is None and status not in TASK_ACTIVE:
                break
            if chosen is not None and (current != chosen or status not in ATTEMPT_ACTIVE):
                break
            time.sleep(FOLLOW_SECONDS)
        self.attempt = attempt
        status = self.outcome(attempt) if attempt else status
        if status not in FAILED:
            self.stdout.write(self.ending(status))
        return status

    def print_after(self, attempt, last):
        """Print the attempt's lines after id ``last``; return the last id printed."""
        log_filter = LogFilter(self.task_run.pk, attempt)
        while True:
            lines, more = read_after(log_filter, last, CHUNK)
            for line in lines:
                self.stdout.write(format_line(line))
            if lines:
                last = lines[-1].id
            if not more:
                return last

    def outcome(self, attempt):
        """The attempt's status: the task run's for its latest, the recorded one for an earlier (None: not kept)."""
        current, status = TaskRun.objects.values_list("attempt", "status").get(pk=self.task_run.pk)
        if attempt == current:
            # Waiting for its next try: this attempt failed.
            return TaskState.FAILED if status == TaskState.RETRYING else status
        return (
            TaskAttempt.objects.filter(task_run_id=self.task_run.pk, attempt=attempt)
            .values_list("status", flat=True)
            .first()
        )

    def ending(self, status):
        where = f"task {self.task_run.task_name!r} of run {self.task_run.run_id}, attempt {self.attempt}"
        return f"{where}: {status or 'outcome not recorded'}"
