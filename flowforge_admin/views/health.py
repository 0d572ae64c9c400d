"""Health probes (django-health-check views): no login, since probes have none.

200 when every check passes, 500 when one fails; ``?format=json`` or an
``Accept: application/json`` header gives JSON.
"""

from django.apps import apps
from health_check.views import HealthCheckView


class ProbeView(HealthCheckView):
    """django-health-check's view, answering browsers in plain text when its app is not installed.

    Its HTML page is a template of the ``health_check`` app; a host only has
    to install the four apps Flow Forge needs, so without that app the page
    is the same report as ``?format=text``.
    """

    def render_to_response(self, context, **response_kwargs):
        if not apps.is_installed("health_check"):
            return self.render_to_response_text(response_kwargs.get("status", 200))
        return super().render_to_response(context, **response_kwargs)


# The web app: its database answers (readiness and liveness of the web pods).
web_health = ProbeView.as_view(checks=["health_check.Database"])

# The workers: a cluster is alive and queued tasks do not wait too long; each queue's depth.
workers_health = ProbeView.as_view(
    checks=[
        "flowforge_admin.health.WorkerClusters",
        "flowforge_admin.health.TaskQueue",
        "flowforge_admin.health.Queues",
    ]
)
