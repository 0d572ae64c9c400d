"""flowforge_admin/checks.py: system checks of the configuration Flow Forge relies on."""

import importlib.util

import pytest
from django.conf import settings
from django.core.checks import Error, run_checks
from django.core.management import call_command
from django.test import override_settings

from flowforge_admin.checks import (
    check_artifact_root,
    check_function_modules,
    check_q_cluster,
    check_queues,
    check_required_apps,
    check_shared_cache,
    check_sqlite_backend,
    check_throttle_cache,
)


def ids(errors):
    return [error.id for error in errors]


def test_project_settings_pass_every_check():
    """The project's own settings give no errors or warnings."""
    call_command("check", fail_level="WARNING")
    assert check_function_modules(None) == []
    assert check_q_cluster(None) == []


@override_settings(FLOWFORGE_FUNCTION_MODULES=["no.such.module"])
def test_unimportable_function_module_is_e001():
    """A module of FLOWFORGE_FUNCTION_MODULES that does not import is flowforge_admin.E001."""
    errors = check_function_modules(None)

    assert ids(errors) == ["flowforge_admin.E001"]
    assert isinstance(errors[0], Error)
    assert "'no.such.module'" in errors[0].msg
    assert errors[0].hint


@override_settings(FLOWFORGE_FUNCTION_MODULES=["flowforge_admin.demo.tasks", "no.such.module", "nor.this"])
def test_each_bad_function_module_is_reported():
    """Every unimportable module gets its own error; importable ones none."""
    errors = check_function_modules(None)

    assert ids(errors) == ["flowforge_admin.E001", "flowforge_admin.E001"]
    assert "'no.such.module'" in errors[0].msg
    assert "'nor.this'" in errors[1].msg


def test_function_module_failing_on_import_is_e001(tmp_path, monkeypatch):
    """A module that raises while it is imported is E001 with its error, not a crash of ``check``."""
    (tmp_path / "flowforge_crashing_tasks.py").write_text("raise RuntimeError('no network at import')\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    with override_settings(FLOWFORGE_FUNCTION_MODULES=["flowforge_crashing_tasks"]):
        errors = check_function_modules(None)

    assert ids(errors) == ["flowforge_admin.E001"]
    assert "no network at import" in errors[0].msg


@override_settings(FLOWFORGE_FUNCTION_MODULES=[".relative.tasks"])
def test_relative_function_module_is_e001():
    """A relative module name cannot be imported by a worker: E001."""
    assert ids(check_function_modules(None)) == ["flowforge_admin.E001"]


@override_settings(FLOWFORGE_FUNCTION_MODULES=["no.such.module"])
def test_e001_is_run_by_the_check_framework():
    """E001 is registered: ``manage.py check`` reports it."""
    assert "flowforge_admin.E001" in ids(run_checks())


@pytest.mark.parametrize(
    ("timeout", "retry"),
    [(120, 120), (300, 120)],
    ids=["equal", "above"],
)
def test_timeout_not_below_retry_is_e002(timeout, retry):
    """A Q_CLUSTER timeout equal to or above retry is flowforge_admin.E002."""
    with override_settings(Q_CLUSTER={**settings.Q_CLUSTER, "timeout": timeout, "retry": retry}):
        errors = check_q_cluster(None)

    assert ids(errors) == ["flowforge_admin.E002"]
    assert f"({timeout})" in errors[0].msg
    assert f"({retry})" in errors[0].msg


def test_missing_timeout_is_e002():
    """A Q_CLUSTER without timeout is flowforge_admin.E002 (Django-Q2 would never stop a task)."""
    conf = {key: value for key, value in settings.Q_CLUSTER.items() if key != "timeout"}
    with override_settings(Q_CLUSTER=conf):
        assert ids(check_q_cluster(None)) == ["flowforge_admin.E002"]


def test_missing_retry_is_compared_with_django_q2_default():
    """Without retry, the timeout is compared with Django-Q2's default retry of 60 s."""
    conf = {key: value for key, value in settings.Q_CLUSTER.items() if key != "retry"}
    with override_settings(Q_CLUSTER={**conf, "timeout": 30}):
        assert check_q_cluster(None) == []
    with override_settings(Q_CLUSTER={**conf, "timeout": 60}):
        assert ids(check_q_cluster(None)) == ["flowforge_admin.E002"]


def test_e002_is_run_by_the_check_framework():
    """E002 is registered: ``manage.py check`` reports it."""
    with override_settings(Q_CLUSTER={**settings.Q_CLUSTER, "timeout": 100, "retry": 50}):
        assert "flowforge_admin.E002" in ids(run_checks())


@pytest.mark.parametrize(
    "missing",
    ["django_q", "mptt", "import_export", "rest_framework", "drf_spectacular", "drf_spectacular_sidecar"],
)
def test_a_missing_required_app_is_e003(missing):
    """Each app Flow Forge builds on, when missing, is an error whose hint says to add it."""
    installed = [app for app in settings.INSTALLED_APPS if app != missing]
    with override_settings(INSTALLED_APPS=installed):
        errors = check_required_apps(None)

    assert ids(errors) == ["flowforge_admin.E003"]
    assert f"Flow Forge needs {missing!r} in INSTALLED_APPS" in errors[0].msg
    assert f"Add {missing!r} to INSTALLED_APPS" in errors[0].hint


def test_missing_q_cluster_is_e002_with_a_minimal_one_in_the_hint():
    with override_settings(Q_CLUSTER=None):
        errors = check_q_cluster(None)
    assert ids(errors) == ["flowforge_admin.E002"]
    assert "Q_CLUSTER is not set" in errors[0].msg
    assert '"timeout": 1800' in errors[0].hint


def test_sync_cluster_is_e004():
    with override_settings(Q_CLUSTER={**settings.Q_CLUSTER, "sync": True}):
        assert ids(check_q_cluster(None)) == ["flowforge_admin.E004"]


@pytest.mark.parametrize(
    "backend",
    ["django.core.cache.backends.locmem.LocMemCache", "django.core.cache.backends.dummy.DummyCache"],
)
def test_orm_broker_with_a_private_cache_is_w001(backend):
    caches = {"default": {"BACKEND": backend}}
    with override_settings(CACHES=caches, Q_CLUSTER={**settings.Q_CLUSTER, "orm": "default"}):
        warnings = check_shared_cache(None)
    assert ids(warnings) == ["flowforge_admin.W001"]
    assert "/health/workers/" in warnings[0].msg


def test_redis_broker_needs_no_shared_cache():
    conf = {key: value for key, value in settings.Q_CLUSTER.items() if key != "orm"}
    caches = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    with override_settings(CACHES=caches, Q_CLUSTER={**conf, "redis": "redis://127.0.0.1:6379/0"}):
        assert check_shared_cache(None) == []


def test_stock_sqlite_backend_is_w002(monkeypatch):
    from django.db import connections

    settings_dict = {**connections["default"].settings_dict, "ENGINE": "django.db.backends.sqlite3"}
    monkeypatch.setattr(connections["default"], "settings_dict", settings_dict)
    warnings = check_sqlite_backend(None)
    assert ids(warnings) == ["flowforge_admin.W002"]
    assert "'flowforge_admin.db.sqlite3'" in warnings[0].hint


@pytest.mark.parametrize(
    ("q_cluster", "says"),
    [
        ({"name": "x", "timeout": 10, "retry": 20, "orm": "elsewhere"}, "'elsewhere', which DATABASES"),
        ({"name": "x", "timeout": 10, "retry": 20, "redis": "redis://127.0.0.1"}, "names Redis"),
        ({"name": "x", "timeout": 10, "retry": 20}, "names no broker, so Django-Q2 uses Redis"),
    ],
)
def test_a_broker_that_cannot_work_here_is_e005(q_cluster, says, monkeypatch):
    """An ORM broker on an unknown database, or Redis without the redis package, is flowforge_admin.E005."""
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "redis" else real_find_spec(name, *a)
    )
    with override_settings(Q_CLUSTER=q_cluster):
        errors = check_q_cluster(None)

    assert ids(errors) == ["flowforge_admin.E005"]
    assert says in errors[0].msg
    assert errors[0].hint


def test_an_orm_broker_on_a_known_database_needs_no_redis(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with override_settings(Q_CLUSTER={"name": "x", "timeout": 10, "retry": 20, "orm": "default"}):
        assert check_q_cluster(None) == []


def test_artifacts_under_a_publicly_served_root_are_w003(tmp_path):
    """Artifacts written under MEDIA_ROOT (served as public files by many hosts) are flowforge_admin.W003."""
    media = tmp_path / "media"
    with override_settings(MEDIA_ROOT=str(media), FLOWFORGE_ARTIFACT_ROOT=str(media / "artifacts")):
        errors = check_artifact_root(None)
        assert ids(errors) == ["flowforge_admin.W003"]
        assert "under MEDIA_ROOT" in errors[0].msg
    with override_settings(MEDIA_ROOT=str(media), FLOWFORGE_ARTIFACT_ROOT=str(tmp_path / "media-artifacts")):
        assert check_artifact_root(None) == []
    storages = {**settings.STORAGES, "flowforge": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
    with override_settings(MEDIA_ROOT=str(media), FLOWFORGE_ARTIFACT_ROOT=str(media), STORAGES=storages):
        assert check_artifact_root(None) == []


def test_dedicated_clusters_need_alt_clusters_in_q_cluster_w004(settings):
    """Django-Q2 reads Q_CLUSTER["ALT_CLUSTERS"] when a cluster starts with its own name: without it, a KeyError."""
    settings.FLOWFORGE_QUEUES = ["gpu"]
    settings.Q_CLUSTER = {key: value for key, value in settings.Q_CLUSTER.items() if key != "ALT_CLUSTERS"}
    warnings = check_queues(None)
    assert ids(warnings) == ["flowforge_admin.W004"]
    assert "KeyError: 'ALT_CLUSTERS'" in warnings[0].msg
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "ALT_CLUSTERS": {}}
    assert check_queues(None) == []


@pytest.mark.parametrize(
    ("backend", "rates", "warned"),
    [
        ("django.core.cache.backends.locmem.LocMemCache", None, True),
        ("django.core.cache.backends.dummy.DummyCache", None, True),
        ("django.core.cache.backends.filebased.FileBasedCache", None, False),
        ("django.core.cache.backends.locmem.LocMemCache", {}, False),
    ],
)
def test_w005_api_throttles_need_a_cache_the_web_processes_share(tmp_path, backend, rates, warned):
    extra = {} if rates is None else {"FLOWFORGE_API_THROTTLE": rates}
    with override_settings(CACHES={"default": {"BACKEND": backend, "LOCATION": str(tmp_path)}}, **extra):
        found = ids(check_throttle_cache(None))
    assert found == (["flowforge_admin.W005"] if warned else [])
