from pathlib import Path

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from flowforge_admin.actions.imports import ImportFlowsAction
from flowforge_admin.conf import get_setting
from flowforge_admin.definitions.files.formats import FORMATS, format_from_filename
from flowforge_admin.management.users import EXIT_BAD_INPUT, acting_user


class Command(BaseCommand):
    help = (
        "Import flow definitions from FILE (format from the extension unless --format): print what "
        "changes, per flow. Exit 0 when applied (or valid, with --dry-run), 1 on any error; a file "
        "with any error changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", metavar="FILE")
        parser.add_argument("--format", choices=sorted(FORMATS))
        parser.add_argument(
            "--dry-run", action="store_true", help="check and show the changes; write nothing"
        )
        parser.add_argument(
            "--user",
            metavar="USERNAME",
            help="import as this user: refused (exit 2) unless the user may add and change flows, "
            "as in the admin; recorded in the admin log (each flow's History). Without it a command "
            "has no user to check or record, as for sync_flows",
        )

    def handle(self, *args, file, format, dry_run, user=None, **options):
        user = acting_user(user)
        format = format or format_from_filename(file)
        if format is None:
            raise CommandError(f"cannot tell the format of {file!r} from its extension: give --format")
        path = Path(file)
        limit = get_setting("FLOWFORGE_IMPORT_MAX_BYTES")
        try:
            if path.stat().st_size > limit:
                raise CommandError(
                    f"{file}: the file is {path.stat().st_size} bytes, more than the limit of {limit} bytes"
                )
            content = path.read_bytes()
        except OSError as error:
            raise CommandError(f"cannot read {file}: {error.strerror}") from None
        action = ImportFlowsAction(
            content,
            format,
            dry_run=dry_run,
            user=user,
            how=f"Imported by manage.py import_flows from {path.name}",
        )
        try:
            plan = action.execute()
        except PermissionDenied as error:
            raise CommandError(f"--user: {error}", returncode=EXIT_BAD_INPUT) from None
        if not plan.is_valid:
            for issue in plan.issues:
                self.stderr.write(f"{file}: {issue}")
            raise CommandError(f"{len(plan.issues)} error(s); nothing was imported")
        for line in plan.summary():
            self.stdout.write(line)
        self.stdout.write("dry run: nothing was written." if dry_run else "imported.")
