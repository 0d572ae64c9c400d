"""A real host: the wheel built from this checkout, in a fresh virtual environment, in a
``django-admin startproject`` site set up with the README's host section and nothing else.

One wheel and one environment serve every test of the module (building and
installing are most of the cost). The host runs on SQLite with the bundled
backend, with the highest Django the package allows, then on PostgreSQL with
the lowest: ``check``, ``migrate``, ``sync_flows``, a real ``qcluster``, a
launch that succeeds, and the admin's pages. Removing any statement of the
README's settings makes ``manage.py check`` fail, so an incomplete section
cannot pass.
"""

import ast
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from ..conftest import answers, require_service

ROOT = Path(settings.BASE_DIR)
SECTION = "## Use Flow Forge in your Django project"
# What `python -m build` needs of the checkout (MANIFEST.in keeps the rest out of the sdist).
DISTRIBUTION_FILES = ["pyproject.toml", "README.md", "LICENSE", "MANIFEST.in", "flowforge_admin"]
LOWEST_DJANGO = "5.2"  # the lower bound of the package's Django range (pyproject.toml)
TIMEOUT = 600

HOST_TASKS = """
import logging

logger = logging.getLogger(__name__)


def fetch():
    logger.info("fetched three rows")
    return [1, 2, 3]


def total(context):
    return sum(context.upstream["fetch"])
"""

HOST_FLOWS = """
from flowforge_admin.api import register_task_pipeline

from . import tasks

register_task_pipeline(
    flow_name="host_flow",
    clear_existing_flow_in_db=True,
    pipeline={
        "fetch": {"function": tasks.fetch, "depends_on": []},
        "total": {"function": tasks.total, "depends_on": ["fetch"]},
    },
)
"""

# Run in the host with `manage.py shell`: an admin user opens each page; prints {url: status}.
PAGES = """
import json
from django.test import Client
from django.test.utils import setup_test_environment
from django.contrib.auth.models import User
from flowforge_admin.models import Flow, FlowRun

setup_test_environment()
user = User.objects.create_superuser("host-admin", password="host-admin-password-1")
client = Client()
client.force_login(user)
flow = Flow.objects.get(name="host_flow")
run = FlowRun.objects.get(flow=flow)
task_run = run.task_runs.get(task_name="fetch")
urls = [
    "/admin/flowforge_admin/flow/",
    f"/admin/flowforge_admin/flow/{flow.pk}/change/",
    f"/admin/flowforge_admin/flow/{flow.pk}/graph/",
    f"/admin/flowforge_admin/flow/{flow.pk}/graph/data/",
    "/admin/flowforge_admin/flowrun/",
    f"/admin/flowforge_admin/flowrun/{run.pk}/change/",
    f"/admin/flowforge_admin/flowrun/{run.pk}/graph/",
    f"/admin/flowforge_admin/taskrun/{task_run.pk}/log/",
    "/admin/flowforge_admin/flow/import/",
    "/admin/flowforge_admin/flowschedule/add/",
    "/flowforge/health/",
    "/flowforge/api/v1/flows/",
    f"/flowforge/api/v1/runs/{run.pk}/",
    "/flowforge/api/v1/schema/",
    "/flowforge/api/v1/docs/",
]
print(json.dumps({url: client.get(url).status_code for url in urls}))
"""


def host_section():
    text = (ROOT / "README.md").read_text()
    start = text.index(SECTION)
    return text[start : text.index("\n## ", start + len(SECTION))]


def python_block(first_line):
    """The README host section's Python block that starts with the comment ``first_line``."""
    for block in re.findall(r"```python\n(.*?)```", host_section(), re.S):
        if block.startswith(first_line + "\n"):
            return block
    raise AssertionError(f"the README's host section has no Python block starting with {first_line!r}")


def settings_statements():
    """The top-level statements of the README's settings block, as source text."""
    return [
        ast.get_source_segment(block, node)
        for block in [python_block("# settings.py")]
        for node in ast.parse(block).body
    ]


class Host:
    """A ``startproject`` site in its own directory, run with the fresh environment's Python."""

    def __init__(self, env, directory):
        self.env, self.directory = env, directory
        self.python = str(env / "bin" / "python")

    def manage(self, *args, check=True, timeout=TIMEOUT):
        result = subprocess.run(
            [self.python, "manage.py", *args],
            cwd=self.directory,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.environ(),
        )
        if check:
            assert result.returncode == 0, f"manage.py {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        return result

    def environ(self):
        # Nothing of this checkout's own settings may leak into the host.
        environ = {
            key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "FLOWFORGE_"))
        }
        environ.pop("PYTHONPATH", None)
        return environ

    def qcluster(self):
        return subprocess.Popen(
            [self.python, "manage.py", "qcluster"],
            cwd=self.directory,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=self.environ(),
            start_new_session=True,
        )


def make_host(env, directory, *, settings_text=None, extra_settings=""):
    """Create a site with ``django-admin startproject`` and apply the README's host section to it."""
    directory.mkdir()
    subprocess.run(
        [str(env / "bin" / "django-admin"), "startproject", "hostsite", str(directory)], check=True
    )
    package = directory / "hostsite"
    settings_text = python_block("# settings.py") if settings_text is None else settings_text
    with open(package / "settings.py", "a") as file:
        file.write("\n" + settings_text + "\n" + extra_settings)
    with open(package / "urls.py", "a") as file:
        file.write("\n" + python_block("# urls.py"))
    return Host(env, directory)


def add_host_app(host):
    """The host's own app with a ``flows`` module, as a flow author writes it."""
    host.manage("startapp", "hostapp")
    (host.directory / "hostapp" / "tasks.py").write_text(HOST_TASKS)
    (host.directory / "hostapp" / "flows.py").write_text(HOST_FLOWS)
    with open(host.directory / "hostsite" / "settings.py", "a") as file:
        file.write('\nINSTALLED_APPS += ["hostapp"]\n')


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """A fresh virtual environment with the wheel built from this checkout (and the pinned versions)."""
    work = tmp_path_factory.mktemp("host")
    source = work / "source"
    source.mkdir()
    for name in DISTRIBUTION_FILES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy(path, source / name)
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(work / "dist"), str(source)],
        check=True,
        capture_output=True,
        timeout=TIMEOUT,
    )
    [wheel] = (work / "dist").glob("*.whl")
    env = work / "env"
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True, timeout=TIMEOUT)
    # The versions this repository pins, as constraints (which take no extras).
    constraints = work / "constraints.txt"
    constraints.write_text(re.sub(r"\[[^\]]*\]", "", (ROOT / "requirements.txt").read_text()))
    # The README says `pip install django-flowforge-admin`: this is that distribution, built here.
    subprocess.run(
        [str(env / "bin" / "pip"), "install", "--quiet", "-c", str(constraints), f"{wheel}[postgres]"],
        check=True,
        capture_output=True,
        timeout=TIMEOUT,
    )
    return env, wheel


def test_the_wheel_holds_the_app_only(env):
    """The wheel is the app: templates, static files and licences in; project, tests, bench, deploy out."""
    import zipfile

    _, wheel = env
    assert wheel.name.startswith("django_flowforge_admin-")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names}
    assert tops == {
        "flowforge_admin",
        wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1] + ".dist-info",
    }
    for needed in [
        "flowforge_admin/templates/admin/flowforge_admin/flow/change_form.html",
        "flowforge_admin/static/flowforge_admin/vendor/cytoscape/LICENSE",
        "flowforge_admin/static/flowforge_admin/vendor/elkjs/LICENSE.md",
        "flowforge_admin/migrations/0001_initial.py",
    ]:
        assert needed in names
    assert "pip install django-flowforge-admin" in host_section()


def stop(cluster):
    """Stop a qcluster as an operator does: SIGTERM to the cluster, which stops its workers in order."""
    cluster.send_signal(signal.SIGTERM)
    try:
        cluster.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(cluster.pid, signal.SIGKILL)
        cluster.wait()


def run_host(env, host):
    """check, migrate, sync_flows, a qcluster, a launch that succeeds, then the admin's pages."""
    add_host_app(host)
    host.manage("check", "--fail-level", "WARNING")
    host.manage("migrate", "--noinput")
    assert "created host_flow (version 1)" in host.manage("sync_flows").stdout
    cluster = host.qcluster()
    try:
        launched = host.manage("run_flow", "host_flow", "--wait", timeout=180)
        assert "succeeded" in launched.stdout
        pages = host.manage("shell", "-c", PAGES)
    finally:
        stop(cluster)
    statuses = json.loads(pages.stdout.strip().splitlines()[-1])
    assert statuses == dict.fromkeys(statuses, 200), statuses


def test_readme_host_on_sqlite_with_the_bundled_backend(env, tmp_path):
    env_dir, _ = env
    run_host(env_dir, make_host(env_dir, tmp_path / "site"))


def test_readme_host_on_postgresql_with_the_lowest_django(env, tmp_path):
    require_service("PostgreSQL", answers("127.0.0.1", 5432), "nothing answers on 127.0.0.1:5432")
    import psycopg

    env_dir, _ = env
    subprocess.run(
        [str(env_dir / "bin" / "pip"), "install", "--quiet", f"Django=={LOWEST_DJANGO}"],
        check=True,
        capture_output=True,
        timeout=TIMEOUT,
    )
    name = f"flowforge_host_{uuid.uuid4().hex[:12]}"
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        database = {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": "postgres",
            "HOST": "127.0.0.1",
        }
        postgres = f"\nDATABASES = {{'default': {database!r}}}\n"
        run_host(env_dir, make_host(env_dir, tmp_path / "site", extra_settings=postgres))
        version = subprocess.run(
            [str(env_dir / "bin" / "python"), "-c", "import django; print(django.get_version())"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert version == LOWEST_DJANGO
    finally:
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.parametrize("index", range(4))
def test_each_readme_setting_is_needed(env, tmp_path, index):
    """Without any one statement of the README's settings, ``manage.py check`` fails and says why."""
    env_dir, _ = env
    statements = settings_statements()
    assert len(statements) == 4, statements
    left_out = statements.pop(index)
    host = make_host(env_dir, tmp_path / "site", settings_text="\n".join(statements))

    result = host.manage("check", "--fail-level", "WARNING", check=False)

    assert result.returncode != 0, f"check passed without: {left_out}"
    assert "flowforge_admin." in result.stderr, result.stderr
