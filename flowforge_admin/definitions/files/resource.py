"""The django-import-export resource of flow definitions: one row per task.

django-import-export's model resources import row by row, each row an
object; a flow definition is a tree and a graph spread over many rows, which
must be checked and written together. This resource therefore keeps the
library's interface (``export()`` -> Dataset, ``import_data(dataset,
dry_run=...)`` -> ``Result`` with invalid rows naming their column) and does
the work per file through the modules of :mod:`flowforge_admin.definitions.files`:
parse every row, validate every flow, compare with the database, then write it
all in one transaction or nothing. The admin's export and ``export_flows`` go
through it; the import with a user (its permission check and admin log) is
:class:`flowforge_admin.actions.imports.ImportFlowsAction`.
"""

from django.core.exceptions import ValidationError
from import_export import resources
from import_export.results import Error, Result, RowResult

from ...models import Flow
from .columns import COLUMNS
from .export import export_dataset, export_flows
from .formats import FORMATS
from .issues import FileProblem
from .plan import ImportPlan
from .preview import plan_rows
from .rows import rows_of_dataset
from .write import apply_plan


class FlowDefinitionResource(resources.Resource):
    """Flow definitions as rows of :data:`.columns.COLUMNS`."""

    formats = FORMATS

    def get_export_headers(self, selected_fields=None):
        return list(COLUMNS)

    def export(self, queryset=None, **kwargs):
        """Return the Dataset of ``queryset`` (every flow by default), ordered by flow name."""
        return export_dataset(Flow.objects.all() if queryset is None else queryset)

    def export_file(self, queryset, format_name):
        """Return the file content (bytes) in ``format_name``."""
        return export_flows(queryset, format_name)

    def import_data(self, dataset, dry_run=False, raise_errors=False, **kwargs):
        """Import a whole Dataset; return a ``Result`` whose ``plan`` attribute is the preview.

        Problems become invalid rows (a ValidationError keyed by the column)
        or base errors (file-wide ones); with any of them nothing is written.
        """
        result = Result()
        result.diff_headers = list(COLUMNS)
        try:
            rows = rows_of_dataset(dataset)
        except FileProblem as problem:
            result.plan = ImportPlan(issues=[problem.issue])
        else:
            result.plan = plan_rows(rows)
            cells = dict(rows)
        for issue in result.plan.issues:
            if issue.row is None:
                result.append_base_error(Error(str(issue)))
            else:
                error = ValidationError({issue.column or "__all__": [issue.message]})
                result.append_invalid_row(issue.row, cells.get(issue.row, {}), error)
        if result.plan.is_valid:
            kinds = {
                "created": RowResult.IMPORT_TYPE_NEW,
                "changed": RowResult.IMPORT_TYPE_UPDATE,
                "unchanged": RowResult.IMPORT_TYPE_SKIP,
            }
            for change in result.plan.flows:
                result.totals[kinds[change.status]] += 1
            if not dry_run:
                apply_plan(result.plan)
        if raise_errors and not result.plan.is_valid:
            raise ValidationError([str(issue) for issue in result.plan.issues])
        return result
