"""URLs of the REST API; ``flowforge_admin.urls`` mounts them under ``api/v1/``.

Names are ``api-<resource>-<action>`` in the app's namespace
(``reverse("flowforge_admin:api-run-detail", args=[42])``).
"""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .schema import DocsView, SchemaView
from .views.flows import FlowViewSet
from .views.runs import RunViewSet
from .views.tasks import TaskRunViewSet

router = SimpleRouter()
router.register("flows", FlowViewSet, basename="api-flow")
router.register("runs", RunViewSet, basename="api-run")
router.register(r"runs/(?P<id>[0-9]+)/tasks", TaskRunViewSet, basename="api-task")

urlpatterns = [
    path("schema/", SchemaView.as_view(), name="api-schema"),
    path("docs/", DocsView.as_view(), name="api-docs"),
    *router.urls,
]
