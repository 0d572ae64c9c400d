"""Health probes (django-health-check views): no login, since probes have none.

200 when every check passes, 500 when one fails; ``?format=json`` or an
``Accept: application/json`` header gives JSON.
"""

from health_check.views import HealthCheckView

# The web app: its database answers (readiness and liveness of the web pods).
web_health = HealthCheckView.as_view(checks=["health_check.Database"])

# The workers: a cluster is alive and queued tasks do not wait too long.
workers_health = HealthCheckView.as_view(
    checks=["flowforge_admin.health.WorkerClusters", "flowforge_admin.health.TaskQueue"]
)
