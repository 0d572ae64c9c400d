import os
import signal
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Run the development web server and a Django-Q2 worker cluster (qcluster) "
        "together; Ctrl-C stops both."
    )

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, addrport, **options):
        manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
        worker = subprocess.Popen([*manage, "qcluster"])
        web = subprocess.Popen([*manage, "runserver", addrport])
        self.stdout.write(
            f"Flow Forge admin: http://{addrport}/admin/ (Ctrl-C stops the server and the worker)"
        )
        try:
            # Block until either process ends (without reaping it, so that
            # Popen still sees its exit status); the other is then stopped too.
            os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOWAIT)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop(web, worker)

    def stop(self, *processes):
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
