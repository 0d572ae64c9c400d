"""Gunicorn settings of the Flow Forge web app (the Dockerfile's default command uses them).

    gunicorn -c deploy/gunicorn.conf.py project.wsgi

Tuned from the environment: ``GUNICORN_WORKERS`` (default: 2 per CPU core plus
one, at most 8), ``GUNICORN_THREADS`` (default 1), ``GUNICORN_TIMEOUT`` (default
60 s) and ``GUNICORN_GRACEFUL_TIMEOUT`` (default 25 s). Gunicorn also reads
``GUNICORN_CMD_ARGS`` by itself.
"""

import multiprocessing
import os


def _env_int(name, default):
    value = os.environ.get(name, "")
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, not {value!r}") from None


bind = "0.0.0.0:8000"
# Pages read the database: a few processes per core keep the CPU busy while
# others wait on it. Capped because each one holds its own database connection.
workers = _env_int("GUNICORN_WORKERS", min(2 * multiprocessing.cpu_count() + 1, 8))
threads = _env_int("GUNICORN_THREADS", 1)
# A request slower than this is killed and logged; no page should come close.
timeout = _env_int("GUNICORN_TIMEOUT", 60)
# On SIGTERM (a rolling update), requests in flight get this long to finish;
# Kubernetes' terminationGracePeriodSeconds (default 30) must be longer.
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 25)
keepalive = 5

# Logs go to the container's stdout/stderr, where the platform collects them.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

# The heartbeat file of each worker goes to memory: a disk-backed /tmp can
# block it and get healthy workers killed (also works with a read-only root).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# No runtime control socket: nothing uses it, and its default home directory
# may not be writable in a container.
control_socket_disable = True
