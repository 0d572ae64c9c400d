import datetime
import json

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from flowforge_admin.management.users import EXIT_BAD_INPUT
from flowforge_admin.models import Flow, FlowRun
from flowforge_admin.states import RunState
from flowforge_admin.templatetags.flowforge import duration

DEFAULT_LIMIT = 20
COLUMNS = ("id", "flow", "status", "trigger", "logical date", "started", "finished", "duration")


def check_flow(name):
    """Raise ValueError when neither a flow nor a run (runs outlive their flow) has this name."""
    if not (Flow.objects.filter(name=name).exists() or FlowRun.objects.filter(flow_name=name).exists()):
        raise ValueError(f"--flow {name!r}: there is no flow (nor any run of a flow) of that name")


def check_status(status):
    if status not in RunState.values:
        raise ValueError(f"--status {status!r} is not a run status (one of {', '.join(RunState.values)})")


def seconds_of(run, now):
    """How long the run ran (so far, when it is still running); None before it started."""
    if run.started_at is None:
        return None
    return ((run.finished_at or now) - run.started_at).total_seconds()


def as_dict(run, now):
    """The run as --json writes it: dates in ISO 8601 (UTC), the duration in seconds."""

    def iso(moment):
        return moment.astimezone(datetime.UTC).isoformat() if moment else None

    return {
        "id": run.pk,
        "flow": run.flow_name,
        "status": run.status,
        "held": run.held,
        "trigger": run.triggered_by,
        "user": run.triggered_by_user.get_username() if run.triggered_by_user else None,
        "logical_date": iso(run.logical_date),
        "created": iso(run.created_at),
        "started": iso(run.started_at),
        "finished": iso(run.finished_at),
        "duration_seconds": seconds_of(run, now),
        "url": run.get_absolute_url(),
    }


def as_row(run, now):
    def when(moment):
        return moment.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S") if moment else "-"

    seconds = seconds_of(run, now)
    user = run.triggered_by_user.get_username() if run.triggered_by_user else ""
    return (
        str(run.pk),
        run.flow_name,
        f"{run.status} (held)" if run.held else run.status,
        f"{run.triggered_by} {user}".strip(),
        when(run.logical_date),
        when(run.started_at),
        when(run.finished_at),
        "-" if seconds is None else duration(seconds),
    )


class Command(BaseCommand):
    help = (
        "List runs, newest first: id, flow, status, trigger, logical date, started, finished (UTC) and duration. "
        "--json writes a list of objects (ISO 8601 dates). Bad input (an unknown flow or status, a limit that "
        "is not a positive whole number): exit 2."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--flow", action="append", default=[], metavar="NAME", help="only runs of this flow"
        )
        parser.add_argument(
            "--status", action="append", default=[], metavar="STATUS", help="only runs in this status"
        )
        parser.add_argument(
            "--limit",
            default=str(DEFAULT_LIMIT),
            metavar="N",
            help=f"at most N runs (default {DEFAULT_LIMIT})",
        )
        parser.add_argument(
            "--json", dest="as_json", action="store_true", help="write JSON instead of a table"
        )

    def handle(self, *args, flow, status, limit, as_json=False, **options):
        try:
            for name in flow:
                check_flow(name)
            for value in status:
                check_status(value)
            if not limit.isdigit() or int(limit) < 1:
                raise ValueError(f"--limit {limit!r} is not a positive whole number")
        except ValueError as error:
            raise CommandError(str(error), returncode=EXIT_BAD_INPUT) from None
        runs = FlowRun.objects.select_related("triggered_by_user").order_by("-created_at", "-id")
        if flow:
            runs = runs.filter(flow_name__in=flow)
        if status:
            runs = runs.filter(status__in=status)
        runs = list(runs[: int(limit)])
        now = timezone.now()
        if as_json:
            self.write_json([as_dict(run, now) for run in runs])
        elif not runs:
            self.stdout.write("No runs.")
        else:
            self.write_table([COLUMNS, *(as_row(run, now) for run in runs)])

    def write_json(self, items):
        self.stdout.write(json.dumps(items, indent=2))

    def write_table(self, rows):
        widths = [max(len(row[column]) for row in rows) for column in range(len(COLUMNS))]
        for row in rows:
            self.stdout.write(
                "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            )
