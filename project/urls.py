"""URLs of the Flow Forge admin project: everything lives in the admin."""

from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

from flowforge_admin.admin.graph import conceptual_dag_redirect
from flowforge_admin.views.health import web_health, workers_health
from flowforge_admin.views.metrics import MetricsView

admin.site.site_header = "Flow Forge admin"
admin.site.site_title = "Flow Forge admin"
admin.site.index_title = "Flows, tasks and runs"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/", admin.site.urls),
    # The predecessor's conceptual DAG page: old links land on the new graph.
    path("django_flow_forge/conceptual-dag-viz/", conceptual_dag_redirect),
    # Probes (no login) and Prometheus; these paths are fixed: deployments probe them.
    path("health/", web_health, name="health"),
    path("health/workers/", workers_health, name="health_workers"),
    path("metrics", MetricsView.as_view(), name="metrics"),
]
