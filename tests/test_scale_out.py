"""The engine's integration tests again, on PostgreSQL + Redis with two worker clusters.

This is the scale-out path of docs/deploy.md: the same code on PostgreSQL
(``DATABASE_URL``) and the Redis broker (``FLOWFORGE_REDIS_URL``), with two
``qcluster`` processes standing for two machines. A child pytest runs
tests/engine/test_cluster.py and test_outputs_on_workers.py that way
(``FLOWFORGE_TEST_CLUSTERS=2``): every task runs exactly once per attempt
across the clusters, a cluster killed with ``kill -9`` mid-task loses nothing
although Redis drops the messages it held, a schedule fires once, not once
per cluster, and artifacts pass between tasks on either cluster, and max_active_runs and
pools hold across both clusters (slots counted under the pool's row lock), and a worker killed
mid-task has its task handed on by its replacement (one cluster). pytest-django creates and
drops its own ``test_flowforge_scale`` database; in Redis it uses a queue of
its own name and deletes that queue's keys afterwards.
"""

import os

import redis
from django.conf import settings

from .conftest import answers, require_service, run_suites_in_child

POSTGRES_URL = os.environ.get(
    "FLOWFORGE_TEST_POSTGRES_SCALE_URL", "postgres://postgres@127.0.0.1:5432/flowforge_scale"
)
REDIS_URL = os.environ.get("FLOWFORGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SUITES = [
    "tests/engine/test_cluster.py",
    "tests/engine/test_outputs_on_workers.py",
    "tests/engine/test_run_control_on_workers.py",
    "tests/engine/test_routing_cluster.py",
    "tests/engine/test_watchdog_on_workers.py",
]


def test_engine_integration_suite_passes_on_postgresql_and_redis_with_two_clusters():
    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return  # already the child run (or a PostgreSQL run of the whole suite)
    require_service("PostgreSQL", answers("127.0.0.1", 5432), "nothing answers on 127.0.0.1:5432")
    require_service("Redis", answers("127.0.0.1", 6379), "nothing answers on 127.0.0.1:6379")
    name = f"flowforge-test-{os.getpid()}"
    try:
        run_suites_in_child(
            SUITES,
            timeout=1200,
            DATABASE_URL=POSTGRES_URL,
            FLOWFORGE_REDIS_URL=REDIS_URL,
            FLOWFORGE_CLUSTER_NAME=name,
            FLOWFORGE_TEST_CLUSTERS="2",
        )
    finally:
        client = redis.from_url(REDIS_URL)
        # The project's cluster's keys, and those of the dedicated clusters named after it.
        keys = list(client.scan_iter(match=f"django_q:{name}[:-]*"))
        if keys:
            client.delete(*keys)
