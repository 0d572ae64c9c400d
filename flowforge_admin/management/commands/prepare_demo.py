import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from flowforge_admin.actions.imports import ImportFlowsAction
from flowforge_admin.api import run_flow
from flowforge_admin.models import Flow

# The demo flow kept only in the database, as an import file of this repository
# (fixtures/demo_flows.json holds the same); a host project has no such file.
DEMO_FILE = Path("fixtures") / "demo_flows.yaml"
DEMO_DB_FLOW = "demo_daily_report"
# The NumPy model of the demo app (sync_flows registers it) gets three finished runs, each with
# more points and less noise than the one before: its outputs, metrics and the flow's chart of
# them (rmse falling) are there when the console opens.
DEMO_ML_FLOW = "demo_pipeline_simple_ml"
DEMO_ML_RUNS = [
    {"n_points": 100, "noise": 1.0},
    {"n_points": 400, "noise": 0.6},
    {"n_points": 2000, "noise": 0.3},
]


class Command(BaseCommand):
    help = (
        "Import the demo flow kept only in the database from fixtures/demo_flows.yaml (if missing), run the "
        "demo ML flow three times (if it has no runs), and create the `admin` superuser (if missing) with "
        "DJANGO_SUPERUSER_PASSWORD or a random password printed once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        if Flow.objects.filter(name=DEMO_DB_FLOW).exists():
            self.stdout.write(f"Demo flow {DEMO_DB_FLOW} is already there; left as it is.")
        else:
            path = Path(getattr(settings, "BASE_DIR", ".")) / DEMO_FILE
            if not path.is_file():
                raise CommandError(
                    f"{path} is missing: prepare_demo loads the demo from Flow Forge's repository "
                    "(fixtures/demo_flows.yaml); a host project does not need it."
                )
            plan = ImportFlowsAction(path.read_bytes(), "yaml").execute()
            if not plan.is_valid:
                raise CommandError("\n".join(f"{path}: {issue}" for issue in plan.issues))
            self.stdout.write(f"Loaded the demo flow {DEMO_DB_FLOW}.")
        self.ensure_ml_runs()
        self.ensure_superuser(username)

    def ensure_ml_runs(self):
        flow = Flow.objects.filter(name=DEMO_ML_FLOW).first()
        if flow is None:
            self.stdout.write(
                f"Demo flow {DEMO_ML_FLOW} is not registered (run sync_flows first): no demo runs."
            )
            return
        if flow.runs.exists():
            self.stdout.write(f"Demo flow {DEMO_ML_FLOW} has runs already; none added.")
            return
        for params in DEMO_ML_RUNS:
            run = run_flow(flow, params)  # in this process: a few seconds, no worker needed
            self.stdout.write(f"Ran {DEMO_ML_FLOW} #{run.pk} with {params}: {run.status}.")

    def ensure_superuser(self, username):
        users = get_user_model().objects
        if users.filter(username=username).exists():
            self.stdout.write(f"User {username} exists; its password is unchanged.")
            return
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD") or secrets.token_urlsafe(12)
        users.create_superuser(username=username, email="", password=password)
        if os.environ.get("DJANGO_SUPERUSER_PASSWORD"):
            self.stdout.write(f"Created superuser {username} with DJANGO_SUPERUSER_PASSWORD.")
        else:
            self.stdout.write(
                self.style.WARNING(
                    f"Created superuser {username} with password: {password}\n"
                    "It is shown only this once; change it in the admin "
                    f"or with `manage.py changepassword {username}`."
                )
            )
