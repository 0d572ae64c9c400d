"""Flow definitions as import/export files: rows <-> :class:`FlowSpec`, the preview and the write.

One concern per module, in the order a file goes through them:

- :mod:`.columns`: the file's layout (one row per task, the flow's settings on its first row);
- :mod:`.formats`: YAML, JSON, CSV and XLSX (django-import-export's format classes) and their escapes;
- :mod:`.export`: flows -> rows -> a file's bytes, in a stable order;
- :mod:`.reading`: the bounded readers of each format (memory, time, depth);
- :mod:`.rows`: a file's bytes -> numbered rows (size, encoding, header);
- :mod:`.parse`: rows -> what the file says about each flow, and its FlowSpec;
- :mod:`.checks`: the rules of :mod:`..rules`, placed at rows and columns (:class:`.issues.Issue`);
- :mod:`.plan`: what an import would change (the preview, the diff with the database);
- :mod:`.preview`: read + parse + check + compare: a file's :class:`.plan.ImportPlan`, nothing written;
- :mod:`.write`: a valid plan written in one transaction, schedules included;
- :mod:`.resource`: the django-import-export resource over all of the above.

A file with any problem writes nothing. Modules here import from ``models``
and the rest of ``definitions``, never from ``engine``, ``actions`` or
``admin``; the import with its permission check and admin log is
:class:`flowforge_admin.actions.imports.ImportFlowsAction`.

The public entry points are re-exported here for code outside the app
(``from flowforge_admin.definitions.files import export_flows, plan_import``);
the app itself imports them from their modules.
"""

from .export import export_flows
from .formats import EXTENSIONS, FORMATS, format_for, format_from_filename
from .plan import ImportPlan
from .preview import plan_import
from .write import apply_plan, import_file

__all__ = [
    "EXTENSIONS",
    "FORMATS",
    "ImportPlan",
    "apply_plan",
    "export_flows",
    "format_for",
    "format_from_filename",
    "import_file",
    "plan_import",
]
