"""Django's admin log for what people do to runs, so it shows in each object's history."""

import json

from django.contrib.admin.models import ADDITION, CHANGE, LogEntry


def log_action(request, obj, message, flag=CHANGE):
    """Record ``message`` as done by the request's user to ``obj``."""
    LogEntry.objects.log_actions(
        user_id=request.user.pk, queryset=[obj], action_flag=flag, change_message=message, single_object=True
    )


def log_launch(request, run, how="Launched from the admin"):
    """Record a launch on the new run and on its flow: both histories show who started what."""
    shown = json.dumps(run.params, sort_keys=True)
    log_action(request, run, f"{how} with parameters {shown}.", flag=ADDITION)
    if run.flow is not None:
        log_action(request, run.flow, f"Launched run #{run.pk} with parameters {shown}.")
