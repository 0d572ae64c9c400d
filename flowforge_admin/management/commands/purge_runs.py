from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from flowforge_admin.actions.retention import PurgeRunsAction
from flowforge_admin.engine.retention import BATCH_SIZE
from flowforge_admin.management.users import EXIT_BAD_INPUT, acting_user


class Command(BaseCommand):
    help = (
        "Delete the finished runs (succeeded, failed, cancelled) that finished more than DAYS days ago, "
        "with their task runs, log lines, attempts, artifacts (files too), events, metrics, tags and alert "
        "records, a batch of runs per transaction. A run that is not finished is never deleted. --dry-run "
        "says what it would delete. Exit 0 done, 1 failed (what was committed stays deleted), 2 bad input "
        "(DAYS not a positive whole number, an unknown flow or status, a status that is not finished)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than", required=True, metavar="DAYS", help="finished more than DAYS days ago"
        )
        parser.add_argument(
            "--flow", action="append", default=[], metavar="NAME", help="only runs of this flow (repeatable)"
        )
        parser.add_argument(
            "--status",
            action="append",
            default=[],
            metavar="STATUS",
            help="only runs in this status: succeeded, failed or cancelled (repeatable)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="say what would be deleted; delete nothing"
        )
        parser.add_argument(
            "--batch-size",
            default=str(BATCH_SIZE),
            metavar="N",
            help=f"runs deleted per transaction (default {BATCH_SIZE}): fewer hold the database for less time",
        )
        parser.add_argument(
            "--user",
            metavar="USERNAME",
            help="purge as this user: they need the delete_flowrun permission, and the purge's summary "
            "is in the admin log as theirs",
        )

    def handle(self, *args, older_than, flow, status, dry_run, batch_size, user=None, **options):
        user = acting_user(user)
        try:
            action = PurgeRunsAction(
                older_than, flows=flow, statuses=status, batch_size=batch_size, user=user
            )
            result = action.dry_run() if dry_run else action.execute()
        except (ValueError, PermissionDenied) as error:
            raise CommandError(str(error), returncode=EXIT_BAD_INPUT) from None
        except DatabaseError as error:
            raise CommandError(f"purge failed: {error}", returncode=1) from None
        self.stdout.write(result.describe())
        if dry_run:
            self.stdout.write("dry run: nothing deleted")
