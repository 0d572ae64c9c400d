"""The DAG drawing pages of a flow (its definition) and of a run (its snapshot and statuses).

Both pages share one template and one script; each has a JSON endpoint at
``graph/data/`` under it, and a run's has its mapped tasks' instances at
``graph/instances/``. View permission on the model is enough to see
them; edit links to tasks appear only for users who may change tasks, and
the run panel's Clear button only for users who may control runs.
The routes are added by FlowAdmin and FlowRunAdmin (``graph_urls``).
"""

from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _

from ..actions.runs import CONTROL_PERMISSION
from ..models import Flow, FlowRun
from . import graph_data, graph_instances

TEMPLATE = "admin/flowforge_admin/graph.html"
# How often (ms) the run view asks for statuses while the run is not finished.
POLL_MS = 1500


def graph_urls(model_admin, id_converter="<path:object_id>"):
    """The page and JSON routes for ``model_admin`` (a FlowAdmin or FlowRunAdmin)."""
    model = model_admin.opts.model_name
    page, data = (flow_page, flow_data) if model == "flow" else (run_page, run_data)

    def bind(view):
        def wrapped(request, object_id):
            return view(model_admin, request, object_id)

        return model_admin.admin_site.admin_view(wrapped)

    routes = [
        path(f"{id_converter}/graph/", bind(page), name=f"flowforge_admin_{model}_graph"),
        path(f"{id_converter}/graph/data/", bind(data), name=f"flowforge_admin_{model}_graph_data"),
    ]
    if model == "flowrun":
        # The panel's list of a mapped task's instances, a page at a time.
        routes.append(
            path(
                f"{id_converter}/graph/instances/",
                bind(run_instances),
                name="flowforge_admin_flowrun_graph_instances",
            )
        )
    return routes


def can_change_tasks(request):
    return request.user.has_perm("flowforge_admin.change_task")


def get_flow(model_admin, request, object_id):
    """Return the flow, or raise 404 / PermissionDenied (403)."""
    try:
        flow = Flow.objects.get(pk=unquote(str(object_id)))
    except (Flow.DoesNotExist, ValueError):
        raise Http404(_("No such flow.")) from None
    if not model_admin.has_view_permission(request, flow):
        raise PermissionDenied
    return flow


def get_run(model_admin, request, object_id):
    """Return the run (with its flow, if it still exists), or raise 404 / PermissionDenied."""
    try:
        flow_run = FlowRun.objects.select_related("flow", "definition").get(pk=unquote(str(object_id)))
    except (FlowRun.DoesNotExist, ValueError):
        raise Http404(_("No such run.")) from None
    if not model_admin.has_view_permission(request, flow_run):
        raise PermissionDenied
    return flow_run


def flow_choices():
    """Every flow as (id, title), for the picker that switches flows (one query)."""
    return [
        {"id": pk, "title": display_name or name}
        for pk, name, display_name in Flow.objects.order_by("name").values_list("pk", "name", "display_name")
    ]


def render_page(model_admin, request, *, title, data_url, breadcrumb, extra):
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": title,
        "data_url": data_url,
        "breadcrumb": breadcrumb,
        "poll_ms": POLL_MS,
        **extra,
    }
    return TemplateResponse(request, TEMPLATE, context)


def flow_page(model_admin, request, object_id):
    flow = get_flow(model_admin, request, object_id)
    return render_page(
        model_admin,
        request,
        title=_("Graph of %(flow)s") % {"flow": flow},
        data_url=reverse("admin:flowforge_admin_flow_graph_data", args=[flow.pk]),
        breadcrumb={"url": reverse("admin:flowforge_admin_flow_change", args=[flow.pk]), "label": str(flow)},
        extra={"view": "flow", "flow": flow, "flows": flow_choices()},
    )


def flow_data(model_admin, request, object_id):
    flow = get_flow(model_admin, request, object_id)
    return JsonResponse(graph_data.flow_graph(flow, can_change=can_change_tasks(request)))


def run_page(model_admin, request, object_id):
    flow_run = get_run(model_admin, request, object_id)
    label = f"{flow_run.flow_name} #{flow_run.pk}"
    return render_page(
        model_admin,
        request,
        title=_("Graph of run %(run)s") % {"run": label},
        data_url=reverse("admin:flowforge_admin_flowrun_graph_data", args=[flow_run.pk]),
        breadcrumb={
            "url": reverse("admin:flowforge_admin_flowrun_change", args=[flow_run.pk]),
            "label": label,
        },
        extra={"view": "run", "run": flow_run},
    )


def run_data(model_admin, request, object_id):
    """The run's drawing; with ``?statuses=1`` only the statuses, for the live refresh."""
    flow_run = get_run(model_admin, request, object_id)
    can_control = request.user.has_perm(CONTROL_PERMISSION)
    if request.GET.get("statuses"):
        return JsonResponse(graph_data.run_statuses(flow_run, can_control=can_control))
    return JsonResponse(
        graph_data.run_graph(flow_run, can_change=can_change_tasks(request), can_control=can_control)
    )


def run_instances(model_admin, request, object_id):
    """One page of a mapped task's instances (graph_instances), with the graph's permission."""
    return graph_instances.instances_response(request, get_run(model_admin, request, object_id))


def conceptual_dag_redirect(request):
    """The predecessor's ``/django_flow_forge/conceptual-dag-viz/``: the first flow's graph."""
    first = Flow.objects.order_by("name").values_list("pk", flat=True).first()
    if first is None:
        return redirect("admin:flowforge_admin_flow_changelist")
    return redirect("admin:flowforge_admin_flow_graph", first)
