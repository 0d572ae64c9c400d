import importlib
import sys
import traceback

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.utils.module_loading import module_has_submodule

from flowforge_admin.definitions.pipeline import owned_by
from flowforge_admin.exceptions import FlowDefinitionError
from flowforge_admin.models import Flow


class Command(BaseCommand):
    help = (
        "Import the `flows` module of every installed app, registering the flows "
        "defined in code, and print what changed."
    )

    def handle(self, *args, **options):
        self.verbosity = options["verbosity"]
        before = dict(Flow.objects.values_list("name", "version"))
        failures = []
        owners = {}  # flow name -> the flows module that registered it
        for app_config in apps.get_app_configs():
            if not module_has_submodule(app_config.module, "flows"):
                continue
            module = f"{app_config.name}.flows"
            try:
                # A module imported before in this process (a shell, a test)
                # is run again, so that its registrations reach the database.
                with owned_by(module, owners):
                    if module in sys.modules:
                        importlib.reload(sys.modules[module])
                    else:
                        importlib.import_module(module)
            except FlowDefinitionError as error:
                failures.append(f"{module}:\n{error}")
            except Exception:  # a flows module may fail in any way; say where
                failures.append(f"{module}:\n{traceback.format_exc()}")
        self.report(before, dict(Flow.objects.values_list("name", "version")))
        if failures:
            raise CommandError("These flows modules could not be synced:\n" + "\n".join(failures))

    def report(self, before, after):
        for name in sorted(after):
            if name not in before:
                self.stdout.write(self.style.SUCCESS(f"created {name} (version {after[name]})"))
            elif after[name] != before[name]:
                self.stdout.write(
                    self.style.SUCCESS(f"changed {name} (version {before[name]} -> {after[name]})")
                )
            elif self.verbosity >= 2:
                self.stdout.write(f"unchanged {name} (version {after[name]})")
        changed = sum(1 for name in after if before.get(name) != after[name])
        self.stdout.write(f"{changed} flow(s) created or changed, {len(after) - changed} unchanged.")
