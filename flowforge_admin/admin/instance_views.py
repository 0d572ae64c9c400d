"""A mapped task's instances on the run page: the paged table its row opens to.

The run page shows one row per mapped task ("5 of 6 succeeded"); opening it
fetches this fragment, 50 instances a page, each with the actions of any
task row (log, Retry, Clear, Mark). Two queries a page (the count and the
page), whatever the number of instances.
"""

from django.core.paginator import Paginator
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path

from ..actions.approvals import DecidableBy
from ..actions.runs import CONTROL_PERMISSION
from ..definitions.snapshots import stored_definition
from . import mapped_instances
from .outputs import summarize
from .run_page import TaskRow

PER_PAGE = 50


def instance_urls(model_admin):
    """The fragment's route, added by FlowRunAdmin."""

    def view(request, run_id, task_name):
        return instances_view(model_admin, request, run_id, task_name)

    return [
        path(
            "<int:run_id>/instances/<str:task_name>/",
            model_admin.admin_site.admin_view(view),
            name="flowforge_admin_flowrun_instances",
        )
    ]


def instances_view(model_admin, request, run_id, task_name):
    """One page of mapped task ``task_name``'s instances, as rows of the run page's table."""
    flow_run = model_admin.get_run(request, run_id)
    graph = stored_definition(flow_run.pk, flow_run.created_at).graph
    if not graph.records.get(task_name, {}).get("map_over"):
        raise Http404(f"The run has no mapped task named {task_name!r}.")
    instances = (
        mapped_instances.instances(flow_run.pk, task_name).select_related("artifact").order_by("map_index")
    )
    page = Paginator(instances, PER_PAGE).get_page(request.GET.get("page"))
    rows = [
        TaskRow(
            task_run=task_run, depth=0, is_group=False, function="", depends_on=[], output=summarize(task_run)
        )
        for task_run in page
    ]
    context = {
        "run": flow_run,
        "task_name": task_name,
        "page": page,
        "rows": rows,
        "can_control": request.user.has_perm(CONTROL_PERMISSION),
        "approver_of": DecidableBy(request.user),
        "list_url": mapped_instances.instances_url(flow_run.pk, task_name),
    }
    return TemplateResponse(request, "admin/flowforge_admin/flowrun/_instances.html", context)
