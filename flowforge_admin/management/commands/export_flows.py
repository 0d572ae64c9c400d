from django.core.management.base import BaseCommand, CommandError

from flowforge_admin.definitions.files.formats import FORMATS
from flowforge_admin.definitions.files.resource import FlowDefinitionResource
from flowforge_admin.models import Flow


class Command(BaseCommand):
    help = (
        "Write flow definitions (all flows, or the FLOWs named) as an import file: one row per task. "
        "Default YAML to stdout; xlsx needs --output. The same database exports the same bytes."
    )

    def add_arguments(self, parser):
        parser.add_argument("flows", nargs="*", metavar="FLOW", help="flow names (default: every flow)")
        parser.add_argument("--format", choices=sorted(FORMATS), default="yaml")
        parser.add_argument("--output", metavar="FILE", help="write to FILE instead of stdout")

    def handle(self, *args, flows, format, output, **options):
        if format == "xlsx" and not output:
            raise CommandError("xlsx is a binary format: give --output FILE")
        queryset = Flow.objects.all()
        if flows:
            queryset = queryset.filter(name__in=flows)
            missing = sorted(set(flows) - set(queryset.values_list("name", flat=True)))
            if missing:
                raise CommandError(f"no such flow: {', '.join(missing)}")
        content = FlowDefinitionResource().export_file(queryset, format)
        if output:
            with open(output, "wb") as file:
                file.write(content)
            count = queryset.count()
            # The summary goes to stderr so that stdout stays the file when it is one.
            self.stderr.write(f"exported {count} flow(s) to {output} ({format})")
        else:
            self.stdout.write(content.decode(), ending="")
