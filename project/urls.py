"""URLs of the Flow Forge admin project: the admin, and the app's own URLs as any host includes them.

This project mounts ``flowforge_admin.urls`` at the root, so the probes are
``/health/`` and ``/health/workers/`` and Prometheus scrapes ``/metrics``
(deploy/ relies on these paths); a host may choose any prefix.
"""

from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

admin.site.site_header = "Flow Forge admin"
admin.site.site_title = "Flow Forge admin"
admin.site.index_title = "Flows, tasks and runs"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/", admin.site.urls),
    path("", include("flowforge_admin.urls")),
    # The project's own icon for pages outside the app (admin index, login), which ask for
    # /favicon.ico; the app's pages link the same file themselves.
    path("favicon.ico", RedirectView.as_view(url=static("flowforge_admin/img/favicon.svg"), permanent=True)),
]
