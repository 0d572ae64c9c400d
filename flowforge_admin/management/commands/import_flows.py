from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from flowforge_admin.definitions.files import flow_files
from flowforge_admin.definitions.files.resource import FlowDefinitionResource
from flowforge_admin.management.users import acting_user


class Command(BaseCommand):
    help = (
        "Import flow definitions from FILE (format from the extension unless --format): print what "
        "changes, per flow. Exit 0 when applied (or valid, with --dry-run), 1 on any error; a file "
        "with any error changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", metavar="FILE")
        parser.add_argument("--format", choices=sorted(flow_files.FORMATS))
        parser.add_argument(
            "--dry-run", action="store_true", help="check and show the changes; write nothing"
        )
        parser.add_argument(
            "--user",
            metavar="USERNAME",
            help="record the import in the admin log (each flow's History) as done by this user; "
            "without it a command has no user to record, as for sync_flows",
        )

    def handle(self, *args, file, format, dry_run, user=None, **options):
        user = acting_user(user)
        format = format or flow_files.format_from_filename(file)
        if format is None:
            raise CommandError(f"cannot tell the format of {file!r} from its extension: give --format")
        path = Path(file)
        limit = flow_files.get_setting("FLOWFORGE_IMPORT_MAX_BYTES")
        try:
            if path.stat().st_size > limit:
                raise CommandError(
                    f"{file}: the file is {path.stat().st_size} bytes, more than the limit of {limit} bytes"
                )
            content = path.read_bytes()
        except OSError as error:
            raise CommandError(f"cannot read {file}: {error.strerror}") from None
        resource = FlowDefinitionResource()
        plan = resource.plan_file(content, format)
        if not plan.is_valid:
            for issue in plan.issues:
                self.stderr.write(f"{file}: {issue}")
            raise CommandError(f"{len(plan.issues)} error(s); nothing was imported")
        if not dry_run:
            resource.apply(plan, user=user, how=f"Imported by manage.py import_flows from {path.name}")
        for line in plan.summary():
            self.stdout.write(line)
        self.stdout.write("dry run: nothing was written." if dry_run else "imported.")
