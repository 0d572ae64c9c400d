from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from flowforge_admin.actions.backfill import BackfillAction, plan_backfill
from flowforge_admin.exceptions import InvalidTransition, refusal_message
from flowforge_admin.management.moments import parse_moment
from flowforge_admin.management.users import EXIT_BAD_INPUT, acting_user
from flowforge_admin.models import FlowSchedule


def find_schedule(text):
    """Return the schedule named by its id or by "flow/schedule"; raise ValueError for no such schedule."""
    schedules = FlowSchedule.objects.select_related("flow", "q_schedule")
    if text.isdigit():
        schedule = schedules.filter(pk=int(text)).first()
    else:
        flow_name, slash, name = (part.strip() for part in text.partition("/"))
        schedule = schedules.filter(flow__name=flow_name, name=name).first() if slash else None
    if schedule is None:
        raise ValueError(
            f"there is no schedule {text!r}: name it by its id or as FLOW/SCHEDULE (such as daily_report/nightly)"
        )
    return schedule


class Command(BaseCommand):
    help = (
        "Create one run of schedule SCHEDULE (its id, or FLOW/NAME) per fire time from --start to --end "
        "(both included), oldest first, each for its fire's logical date and data interval. A fire that "
        "already has a run of the schedule is skipped unless --rerun-existing. --dry-run says how many runs "
        "it would create and lists the first logical dates. Bad input (unknown schedule, bad or reversed "
        "dates, more runs than FLOWFORGE_BACKFILL_MAX_RUNS, a user who may not launch): exit 2, nothing created."
    )

    def add_arguments(self, parser):
        parser.add_argument("schedule", help="the schedule's id, or FLOW/NAME")
        parser.add_argument(
            "--start",
            required=True,
            metavar="ISO8601",
            help="the first moment (included), such as 2026-01-01 or 2026-01-01T00:00:00Z; "
            "without an offset, in the current time zone (TIME_ZONE)",
        )
        parser.add_argument("--end", required=True, metavar="ISO8601", help="the last moment (included)")
        parser.add_argument("--dry-run", action="store_true", help="say what it would create; create nothing")
        parser.add_argument(
            "--rerun-existing",
            action="store_true",
            help="give a new run to fires that already have one (default: skip them)",
        )
        parser.add_argument(
            "--user",
            metavar="USERNAME",
            help="backfill as this user: they need the launch_flow permission, and each run and the "
            "backfill are in the admin log as theirs",
        )

    def handle(self, *args, schedule, start, end, dry_run, rerun_existing, user=None, **options):
        user = acting_user(user)
        try:
            schedule = find_schedule(schedule)
            start, end = parse_moment("--start", start), parse_moment("--end", end)
            if dry_run:
                plan = plan_backfill(schedule, start, end, rerun_existing=rerun_existing)
            else:
                action = BackfillAction(
                    schedule,
                    start,
                    end,
                    rerun_existing=rerun_existing,
                    user=user,
                    how="by manage.py backfill",
                )
                runs = action.execute()
                plan = action.plan
        except (ValueError, ValidationError, InvalidTransition, PermissionDenied) as error:
            raise CommandError(refusal_message(error), returncode=EXIT_BAD_INPUT) from None
        if dry_run:
            self.stdout.write(plan.describe())
            if plan.count:
                more = ", ..." if plan.count > len(plan.first_dates()) else ""
                self.stdout.write(f"first logical dates: {', '.join(plan.first_dates())}{more}")
            self.stdout.write("dry run: nothing created")
            return
        if runs:
            self.stdout.write(
                f"created {len(runs)} run(s) of schedule {schedule}, #{runs[0].pk} to #{runs[-1].pk}"
                f"{f'; {plan.existing} fire(s) that already had a run skipped' if plan.existing else ''}"
            )
        else:
            self.stdout.write(plan.describe().replace("Will create", "Created", 1))
