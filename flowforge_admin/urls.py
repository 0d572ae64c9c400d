"""URLs a host project includes beside the admin: ``path("flowforge/", include("flowforge_admin.urls"))``.

Everything a person uses lives in the admin (``admin.site.urls``); these are
the paths machines use, and the predecessor's old page:

- ``health/``: the web app's database answers (readiness and liveness probes);
- ``health/workers/``: a Django-Q2 cluster is alive and queued tasks do not wait too long;
- ``metrics``: Prometheus text (a bearer token or a staff user);
- ``django_flow_forge/conceptual-dag-viz/``: django-flow-forge's DAG page, now the first flow's graph;
- ``api/v1/``: the REST API (:mod:`flowforge_admin.rest`), its OpenAPI schema at ``api/v1/schema/``
  and interactive docs at ``api/v1/docs/``.

The names are in the ``flowforge_admin`` namespace (``reverse("flowforge_admin:health")``).
"""

from django.urls import include, path

from .admin.graph import conceptual_dag_redirect
from .views.health import web_health, workers_health
from .views.metrics import MetricsView

app_name = "flowforge_admin"

urlpatterns = [
    # Probes have no login; deployments probe these paths (deploy/kubernetes/).
    path("health/", web_health, name="health"),
    path("health/workers/", workers_health, name="health_workers"),
    path("metrics", MetricsView.as_view(), name="metrics"),
    path("django_flow_forge/conceptual-dag-viz/", conceptual_dag_redirect, name="conceptual_dag"),
    path("api/v1/", include("flowforge_admin.rest.urls")),
]
