"""The run admin's "Clear" button: run a finished task (or group) again, with or without what waits for it.

Airflow's "clear": the task, the tasks of a group, and (with ``downstream``
= "1", the default) everything downstream of it go back to pending as new
attempts, whatever their status; the run goes on (ClearTasksAction). POST
only, behind the permission the other run buttons need; the action's
message or refusal comes back as a message, on the run page or, with
``back`` = "graph", on the run's graph.
"""

from django.http import HttpResponseRedirect
from django.urls import reverse

from ..actions.runs import CONTROL_PERMISSION, ClearTasksAction


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
