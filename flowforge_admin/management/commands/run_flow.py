import datetime
import json
import time

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from flowforge_admin.actions.runs import LaunchFlowAction
from flowforge_admin.exceptions import InvalidTransition, refusal_message
from flowforge_admin.management.moments import parse_moment
from flowforge_admin.management.users import acting_user
from flowforge_admin.states import RunState

EXIT_BAD_INPUT = 2
# How often --wait looks at the run: this command follows a run made by
# workers in other processes, and the database is all they share.
FOLLOW_SECONDS = 0.5
PROGRESS_SECONDS = 10


def parse_param(text):
    """Turn KEY=VALUE into (key, value): VALUE as JSON if it parses, else the string."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ValueError(f"--param {text!r} is not KEY=VALUE")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value
    except RecursionError:
        raise ValueError(f"--param {key}: the JSON value is nested too deeply to read") from None
    except ValueError:  # an integer of more than 4300 digits (Python's conversion limit)
        raise ValueError(f"--param {key}: the JSON value holds an integer with too many digits") from None


class Command(BaseCommand):
    help = (
        "Launch a run of flow NAME on the workers. Without --wait: print the run id and its "
        "admin URL. --logical-date sets the moment of data it is for (default: now). With --wait: follow it; exit 0 if it succeeded, 1 if it failed or was "
        "cancelled. Bad input (unknown flow, bad parameter, unknown user, a user who may not "
        "launch it): exit 2."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="the flow's name")
        parser.add_argument(
            "--param",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="a run parameter; VALUE is read as JSON if it parses, else as a string",
        )
        parser.add_argument(
            "--logical-date",
            metavar="ISO8601",
            help="the moment of data the run is for (such as 2026-01-31 or 2026-01-31T06:00:00Z; "
            "UTC unless it names an offset); default: now",
        )
        parser.add_argument("--wait", action="store_true", help="follow the run until it finishes")
        parser.add_argument(
            "--user",
            metavar="USERNAME",
            help="launch as this user: they need the launch_flow permission, and the launch is in the "
            "admin log (History of the run and the flow) as theirs; without it the run is triggered by code",
        )

    def handle(self, *args, name, param, wait, user=None, logical_date=None, **options):
        user = acting_user(user)
        try:
            params = dict(parse_param(text) for text in param)
            logical_date = (
                parse_moment("--logical-date", logical_date, datetime.UTC) if logical_date else None
            )
            action = LaunchFlowAction(
                name, params, user=user, how="Launched by manage.py run_flow", logical_date=logical_date
            )
            run = action.execute()
        except (ValueError, ValidationError, InvalidTransition, PermissionDenied) as error:
            raise CommandError(refusal_message(error), returncode=EXIT_BAD_INPUT) from None
        self.stdout.write(f"run {run.pk} of {run.flow_name} queued: {run.get_absolute_url()}")
        if wait:
            run = self.follow(run)
            if run.status != RunState.SUCCEEDED:
                raise CommandError(f"run {run.pk} {run.status}", returncode=1)

    def follow(self, run):
        """Print task status changes until the run finishes; return it."""
        seen = {}
        last_progress = time.monotonic()
        while True:
            run.refresh_from_db()
            for task_name, status, attempt in run.task_runs.values_list("task_name", "status", "attempt"):
                if seen.get(task_name) != (status, attempt):
                    seen[task_name] = (status, attempt)
                    suffix = f" (attempt {attempt})" if attempt > 1 else ""
                    self.stdout.write(f"  {task_name}: {status}{suffix}")
            if run.is_finished:
                self.stdout.write(f"run {run.pk} {run.status}")
                return run
            if time.monotonic() - last_progress >= PROGRESS_SECONDS:
                counts = run.task_counts()
                done = sum(counts[s] for s in ("succeeded", "failed", "upstream_failed", "cancelled"))
                self.stdout.write(
                    f"  ... {done}/{sum(counts.values())} tasks finished, {counts['running']} running"
                )
                last_progress = time.monotonic()
            time.sleep(FOLLOW_SECONDS)
