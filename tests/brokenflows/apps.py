from django.apps import AppConfig


class BrokenFlowsConfig(AppConfig):
    name = "tests.brokenflows"
    label = "brokenflows"
    verbose_name = "Broken flows (tests)"
