"""Start-up never imports the `flows` modules: only `manage.py sync_flows` does."""

import json
import os
import subprocess
import sys

from django.conf import settings

PROBE = """
import json, sys
import django
django.setup()
from django.core.wsgi import get_wsgi_application
get_wsgi_application()
from django.urls import resolve
resolve("/admin/")  # loads the URLconf, which runs admin autodiscovery
import django_q.cluster  # what a worker process imports
from django.apps import apps
candidates = sorted(f"{config.name}.flows" for config in apps.get_app_configs())
print(json.dumps({"candidates": candidates, "imported": [m for m in candidates if m in sys.modules]}))
"""


def test_web_server_and_worker_start_without_importing_flows_modules(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "DJANGO_DEBUG": "1",
        "FLOWFORGE_VAR_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert "flowforge_admin.demo.flows" in probe["candidates"]
    assert probe["imported"] == []
