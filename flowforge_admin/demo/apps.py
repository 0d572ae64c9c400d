from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "flowforge_admin.demo"
    label = "flowforge_demo"
    verbose_name = "Flow Forge demo"
