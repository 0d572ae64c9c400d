"""project/settings.py: configuration from the environment, checked in fresh processes.

Settings are read once per process, so each case starts ``python`` with its own
environment and reads the resulting settings back as JSON.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

PRINT_SETTINGS = """
import json
import django
from django.conf import settings
django.setup()
print(json.dumps({
    "DEBUG": settings.DEBUG,
    "SECRET_KEY": settings.SECRET_KEY,
    "DATABASES": settings.DATABASES,
    "Q_CLUSTER": settings.Q_CLUSTER,
}, default=str))
"""

# Variables of the machine running the suite that would change the answers.
CONFIG_VARIABLES = [
    "DJANGO_SECRET_KEY",
    "DJANGO_DEBUG",
    "DATABASE_URL",
    "FLOWFORGE_REDIS_URL",
    "FLOWFORGE_WORKER_TIMEOUT",
    "FLOWFORGE_VAR_DIR",
]


@pytest.fixture
def run_settings(tmp_path):
    """Return a function starting a process with ``env`` (over a clean base) that loads the settings."""

    def run(**env):
        base = {key: value for key, value in os.environ.items() if key not in CONFIG_VARIABLES}
        base.update(
            DJANGO_SETTINGS_MODULE="project.settings",
            FLOWFORGE_VAR_DIR=str(tmp_path / "var"),
            **env,
        )
        return subprocess.run(
            [sys.executable, "-c", PRINT_SETTINGS],
            cwd=Path(settings.BASE_DIR),
            env=base,
            capture_output=True,
            text=True,
            timeout=60,
        )

    return run


@pytest.fixture
def load_settings(run_settings):
    """Return a function returning the settings a process gets with ``env``, as parsed JSON."""

    def load(**env):
        env.setdefault("DJANGO_SECRET_KEY", "test-only-secret")
        result = run_settings(**env)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    return load


def test_missing_secret_key_stops_start_up(run_settings):
    """Without DJANGO_SECRET_KEY and DEBUG, start-up fails and names the variable."""
    result = run_settings()

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_debug_without_secret_key_uses_the_development_key(run_settings):
    """DJANGO_DEBUG=1 starts without a secret key, with a development-only one."""
    result = run_settings(DJANGO_DEBUG="1")

    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded["DEBUG"] is True
    assert loaded["SECRET_KEY"]


def test_debug_is_off_by_default(load_settings):
    """DEBUG is off unless DJANGO_DEBUG says otherwise, and the given key is used."""
    loaded = load_settings(DJANGO_SECRET_KEY="from-the-environment")

    assert loaded["DEBUG"] is False
    assert loaded["SECRET_KEY"] == "from-the-environment"


def test_default_broker_is_the_orm(load_settings):
    """Without FLOWFORGE_REDIS_URL Django-Q2 uses the ORM broker on the default database."""
    q_cluster = load_settings()["Q_CLUSTER"]

    assert q_cluster["orm"] == "default"
    assert "redis" not in q_cluster


def test_redis_url_selects_the_redis_broker(load_settings):
    """FLOWFORGE_REDIS_URL makes Django-Q2 use Redis instead of the ORM broker."""
    q_cluster = load_settings(FLOWFORGE_REDIS_URL="redis://127.0.0.1:6379/0")["Q_CLUSTER"]

    assert q_cluster["redis"] == "redis://127.0.0.1:6379/0"
    assert "orm" not in q_cluster


@pytest.mark.parametrize("redis_url", ["", "redis://127.0.0.1:6379/0"])
def test_cluster_never_redelivers_running_tasks(load_settings, redis_url):
    """The cluster's timeout is below the broker's retry; one attempt, failures acknowledged."""
    q_cluster = load_settings(FLOWFORGE_REDIS_URL=redis_url)["Q_CLUSTER"]

    assert q_cluster["timeout"] < q_cluster["retry"]
    assert q_cluster["max_attempts"] == 1
    assert q_cluster["ack_failures"] is True


def test_worker_timeout_keeps_retry_above_it(load_settings):
    """FLOWFORGE_WORKER_TIMEOUT sets the cluster's timeout and retry follows above it."""
    q_cluster = load_settings(FLOWFORGE_WORKER_TIMEOUT="7200")["Q_CLUSTER"]

    assert q_cluster["timeout"] == 7200
    assert q_cluster["retry"] > 7200


def test_database_url_selects_postgresql(load_settings):
    """DATABASE_URL=postgres://... gives the PostgreSQL engine with persistent connections."""
    database = load_settings(DATABASE_URL="postgres://u@127.0.0.1:5432/x")["DATABASES"]["default"]

    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert database["NAME"] == "x"
    assert database["HOST"] == "127.0.0.1"
    assert database["USER"] == "u"
    assert database["CONN_MAX_AGE"] == 600
    # The SQLite options are not given to another backend.
    assert "init_command" not in database.get("OPTIONS", {})


def test_default_database_is_sqlite_in_var_dir(load_settings, tmp_path):
    """The default database is an SQLite file under FLOWFORGE_VAR_DIR, on Flow Forge's backend alone."""
    database = load_settings()["DATABASES"]["default"]

    # Django's backend, with writers taking turns on a file lock; it brings WAL and
    # IMMEDIATE itself (tests/test_sqlite_backend.py), as for any host.
    assert database["ENGINE"] == "flowforge_admin.db.sqlite3"
    assert Path(database["NAME"]) == tmp_path / "var" / "flowforge.sqlite3"
    assert database["CONN_MAX_AGE"] == 600
    assert database.get("OPTIONS", {}) == {}
    # Its directory is made so that the first migrate can create the file.
    assert (tmp_path / "var").is_dir()


def test_every_setting_the_app_reads_has_a_default_in_conf():
    """A host sets none of the FLOWFORGE_* settings: each one the app names has its default in conf.py."""
    import re

    from flowforge_admin.conf import DEFAULTS

    app = Path(settings.BASE_DIR) / "flowforge_admin"
    named = {
        name for path in app.rglob("*.py") for name in re.findall(r"FLOWFORGE_[A-Z_]+", path.read_text())
    }
    assert named - set(DEFAULTS) == set()
    assert "FLOWFORGE_FAST_POLL" in named  # the scan sees the app's files
