"""The django-import-export resource: export() and import_data() with invalid rows by column."""

import pytest
import tablib

from flowforge_admin.definitions.files.columns import COLUMNS
from flowforge_admin.models import Flow
from tests.conftest import DEMO

from .conftest import store_demo


@pytest.mark.django_db
def test_resource_import_data_reports_invalid_rows_by_column_and_writes_nothing():
    from flowforge_admin.definitions.files.resource import FlowDefinitionResource

    dataset = tablib.Dataset(headers=["flow", "task", "parent", "function", "depends_on", "retries"])
    dataset.append(["f", "a", "", DEMO + "prepare_batch", "", "1"])
    dataset.append(["f", "b", "", "subprocess.run", "a", "-3"])

    result = FlowDefinitionResource().import_data(dataset, dry_run=False)

    assert result.has_validation_errors()
    assert {(row.number, key) for row in result.invalid_rows for key in row.field_specific_errors} == {
        (2, "function"),
        (2, "retries"),
    }
    assert not Flow.objects.exists()


@pytest.mark.django_db
def test_resource_export_then_import_data():
    from flowforge_admin.definitions.files.resource import FlowDefinitionResource

    store_demo()
    dataset = FlowDefinitionResource().export()
    assert dataset.headers == COLUMNS
    Flow.objects.all().delete()

    dry = FlowDefinitionResource().import_data(dataset, dry_run=True)
    assert not dry.has_errors()
    assert not dry.has_validation_errors()
    assert [change.status for change in dry.plan.flows] == ["created"]
    assert not Flow.objects.exists()

    FlowDefinitionResource().import_data(dataset, dry_run=False)
    assert Flow.objects.get(name="demo_daily_report").tasks.count() == 6
