"""The page where an approver approves or rejects a waiting approval step.

``approval/<task run>/decide/`` (of "Waiting for me"): what is asked (the step, its
run, the outputs of the tasks it follows), the step's form (its
``params_schema``) and a comment, and two buttons. Only the step's
approvers see it (403 for anyone else, GET and POST alike: the same rule,
``may_decide``, as the action and the REST API); the decision goes through
:class:`~flowforge_admin.actions.approvals.DecideApprovalAction`.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse

from ..actions.approvals import DecideApprovalAction, may_decide
from ..definitions.approvals import approval_settings
from ..definitions.snapshots import stored_definition
from ..exceptions import InvalidTransition, refusal_message
from ..forms.approvals import APPROVE, ApprovalForm
from ..models import TaskRun
from ..states import TaskState
from . import run_page


def approval_view(model_admin, request, task_run_id):
    """Show (GET) or submit (POST) the decision on an approval step."""
    # An approver needs no other permission than being one (checked below).
    task_run = get_object_or_404(TaskRun.objects.select_related("run"), pk=task_run_id)
    flow_run = task_run.run
    back_to_run = HttpResponseRedirect(reverse("admin:flowforge_admin_flowrun_change", args=[flow_run.pk]))
    graph = stored_definition(flow_run.pk, flow_run.created_at).graph
    name = task_run.task_name
    settings = approval_settings(graph.record(name)) if name in graph else None
    if settings is None:
        messages.error(request, f"Task {name} of run #{flow_run.pk} is not an approval step.")
        return back_to_run
    group, schema, _timeout = settings
    if not may_decide(request.user, group):
        raise PermissionDenied
    if task_run.status != TaskState.WAITING:
        messages.info(
            request, f"Task {name} of run #{flow_run.pk} is {task_run.status}: nothing waits for a decision."
        )
        return back_to_run
    form = ApprovalForm(task_run.task_name, schema, data=request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        approve = form.decision == APPROVE
        action = DecideApprovalAction(
            task_run,
            approve=approve,
            comment=form.comment(),
            data=form.approved_data() if approve else None,
            user=request.user,
        )
        try:
            result = action.execute()
        except (InvalidTransition, ValidationError) as error:
            messages.error(request, refusal_message(error))
        else:
            messages.success(request, action.message(result))
            return back_to_run
    upstream = list(graph.depends_on(name))
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": f"Approve or reject {name}",
        "subtitle": None,
        "run": flow_run,
        "task_run": task_run,
        "group": group,
        "form": form,
        "upstream_rows": run_page.task_rows(flow_run, upstream) if upstream else [],
        "has_view_permission": request.user.has_perm("flowforge_admin.view_flowrun"),
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "admin/flowforge_admin/flowrun/approval.html", context)
