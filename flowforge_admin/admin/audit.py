"""Django's admin log for what people do to runs, so it shows in each object's history."""

from django.contrib.admin.models import ADDITION, CHANGE, LogEntry


def log_action(request, obj, message, flag=CHANGE):
    """Record ``message`` as done by the request's user to ``obj``."""
    LogEntry.objects.log_actions(
        user_id=request.user.pk, queryset=[obj], action_flag=flag, change_message=message, single_object=True
    )


def log_launch(request, run, how="Launched"):
    """Record a launch on the new run and on its flow: both histories show who started what."""
    params = f" with parameters {run.params}" if run.params else ""
    log_action(request, run, f"{how} run #{run.pk} of {run.flow_name}{params}", flag=ADDITION)
    if run.flow is not None:
        log_action(request, run.flow, f"{how} run #{run.pk}{params}")
