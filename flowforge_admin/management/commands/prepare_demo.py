import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from flowforge_admin import storage
from flowforge_admin.models import Flow

DEMO_FIXTURE = "demo_db_flow"
DEMO_DB_FLOW = "daily_report"


class Command(BaseCommand):
    help = (
        "Load the demo flow kept only in the database (if missing) and create the "
        "`admin` superuser (if missing) with DJANGO_SUPERUSER_PASSWORD or a random "
        "password printed once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        if Flow.objects.filter(name=DEMO_DB_FLOW).exists():
            self.stdout.write(f"Demo flow {DEMO_DB_FLOW} is already there; left as it is.")
        else:
            call_command("loaddata", DEMO_FIXTURE, verbosity=0)
            # The fixture's tree ids may collide with trees made since.
            storage.renumber_trees(Flow.objects.get(name=DEMO_DB_FLOW))
            self.stdout.write(f"Loaded the demo flow {DEMO_DB_FLOW}.")
        self.ensure_superuser(username)

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
