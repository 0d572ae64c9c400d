"""Settings of the app (``FLOWFORGE_*``) with their defaults, read when used.

Reading through ``get_setting`` instead of at import time keeps
``override_settings`` working in tests.
"""

from django.conf import settings

DEFAULTS = {
    # Modules whose public functions may be chosen as task functions without
    # being registered from code (trusted: imported to list the choices).
    "FLOWFORGE_FUNCTION_MODULES": [],
    # A running task writes a heartbeat this often (and flushes its log lines every second).
    "FLOWFORGE_HEARTBEAT_SECONDS": 5,
    # A running task whose heartbeat is older than this lost its worker.
    "FLOWFORGE_LOST_AFTER_SECONDS": 30,
    # A queued task older than this may have lost its message: it is enqueued again.
    "FLOWFORGE_REQUEUE_AFTER_SECONDS": 30,
    # Attempts a task may lose to dead workers before it fails (they are not its retries).
    "FLOWFORGE_MAX_LOST_ATTEMPTS": 3,
    # Whether a worker process that Django-Q2 starts (a dead one's replacement among them) hands on
    # at once the running attempts of its host's dead workers (engine/watchdog.py); the lost-work
    # check stays the backstop.
    "FLOWFORGE_WATCHDOG": True,
    # How often the lost-work check runs (a Django-Q2 schedule; its scheduler ticks every 30 s).
    "FLOWFORGE_CHECK_MINUTES": 1,
    # Whether a worker's claim and record of a task attempt wait for the database's disk
    # (PostgreSQL's synchronous_commit). Off, a crash of the database server may lose the
    # last moments of them; the lost-work check then runs those attempts again.
    "FLOWFORGE_DURABLE_TASK_COMMITS": False,
    # A worker that finishes a task may run one task this made ready itself, with no broker round
    # trip (engine/continuation.py): at most this many such continuations per queue message (0: never)
    # and only while the message started less than FLOWFORGE_CONTINUATION_SECONDS ago; after that
    # the ready tasks are queued, behind other runs' work.
    "FLOWFORGE_CONTINUATIONS_PER_MESSAGE": 20,
    "FLOWFORGE_CONTINUATION_SECONDS": 1.0,
    # A launch of a flow with more tasks than this returns once the run and its task runs are
    # written: a worker starts its first tasks (and sends their messages) moments later.
    "FLOWFORGE_LAUNCH_INLINE_TASKS": 1000,
    # Most instances a mapped task (map_over) may have: over it the task fails, giving the count.
    "FLOWFORGE_MAX_MAP_INSTANCES": 1000,
    # Largest JSON value stored as parameters (a flow's, a task's, a schedule's, a run's) or as a
    # flow's parameters schema, in bytes of UTF-8 JSON: every entrance refuses a larger one.
    "FLOWFORGE_MAX_PARAMS_BYTES": 64 * 1024,
    # Deepest nesting of lists and objects in those values (a schema's properties count two levels
    # each: "properties" and the property itself).
    "FLOWFORGE_MAX_PARAMS_DEPTH": 32,
    # Largest flow definition file accepted by import_flows and the admin import (bytes).
    "FLOWFORGE_IMPORT_MAX_BYTES": 5_000_000,
    # Where an uploaded import file waits for its confirmation (a directory of the web
    # server's machine; None: a folder in the system's temporary directory). Not the media
    # storage: a host may serve that publicly.
    "FLOWFORGE_IMPORT_PENDING_DIR": None,
    # A Django-Q2 cluster that has not reported for this long counts as dead (health checks, metrics).
    "FLOWFORGE_WORKER_STALE_SECONDS": 60,
    # /health/workers/ fails when a task has been queued for longer than this (0: never).
    "FLOWFORGE_MAX_QUEUED_AGE_SECONDS": 600,
    # The AdaptiveORM broker (broker.py) polls every FLOWFORGE_FAST_POLL seconds for
    # FLOWFORGE_FAST_POLL_FOR seconds after it last found work, then at Q_CLUSTER's poll.
    "FLOWFORGE_FAST_POLL": 0.01,
    "FLOWFORGE_FAST_POLL_FOR": 5.0,
    # Where task outputs that are not JSON (artifacts) are written when the project's STORAGES has
    # no "flowforge" storage: a directory of the workers' (and, for downloads, the web server's)
    # machine. None: "flowforge-artifacts" under BASE_DIR (or the working directory). Not the media
    # root: a host may serve that publicly, and artifacts are only for users who may see the run.
    "FLOWFORGE_ARTIFACT_ROOT": None,
    # How artifacts are written, tried in order: the first whose accepts(value) is true writes it
    # (should it fail, the next one tries). Dotted paths of Serializer classes (artifacts/serializers.py).
    "FLOWFORGE_ARTIFACT_SERIALIZERS": [
        "flowforge_admin.artifacts.serializers.NumpySerializer",
        "flowforge_admin.artifacts.serializers.ParquetSerializer",
        "flowforge_admin.artifacts.serializers.PickleSerializer",
    ],
    # Most runs one backfill may create (the admin page and manage.py backfill refuse more, saying how many).
    "FLOWFORGE_BACKFILL_MAX_RUNS": 1000,
    # Most runs a schedule with catch-up on launches for the fires missed while no worker ran; older
    # missed fires beyond it are skipped, and the schedule's last message says so.
    "FLOWFORGE_CATCHUP_MAX_RUNS": 50,
    # The queues (Django-Q2 cluster names) a task's ``queue`` may name, besides the project's own
    # cluster. Empty: any valid name is accepted (a queue no cluster takes from waits for one).
    "FLOWFORGE_QUEUES": [],
    # Longest life of a user's API token, in days: when set, every new token needs an expiry at
    # most this far ahead. None: a token may also never expire. Tokens made earlier are kept.
    "FLOWFORGE_API_TOKEN_MAX_DAYS": None,
    # Finished runs older than this many days (by their finish) are deleted every day, with their task
    # runs, logs, artifacts and alert records (flowforge_admin.engine.retention; manage.py purge_runs
    # does it by hand). None: runs are kept for ever, and there is no retention schedule.
    "FLOWFORGE_RUN_RETENTION_DAYS": None,
    # Bearer token that may read /metrics without a login; empty turns token access off.
    "FLOWFORGE_METRICS_TOKEN": "",
    # The site's address (e.g. "https://flows.example.com"): alerts link to the admin under it.
    # Empty: their links are paths only.
    "FLOWFORGE_BASE_URL": "",
    # A failed alert delivery is tried again after each of these delays in turn (seconds; a one-off
    # Django-Q2 schedule, so about 30 s resolution), then recorded as failed.
    "FLOWFORGE_ALERT_RETRY_DELAYS": [30, 120, 600],
    # How long a webhook may take to answer (seconds).
    "FLOWFORGE_ALERT_TIMEOUT_SECONDS": 10,
    # The sender of alert e-mails; None: Django's DEFAULT_FROM_EMAIL.
    "FLOWFORGE_ALERT_FROM_EMAIL": None,
    # How long a process trusts what it read of which flows have alerts (seconds): a worker may
    # miss an alert made this recently in another process. 0: read at every event.
    "FLOWFORGE_ALERT_CACHE_SECONDS": 5,
    # Requests one API token (or one logged-in user) may make to the REST API, per period
    # ("second", "minute", "hour" or "day"): reads (GET) and changes (POST) apart; None: no limit.
    # Counted in the "default" cache, which every web process must share (not LocMemCache).
    "FLOWFORGE_API_THROTTLE": {"read": "600/minute", "write": "60/minute"},
}


def get_setting(name):
    """Return the project's value of ``name``, or the app's default."""
    return getattr(settings, name, DEFAULTS[name])
