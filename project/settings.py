"""Settings of the Flow Forge admin project.

Everything that differs between machines comes from the environment, with
defaults that are safe for a developer's machine: an SQLite file under
``var/`` and Django-Q2's ORM broker, so that nothing else has to be installed
or started for a demo. See the configuration table in README.md.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("FLOWFORGE_VAR_DIR", BASE_DIR / "var"))


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG")

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it to a long random string, "
            "or set DJANGO_DEBUG=1 to use the development key on your own machine."
        )
    SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "mptt",
    "import_export",
    "django_q",
    "health_check",
    # The REST API (api/v1/), its OpenAPI schema and docs served from local static files.
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "flowforge_admin",
    "flowforge_admin.demo",
    # After flowforge_admin, so that its admin/index.html (the count of approvals waiting
    # for the user above the app list) is found before Django's own.
    "django.contrib.admin",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Serves the collected static files from the WSGI app itself (gunicorn in
    # production): right after SecurityMiddleware, before anything slower.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "project.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "project.wsgi.application"

# Database: DATABASE_URL (PostgreSQL for scale-out), else an SQLite file in var/.
DEFAULT_SQLITE_PATH = VAR_DIR / "flowforge.sqlite3"
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{DEFAULT_SQLITE_PATH}",
        # Without persistent connections every enqueue reconnects
        # (3 ms on SQLite, 31 ms on PostgreSQL).
        conn_max_age=600,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Flow Forge's SQLite backend: Django's, with WAL, IMMEDIATE transactions and
    # writers taking turns on a file lock (see its docstring); the stock backend
    # fails concurrent launches with "database is locked" (check flowforge_admin.W002).
    DATABASES["default"]["ENGINE"] = "flowforge_admin.db.sqlite3"
    # A file, not memory, for the test database: the browser tests' live
    # server threads and the worker processes of integration tests share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test_flowforge.sqlite3")}
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The demo flow kept only in the database, loaded by `manage.py prepare_demo`.
FIXTURE_DIRS = [BASE_DIR / "fixtures"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = os.environ.get("DJANGO_STATIC_ROOT", str(VAR_DIR / "static"))

# Production (see docs/deploy.md). Nothing here changes a developer's machine
# or the tests unless the variables below are set.
#
# Hashed, compressed static files that browsers may cache for ever need the
# manifest that `collectstatic` writes, and the manifest storage raises for
# any file missing from it. So it is switched on where collectstatic has run
# (the Dockerfile sets DJANGO_STATIC_MANIFEST=1 for the build's collectstatic
# and for the running image) rather than whenever DEBUG is off: the tests
# (DEBUG off, no collectstatic: the live server serves files from the
# finders) and a checkout keep Django's plain storage. Forgetting the
# variable in production costs cache lifetime, not a broken page.
if env_bool("DJANGO_STATIC_MANIFEST"):
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }

# Served over HTTPS behind a TLS-terminating proxy or ingress (DJANGO_HTTPS=1).
if env_bool("DJANGO_HTTPS"):
    SECURE_SSL_REDIRECT = True
    # Kubelet probes and Prometheus reach the pod directly over plain HTTP:
    # a redirect to https would fail them. (Paths here have no leading slash.)
    SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics/?$"]
    # The proxy says the client's scheme in this header; it must replace any
    # value the client sent (ingress-nginx and the cloud load balancers do).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    try:
        SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", 365 * 24 * 3600))
    except ValueError:
        raise ImproperlyConfigured(
            f"DJANGO_HSTS_SECONDS must be a whole number of seconds, not {os.environ['DJANGO_HSTS_SECONDS']!r}."
        ) from None
    # On by default so that `check --deploy` is clean; turn them off when the
    # host has subdomains served over plain HTTP, or before leaving HTTPS.
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

LOGIN_URL = "admin:login"

# Django-Q2 executes the tasks of flow runs and fires schedules. The flow
# engine owns retries, so Django-Q2 must not re-run a failed function itself:
# one attempt per message, failures acknowledged. A flow task's own timeout
# must stay below the cluster's timeout, which must stay below the broker's
# retry (the age at which an unacknowledged message is delivered again).
Q_WORKER_TIMEOUT = int(os.environ.get("FLOWFORGE_WORKER_TIMEOUT", "1800"))
Q_CLUSTER = {
    # Also the queue's name: deployments sharing one Redis need different names.
    "name": os.environ.get("FLOWFORGE_CLUSTER_NAME", "flowforge"),
    "workers": int(os.environ.get("FLOWFORGE_WORKERS", "2")),
    "timeout": Q_WORKER_TIMEOUT,
    "retry": Q_WORKER_TIMEOUT + 60,
    "max_attempts": 1,
    "ack_failures": True,
    "catch_up": False,
    "save_limit": 1000,
    "label": "Django Q2",
    # Settings per dedicated cluster (a qcluster started with Q_CLUSTER_NAME=<queue>, see
    # docs/deploy.md); Django-Q2 needs the key, even empty, to start such a cluster.
    "ALT_CLUSTERS": {},
}
# The queues (dedicated clusters) a task's `queue` may name, comma-separated; empty: any name.
FLOWFORGE_QUEUES = env_list("FLOWFORGE_QUEUES")
FLOWFORGE_REDIS_URL = os.environ.get("FLOWFORGE_REDIS_URL", "")
if FLOWFORGE_REDIS_URL:
    Q_CLUSTER["redis"] = FLOWFORGE_REDIS_URL
else:
    # The ORM broker on the default database, polling fast while work flows
    # and every `poll` seconds when idle (see flowforge_admin/broker.py).
    Q_CLUSTER["orm"] = "default"
    Q_CLUSTER["poll"] = float(os.environ.get("FLOWFORGE_IDLE_POLL", "0.2"))
    Q_CLUSTER["broker_class"] = os.environ.get("FLOWFORGE_BROKER_CLASS", "flowforge_admin.broker.AdaptiveORM")
    # One write locks a message for each worker (the broker takes them in one statement).
    Q_CLUSTER["bulk"] = Q_CLUSTER["workers"]
# Django-Q2 clusters report their state (Stat) through the broker: the Redis
# broker keeps it in Redis, the ORM broker in Django's cache (Q_CLUSTER
# "cache", default alias). A per-process memory cache would hide the workers'
# reports from the web process, so /health/workers/, /metrics and
# `manage.py worker_health` need a cache every process shares: Redis when
# there is one, else files under var/ (one machine).
if FLOWFORGE_REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": FLOWFORGE_REDIS_URL}
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": VAR_DIR / "cache",
        }
    }
FLOWFORGE_FAST_POLL = float(os.environ.get("FLOWFORGE_FAST_POLL", "0.01"))
FLOWFORGE_FAST_POLL_FOR = float(os.environ.get("FLOWFORGE_FAST_POLL_FOR", "5"))

# Modules whose public functions editors may pick as task functions in the
# admin and in import files (trusted: they are imported to list the choices).
FLOWFORGE_FUNCTION_MODULES = env_list("FLOWFORGE_FUNCTION_MODULES", "flowforge_admin.demo.tasks")

# Engine timings (seconds); see flowforge_admin/conf.py for what each one does.
for _name, _default in [
    ("FLOWFORGE_HEARTBEAT_SECONDS", 5),
    ("FLOWFORGE_LOST_AFTER_SECONDS", 30),
    ("FLOWFORGE_REQUEUE_AFTER_SECONDS", 30),
    ("FLOWFORGE_ALERT_CACHE_SECONDS", 5),
]:
    globals()[_name] = int(os.environ.get(_name, _default))
# A new worker hands on its host's dead workers' attempts at once (flowforge_admin/conf.py).
FLOWFORGE_WATCHDOG = env_bool("FLOWFORGE_WATCHDOG", True)
# Continuations: tasks a worker runs itself after the one it finished (flowforge_admin/conf.py).
FLOWFORGE_CONTINUATIONS_PER_MESSAGE = int(os.environ.get("FLOWFORGE_CONTINUATIONS_PER_MESSAGE", 20))
FLOWFORGE_CONTINUATION_SECONDS = float(os.environ.get("FLOWFORGE_CONTINUATION_SECONDS", 1.0))
# Whether workers' claims and records of task attempts wait for PostgreSQL's disk
# (see flowforge_admin/conf.py and README "One lock per run").
FLOWFORGE_DURABLE_TASK_COMMITS = env_bool("FLOWFORGE_DURABLE_TASK_COMMITS")

# Health checks (seconds): a cluster that has not reported for this long is
# dead; a task queued for longer fails /health/workers/ (0: never).
FLOWFORGE_WORKER_STALE_SECONDS = int(os.environ.get("FLOWFORGE_WORKER_STALE_SECONDS", 60))
FLOWFORGE_MAX_QUEUED_AGE_SECONDS = int(os.environ.get("FLOWFORGE_MAX_QUEUED_AGE_SECONDS", 600))
# Bearer token Prometheus sends to /metrics; empty: only staff users may read it.
FLOWFORGE_METRICS_TOKEN = os.environ.get("FLOWFORGE_METRICS_TOKEN", "")

# Alerts link to the admin under this address (e.g. https://flows.example.com); empty: paths only.
FLOWFORGE_BASE_URL = os.environ.get("FLOWFORGE_BASE_URL", "")
# Finished runs older than this many days are purged every day (README "Retention"); unset: kept for ever.
FLOWFORGE_RUN_RETENTION_DAYS = (
    int(os.environ["FLOWFORGE_RUN_RETENTION_DAYS"])
    if os.environ.get("FLOWFORGE_RUN_RETENTION_DAYS")
    else None
)

# Largest import file accepted (admin and import_flows), in bytes.
FLOWFORGE_IMPORT_MAX_BYTES = int(os.environ.get("FLOWFORGE_IMPORT_MAX_BYTES", 5_000_000))
# Uploaded import files wait for their confirmation here (one machine; see docs/deploy.md).
FLOWFORGE_IMPORT_PENDING_DIR = VAR_DIR / "imports"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
}

# Task outputs that are not JSON (artifacts): on the workers' disk here, beside the database.
# A deployment with several machines defines STORAGES["flowforge"] instead (for example
# django-storages' S3 backend), or points this at a shared volume (docs/deploy.md).
FLOWFORGE_ARTIFACT_ROOT = os.environ.get("FLOWFORGE_ARTIFACT_ROOT", str(VAR_DIR / "artifacts"))
