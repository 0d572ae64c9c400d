"""The run admin's buttons that run work again: "Clear" a task, "Launch again" a run.

Clear is Airflow's "clear": the task, the tasks of a group, and (with ``downstream``
= "1", the default) everything downstream of it go back to pending as new
attempts, whatever their status; the run goes on (ClearTasksAction). POST
only, behind the permission the other run buttons need; the action's
message or refusal comes back as a message, on the run page or, with
``back`` = "graph", on the run's graph. Launch again starts a new run of
the same flow with the same parameters (LaunchFlowAction).
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _

from ..actions.runs import CONTROL_PERMISSION, LAUNCH_PERMISSION, ClearTasksAction, LaunchFlowAction
from ..exceptions import InvalidTransition, refusal_message


def clear_view(model_admin, request, run_id, task_run_id):
    """Clear the task run's task (and, unless ``downstream`` is "0", its downstream)."""
    flow_run = model_admin.get_run(request, run_id, CONTROL_PERMISSION)
    task_run = model_admin.get_task_run(flow_run, task_run_id)
    downstream = request.POST.get("downstream", "1") != "0"
    action = ClearTasksAction(flow_run, [task_run.task_name], downstream=downstream, user=request.user)
    response = model_admin.change_state(request, flow_run, action)
    if request.POST.get("back") == "graph":
        return HttpResponseRedirect(reverse("admin:flowforge_admin_flowrun_graph", args=[flow_run.pk]))
    return response


def relaunch_view(model_admin, request, run_id):
    """Launch the same flow again with the same parameters."""
    flow_run = model_admin.get_run(request, run_id, LAUNCH_PERMISSION)
    if flow_run.flow is None:
        messages.error(request, _("The flow of this run was deleted: it cannot be launched again."))
        return model_admin.back_to(flow_run)
    action = LaunchFlowAction(
        flow_run.flow, flow_run.params, user=request.user, how=f"Launched again from run #{flow_run.pk}"
    )
    try:
        new_run = action.execute()
    except (PermissionDenied, InvalidTransition, ValidationError) as error:
        messages.error(request, refusal_message(error))
        return model_admin.back_to(flow_run)
    messages.success(request, f"Launched run #{new_run.pk} with the parameters of run #{flow_run.pk}.")
    return model_admin.back_to(new_run)
