"""The retry policy, in one place: how many attempts a task has, and when the next one starts.

- A task has ``retries + 1`` attempts (launch); a re-run, retry or clear
  gives it that many again, counted from the attempt it is on.
- An attempt lost with its worker (no heartbeat) does not count against
  them; after ``FLOWFORGE_MAX_LOST_ATTEMPTS`` lost attempts the task fails.
- A failed attempt is retried after ``retry_delay * 2 ** (n - 1)`` seconds,
  n being the failed attempt's number within its round (a re-run starts a
  new round): 0 retries at once, otherwise the worker marks the task
  retrying and :func:`~flowforge_admin.engine.dispatch.enqueue_later`
  resumes it.
"""

from django.db.models import F

from ..conf import get_setting


def attempts_allowed(task):
    """The attempts a task of a snapshot has at launch."""
    return task["retries"] + 1


def attempts_after_reopen(retries):
    """The ``max_attempts`` of a task run given its full retries again (an update expression)."""
    return F("attempt") - F("lost_attempts") + retries + 1


def may_retry(attempt, lost, allowed):
    """Whether a failed ``attempt`` (``lost`` of them lost, ``allowed`` in all) may be followed by another."""
    return attempt - lost < allowed


def retry_delay(task, attempt, lost, allowed):
    """Seconds to wait before the attempt after failed ``attempt``: doubling within its round."""
    # Attempts of this round (a re-run starts a new one); lost ones do not count.
    tries = attempt - lost - (allowed - task["retries"] - 1)
    return task["retry_delay"] * 2 ** (tries - 1)


def may_requeue_lost(lost):
    """Whether a task whose ``lost``-th attempt lost its worker is queued again (else it fails)."""
    return lost < get_setting("FLOWFORGE_MAX_LOST_ATTEMPTS")
