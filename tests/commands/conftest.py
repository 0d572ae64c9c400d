import sys
from io import StringIO

import pytest
from django.core.management import call_command

DEMO_FLOWS_MODULE = "flowforge_admin.demo.flows"


@pytest.fixture
def forget_demo_flows(monkeypatch):
    """Return a function making the next import of the demo ``flows`` module run it again.

    Python runs a module once per process; ``sync_flows`` imports it, so a test
    that needs the registrations in its own database must forget it first.
    """

    def forget():
        monkeypatch.delitem(sys.modules, DEMO_FLOWS_MODULE, raising=False)

    forget()
    return forget


@pytest.fixture
def sync_flows(db, forget_demo_flows):
    """Return a function running ``sync_flows`` (demo module freshly imported) and its output."""

    def run(*args, **options):
        forget_demo_flows()
        out = StringIO()
        call_command("sync_flows", *args, stdout=out, **options)
        return out.getvalue()

    return run
