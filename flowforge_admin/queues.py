"""Queues: the Django-Q2 clusters a task may be sent to (the task key ``queue``).

Django-Q2 names a queue after the cluster that takes from it: a ``qcluster``
started with ``Q_CLUSTER_NAME=gpu`` (or ``--cluster-name gpu``) takes only
the messages sent to ``gpu``. A task without a queue goes to the project's own
cluster, the one ``Q_CLUSTER`` names, read from the settings rather than from
Django-Q2's ``Conf``: in a worker of ``gpu``, ``Conf.CLUSTER_NAME`` is ``gpu``,
and the unrouted task it queues next belongs to the project's cluster, not to
the GPU machine.
"""

from django.conf import settings

from .conf import get_setting


def default_queue():
    """Return the name of the project's own cluster (where a task without a queue goes)."""
    conf = getattr(settings, "Q_CLUSTER", None) or {}
    return conf.get("cluster_name") or conf.get("name") or "default"


def queue_name(queue):
    """Return the cluster name a task with ``queue`` (maybe empty) is sent to."""
    return queue or default_queue()


def known_queues():
    """Return the queues ``FLOWFORGE_QUEUES`` lists, or None when it lists none (any name is accepted)."""
    names = get_setting("FLOWFORGE_QUEUES")
    return list(names) if names else None
