"""Views outside the admin: health probes and Prometheus metrics, routed in project/urls.py."""
