"""System checks of the configuration Flow Forge relies on.

A host project that installs the app gets one message per missing piece, each
with the fix in its hint (README "Use Flow Forge in your Django project"):

- ``E001`` a module of ``FLOWFORGE_FUNCTION_MODULES`` does not import;
- ``E002`` Django-Q2's ``Q_CLUSTER`` is missing, or would deliver a task again while it runs;
- ``E003`` an app Flow Forge needs is not in ``INSTALLED_APPS`` (the REST API's three included);
- ``E004`` Django-Q2 runs tasks synchronously (``sync``), which the engine cannot run on;
- ``E005`` the broker ``Q_CLUSTER`` names (or Django-Q2's default, Redis) cannot be used here;
- ``W001`` the ORM broker with a cache the processes do not share (workers' health is blind);
- ``W002`` Django's stock SQLite backend (concurrent launches fail with "database is locked");
- ``W004`` dedicated clusters (``FLOWFORGE_QUEUES``) that Django-Q2 cannot start (no ``ALT_CLUSTERS``);
- ``W005`` REST API throttling on a cache the web processes do not share (each counts alone).
"""

import importlib
import importlib.util
import os

from django.apps import apps
from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.db import connections

from .conf import get_setting


@register(Tags.compatibility)
def check_function_modules(app_configs, **kwargs):
    """flowforge_admin.E001: every trusted function module must import."""
    errors = []
    for module in get_setting("FLOWFORGE_FUNCTION_MODULES"):
        try:
            importlib.import_module(module)
        except Exception as error:  # any failure to import is this error, not a crash of `check`
            errors.append(
                Error(
                    f"FLOWFORGE_FUNCTION_MODULES lists {module!r}, which cannot be imported: {error}",
                    hint="Fix the module path or remove it from the setting.",
                    id="flowforge_admin.E001",
                )
            )
    return errors


# Apps whose models, templates or static files Flow Forge uses, with what each is for.
REQUIRED_APPS = {
    "django_q": "Django-Q2 runs the tasks and fires the schedules",
    "mptt": "django-mptt keeps the task trees and serves the drag-and-drop tree's static files",
    "import_export": "django-import-export reads and writes flow definition files",
    "rest_framework": "Django REST Framework serves the REST API (api/v1/)",
    "drf_spectacular": "drf-spectacular generates the REST API's OpenAPI schema (api/v1/schema/)",
    "drf_spectacular_sidecar": "drf-spectacular-sidecar serves the API docs' Swagger UI files locally (api/v1/docs/)",
}

# Cache backends that live in one process: a worker's report is invisible to the web server.
PRIVATE_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
}

MINIMAL_Q_CLUSTER = 'Q_CLUSTER = {"name": "flowforge", "orm": "default", "timeout": 1800, "retry": 1860}'


@register(Tags.compatibility)
def check_required_apps(app_configs, **kwargs):
    """flowforge_admin.E003: the apps Flow Forge builds on are installed."""
    return [
        Error(
            f"Flow Forge needs {name!r} in INSTALLED_APPS: {purpose}.",
            hint=f"Add {name!r} to INSTALLED_APPS (before 'flowforge_admin'), then run migrate.",
            id="flowforge_admin.E003",
        )
        for name, purpose in REQUIRED_APPS.items()
        if not apps.is_installed(name)
    ]


@register(Tags.compatibility)
def check_q_cluster(app_configs, **kwargs):
    """flowforge_admin.E002 and E004: Django-Q2's cluster can run the engine's tasks."""
    conf = getattr(settings, "Q_CLUSTER", None)
    if not conf:
        return [
            Error(
                "Q_CLUSTER is not set: Django-Q2 has no broker and no timeout for Flow Forge's tasks.",
                hint=f"Set for example {MINIMAL_Q_CLUSTER} (the ORM broker), or a 'redis' URL instead of 'orm'.",
                id="flowforge_admin.E002",
            )
        ]
    errors = []
    timeout, retry = conf.get("timeout"), conf.get("retry", 60)
    if timeout is None or timeout >= retry:
        errors.append(
            Error(
                f"Q_CLUSTER timeout ({timeout}) must be set and below retry ({retry}).",
                hint="Otherwise the broker delivers a task again while it is still running.",
                id="flowforge_admin.E002",
            )
        )
    errors.extend(_broker_errors(conf))
    if conf.get("sync"):
        errors.append(
            Error(
                "Q_CLUSTER sync is on: Django-Q2 would run each task inside the launch that queues it.",
                hint="Turn sync off and start a cluster (manage.py qcluster); "
                "flowforge_admin.api.run_flow runs a whole flow in one process without one.",
                id="flowforge_admin.E004",
            )
        )
    return errors


# Q_CLUSTER keys that choose a broker other than Redis, Django-Q2's default.
OTHER_BROKER_KEYS = ("orm", "disque_nodes", "iron_mq", "sqs", "mongo", "broker_class")


def _broker_errors(conf):
    """flowforge_admin.E005: a broker that cannot carry the engine's messages in this environment."""
    if "orm" in conf and conf["orm"] not in settings.DATABASES:
        return [
            Error(
                f"Q_CLUSTER orm names the database {conf['orm']!r}, which DATABASES does not define.",
                hint='Use "orm": "default" (or another alias of DATABASES).',
                id="flowforge_admin.E005",
            )
        ]
    uses_redis = "redis" in conf or not any(key in conf for key in OTHER_BROKER_KEYS)
    if uses_redis and importlib.util.find_spec("redis") is None:
        named = "names Redis" if "redis" in conf else "names no broker, so Django-Q2 uses Redis"
        return [
            Error(
                f"Q_CLUSTER {named}, and the redis package is not installed.",
                hint='pip install "django-flowforge-admin[redis]", or use the ORM broker: "orm": "default".',
                id="flowforge_admin.E005",
            )
        ]
    return []


@register(Tags.caches, Tags.compatibility)
def check_shared_cache(app_configs, **kwargs):
    """flowforge_admin.W001: with the ORM broker, clusters report through a cache every process shares."""
    conf = getattr(settings, "Q_CLUSTER", None) or {}
    if "orm" not in conf:
        return []  # Redis and the other brokers keep the clusters' reports themselves
    alias = conf.get("cache", "default")
    backend = settings.CACHES.get(alias, {}).get("BACKEND", "")
    if backend not in PRIVATE_CACHES:
        return []
    return [
        Warning(
            f"The cache {alias!r} ({backend.rpartition('.')[2]}) lives in one process: the clusters' "
            "reports never reach the web server, so /health/workers/ and /metrics see no cluster.",
            hint="Use a cache that every process shares (Redis, Memcached, the database or files), "
            "or name one in Q_CLUSTER['cache'].",
            id="flowforge_admin.W001",
        )
    ]


@register(Tags.caches, Tags.compatibility)
def check_throttle_cache(app_configs, **kwargs):
    """flowforge_admin.W005: the REST API's throttles count in a cache every web process shares."""
    rates = get_setting("FLOWFORGE_API_THROTTLE") or {}
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if not any(rates.values()) or backend not in PRIVATE_CACHES:
        return []
    return [
        Warning(
            f"The REST API's throttles count requests in the 'default' cache ({backend.rpartition('.')[2]}), "
            "which lives in one process: each web process counts on its own, so a client gets the "
            "FLOWFORGE_API_THROTTLE rates once per process (with DummyCache, no limit at all).",
            hint="Use a cache that every web process shares (Redis, Memcached, the database or files), "
            "or set FLOWFORGE_API_THROTTLE to {} to turn throttling off knowingly.",
            id="flowforge_admin.W005",
        )
    ]


@register(Tags.database, Tags.compatibility)
def check_sqlite_backend(app_configs, **kwargs):
    """flowforge_admin.W002: SQLite through Flow Forge's backend, not Django's stock one."""
    if connections["default"].settings_dict["ENGINE"] != "django.db.backends.sqlite3":
        return []
    return [
        Warning(
            "The default database uses Django's stock SQLite backend: concurrent launches and "
            'workers fail with "database is locked".',
            hint="Set DATABASES['default']['ENGINE'] = 'flowforge_admin.db.sqlite3' (Django's backend "
            "with WAL, IMMEDIATE transactions and writers taking turns; it needs no OPTIONS).",
            id="flowforge_admin.W002",
        )
    ]


@register(Tags.security)
def check_artifact_root(app_configs, **kwargs):
    """flowforge_admin.W003: artifacts are not kept where the web server may serve them as public files."""
    from .artifacts.storage import ALIAS, artifact_root

    if ALIAS in settings.STORAGES:
        return []
    root = os.path.realpath(artifact_root())
    for setting in ("MEDIA_ROOT", "STATIC_ROOT"):
        public = getattr(settings, setting, None)
        if not public:
            continue
        public = os.path.realpath(os.fspath(public))
        if root == public or root.startswith(public + os.sep):
            return [
                Warning(
                    f"Task outputs (artifacts) are written under {setting} ({public}): a web server "
                    "serving it would hand them to anyone, bypassing the admin's permission check.",
                    hint="Set FLOWFORGE_ARTIFACT_ROOT to a directory that is not served, or define a "
                    "private STORAGES['flowforge'].",
                    id="flowforge_admin.W003",
                )
            ]
    return []


@register(Tags.compatibility)
def check_queues(app_configs, **kwargs):
    """flowforge_admin.W004: the dedicated clusters FLOWFORGE_QUEUES lists can start."""
    conf = getattr(settings, "Q_CLUSTER", None) or {}
    if not get_setting("FLOWFORGE_QUEUES") or "ALT_CLUSTERS" in conf:
        return []
    # Django-Q2's Conf reads Q_CLUSTER["ALT_CLUSTERS"] without a default whenever the cluster
    # name differs from Q_CLUSTER's name.
    return [
        Warning(
            "FLOWFORGE_QUEUES lists dedicated clusters, and Q_CLUSTER has no 'ALT_CLUSTERS': a qcluster "
            "started with a cluster name (Q_CLUSTER_NAME or --cluster-name) stops with KeyError: 'ALT_CLUSTERS'.",
            hint='Add "ALT_CLUSTERS": {} to Q_CLUSTER (or per cluster name, the settings that differ; '
            "see docs/deploy.md).",
            id="flowforge_admin.W004",
        )
    ]
