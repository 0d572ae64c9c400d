"""``manage.py worker_health``: the exec probe of a worker pod.

Exit 0 when a Django-Q2 cluster running on this host (``socket.gethostname()``,
which Django-Q2 records as the cluster's host) reported within
``FLOWFORGE_WORKER_STALE_SECONDS``; else say why and exit 1. Cheap: it reads
the clusters' reports from Redis or the shared cache, with no database query
and without Django's system checks. ``--queues`` also prints each queue (the
Django-Q2 cluster names tasks are sent to) with the messages waiting in it.
"""

import socket

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from flowforge_admin.conf import get_setting
from flowforge_admin.health import alive_clusters, cluster_stats, describe_clusters, queue_depths


class Command(BaseCommand):
    help = (
        "Exit 0 when a Django-Q2 cluster on this host reported within FLOWFORGE_WORKER_STALE_SECONDS, "
        "else print why and exit 1 (a liveness probe for worker pods)."
    )
    # A probe runs every few seconds: skip the system checks, which cost more than the probe itself.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--queues",
            action="store_true",
            help="Also print every queue and the messages waiting in it (reads the database).",
        )

    def handle(self, *args, **options):
        if options["queues"]:
            for name, depth in queue_depths().items():
                self.stdout.write(f"queue {name}: {depth} waiting")
        host = socket.gethostname()
        now = timezone.now()
        stats = cluster_stats()
        here = [stat for stat in alive_clusters(stats, now) if stat.host == host]
        if not here:
            stale = get_setting("FLOWFORGE_WORKER_STALE_SECONDS")
            raise CommandError(
                f"no Django-Q2 cluster on {host} reported in the last {stale} s "
                f"({describe_clusters(stats, now)})",
                returncode=1,
            )
        clusters = ", ".join(f"{stat.cluster_id} ({stat.status})" for stat in here)
        self.stdout.write(f"{len(here)} Django-Q2 cluster(s) alive on {host}: {clusters}")
