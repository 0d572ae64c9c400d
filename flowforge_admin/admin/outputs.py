"""What the admin shows of a task run's output: its type, its size and a bounded preview.

A JSON output (``TaskRun.output``) is shown as a collapsible tree, cut to a
budget of nodes; any other value is an Artifact, whose preview the worker made
when it stored the value (``{"kind": "array" | "dataframe" | "sequence" |
"repr", ...}``). The web process reads only that preview: it never opens nor
unpickles an artifact's file (the download view streams its bytes untouched).

One template include, ``admin/flowforge_admin/outputs/_preview.html``, draws an
OutputSummary on the run page, the task run's log page and the run graph's
panel (``compact``: the panel is narrow).
"""

import functools
import json
from dataclasses import dataclass

from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..templatetags.flowforge import human_bytes

# The JSON tree: how deep it opens, how many items of a list or object it
# shows, how many nodes in all, and how long a string may be; beyond that,
# "… N more" (the whole output is one click away: the "output" JSON view).
TREE_DEPTH = 5
TREE_ITEMS = 20
TREE_NODES = 60
TREE_TEXT = 160
# The graph's panel shows JSON as pretty text cut to this many characters.
COMPACT_JSON_CHARS = 600
# The panel is narrow: so many values of an array, rows and columns of a DataFrame.
COMPACT_VALUES = 10
COMPACT_ROWS = 5
COMPACT_COLUMNS = 5
# Previews of a sequence's items nest at most this deep on the page.
SEQUENCE_DEPTH = 3


@dataclass
class OutputSummary:
    """A task run's output as the admin shows it."""

    type_name: str  # "dict", "numpy.ndarray", "tuple", ...
    size: int  # bytes: of the artifact's file, or of the JSON text
    preview: dict  # {"kind": ...}; for JSON {"kind": "json", "value": the output}
    run_id: int
    task_run_id: int
    artifact: object = None
    # An earlier attempt's output (a TaskAttempt's): its links name the attempt.
    attempt: int | None = None

    @property
    def kind(self):
        return self.preview.get("kind", "")

    @property
    def size_text(self):
        return human_bytes(self.size)

    @property
    def download_url(self):
        if self.artifact is None:
            return None
        return self._url("admin:flowforge_admin_flowrun_artifact")

    def _url(self, name):
        url = reverse(name, args=[self.run_id, self.task_run_id])
        return url if self.attempt is None else f"{url}?attempt={self.attempt}"

    @functools.cached_property
    def json_tree(self):
        """(the JSON tree's HTML, whether it leaves something out), drawn once."""
        tree = Tree()
        return tree.html(self.preview.get("value")), tree.cut

    @property
    def whole_url(self):
        """The whole JSON output (the "output" view), when the page shows a part of it."""
        if self.kind != "json" or not self.json_tree[1]:
            return None
        return self._url("admin:flowforge_admin_flowrun_output")

    @property
    def panel_whole_url(self):
        """The whole JSON output, when the panel's short text leaves something out."""
        if self.kind != "json" or len(short_json(self.preview.get("value"))) <= COMPACT_JSON_CHARS:
            return None
        return self._url("admin:flowforge_admin_flowrun_output")

    @property
    def page(self):
        """The preview as the run page and the log page draw it."""
        if self.kind == "json":
            return {"kind": "json", "tree": self.json_tree[0]}
        return display(self.preview)

    @property
    def panel(self):
        """The preview as the graph's narrow panel draws it."""
        return display(self.preview, compact=True)


def artifact_of(owner):
    """Return the Artifact of a task run or of an earlier attempt (TaskAttempt), or None.

    The reverse one-to-one raises when there is none.
    """
    return getattr(owner, "artifact", None)


def json_size(value):
    """Bytes of ``value``'s JSON text (UTF-8, compact): the size shown for a JSON output."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode())


def summarize(task_run):
    """Return the OutputSummary of ``task_run`` (its artifact read with it), or None when it has none."""
    return summary_of(artifact_of(task_run), task_run.output, task_run.run_id, task_run.pk)


def summarize_attempt(record, run_id):
    """Return the OutputSummary of an earlier attempt (a TaskAttempt, its artifact read with it), or None."""
    return summary_of(artifact_of(record), record.output, run_id, record.task_run_id, attempt=record.attempt)


def summary_of(artifact, output, run_id, task_run_id, attempt=None):
    """Return the OutputSummary of an ``artifact`` or a JSON ``output``, or None when there is neither."""
    if artifact is not None:
        return OutputSummary(
            type_name=artifact.type_name,
            size=artifact.size,
            preview=artifact.preview if isinstance(artifact.preview, dict) else {},
            run_id=run_id,
            task_run_id=task_run_id,
            artifact=artifact,
            attempt=attempt,
        )
    if output is None:
        return None
    return OutputSummary(
        type_name=type(output).__name__,
        size=json_size(output),
        preview={"kind": "json", "value": output},
        run_id=run_id,
        task_run_id=task_run_id,
        attempt=attempt,
    )


# Turning a preview into what the template draws -----------------------------------


def display(preview, compact=False, depth=0):
    """Return ``preview`` as the template draws it: a dict with "kind" and ready values.

    Tolerant of what it is given: a preview with a missing or odd field shows
    what it can (the page never breaks on a worker's preview).
    """
    kind = preview.get("kind") if isinstance(preview, dict) else None
    if kind == "json":
        if compact:
            return {"kind": "text", "text": short_json(preview.get("value"))}
        return {"kind": "json", "tree": Tree().html(preview.get("value"))}
    if kind == "array":
        return array_display(preview, compact)
    if kind == "dataframe":
        return dataframe_display(preview, compact)
    if kind == "sequence":
        return sequence_display(preview, compact, depth)
    if kind == "repr":
        return {"kind": "text", "text": str(preview.get("text", ""))}
    return {"kind": "none"}


def shape_text(shape):
    if not isinstance(shape, list | tuple):
        return ""
    return " × ".join(str(size) for size in shape)


def array_display(preview, compact):
    head = preview.get("head") or []
    shape = preview.get("shape") or []
    count = 1
    for size in shape:
        count *= size if isinstance(size, int) else 1
    shown = head[:COMPACT_VALUES] if compact else head
    return {
        "kind": "array",
        "shape": shape_text(shape),
        "dtype": str(preview.get("dtype", "")),
        "values": ", ".join(str(value) for value in shown),
        "more": max(count - len(shown), 0),
    }


def dataframe_display(preview, compact):
    columns = [str(name) for name in preview.get("columns") or []]
    dtypes = preview.get("dtypes") or {}
    rows = preview.get("rows") or []
    shape = preview.get("shape") or [len(rows), len(columns)]
    total_rows, total_columns = (list(shape) + [0, 0])[:2]
    if compact:
        columns, rows = columns[:COMPACT_COLUMNS], rows[:COMPACT_ROWS]
    return {
        "kind": "dataframe",
        "shape": shape_text(shape),
        "columns": [(name, str(dtypes.get(name, ""))) for name in columns],
        "rows": [[str(cell) for cell in row[: len(columns)]] for row in rows],
        "more_rows": max(int(total_rows or 0) - len(rows), 0),
        "more_columns": max(int(total_columns or 0) - len(columns), 0),
    }


def sequence_display(preview, compact, depth):
    items = preview.get("items") or []
    length = preview.get("length", len(items))
    if depth + 1 >= SEQUENCE_DEPTH:
        items = []
    shown = items[:COMPACT_ROWS] if compact else items
    return {
        "kind": "sequence",
        "type": str(preview.get("type", "")),
        "length": length,
        "items": [display(item, compact, depth + 1) for item in shown],
        "more": max(int(length or 0) - len(shown), 0),
    }


def short_json(value):
    """Pretty JSON cut to COMPACT_JSON_CHARS (the graph panel's preview)."""
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    return text if len(text) <= COMPACT_JSON_CHARS else text[:COMPACT_JSON_CHARS] + "\n…"


class Tree:
    """A JSON value as nested <details>/<ul>, cut to TREE_NODES nodes, TREE_ITEMS items, TREE_DEPTH levels."""

    def __init__(self):
        self.budget = TREE_NODES
        self.cut = False

    def html(self, value):
        if not isinstance(value, dict | list):
            return format_html('<div class="ff-tree">{}</div>', self.leaf(value))
        return format_html('<div class="ff-tree">{}</div>', self.branch(None, value, 0))

    def leaf(self, value):
        if isinstance(value, str):
            text = value if len(value) <= TREE_TEXT else value[:TREE_TEXT] + "…"
            self.cut = self.cut or len(value) > TREE_TEXT
            return format_html('<span class="ff-tree-str">"{}"</span>', text)
        if value is None or isinstance(value, bool):
            return format_html('<span class="ff-tree-lit">{}</span>', json.dumps(value))
        return format_html('<span class="ff-tree-num">{}</span>', str(value))

    def key(self, key):
        if key is None:
            return ""
        return format_html('<span class="ff-tree-key">{}</span>: ', key)

    def branch(self, key, value, depth):
        """A <details> of a dict or list: its items inside, open at the first level."""
        items = list(value.items()) if isinstance(value, dict) else list(enumerate(value))
        if isinstance(value, dict):
            brackets, count = "{…}", ngettext("%(n)s key", "%(n)s keys", len(items)) % {"n": len(items)}
        else:
            brackets, count = "[…]", ngettext("%(n)s item", "%(n)s items", len(items)) % {"n": len(items)}
        summary = format_html(
            '{}<span class="ff-tree-brackets">{}</span> <span class="ff-tree-count">{}</span>',
            self.key(key),
            brackets,
            count,
        )
        if not items:
            return format_html("<div>{}</div>", summary)
        if depth >= TREE_DEPTH:
            self.cut = True
            return format_html("<div>{}</div>", summary)
        lines = []
        for index, (item_key, item) in enumerate(items):
            if index >= TREE_ITEMS or self.budget <= 0:
                self.cut = True
                more = _("… %(n)s more") % {"n": len(items) - index}
                lines.append(format_html('<li class="ff-tree-more">{}</li>', more))
                break
            self.budget -= 1
            if isinstance(item, dict | list):
                lines.append(format_html("<li>{}</li>", self.branch(item_key, item, depth + 1)))
            else:
                lines.append(format_html("<li>{}{}</li>", self.key(item_key), self.leaf(item)))
        return format_html(
            "<details{}><summary>{}</summary><ul>{}</ul></details>",
            mark_safe(" open") if depth == 0 else "",
            summary,
            mark_safe("".join(lines)),
        )
