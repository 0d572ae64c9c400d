"""The REST API (Django REST Framework) that ``flowforge_admin.urls`` mounts under ``api/v1/``."""
