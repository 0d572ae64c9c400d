"""The DAG drawing's JavaScript: small ES modules from the app's own static files, colours only from the CSS palette."""

import re
from pathlib import Path

import pytest

import flowforge_admin
from flowforge_admin.states import TaskState

APP = Path(flowforge_admin.__file__).parent
STATIC = APP / "static" / "flowforge_admin"
JS = STATIC / "js"
GRAPH = JS / "graph"
TEMPLATE = APP / "templates" / "admin" / "flowforge_admin" / "graph.html"
PALETTE_CSS = STATIC / "css" / "admin.css"

# A colour written in code: #rgb, #rrggbb (and with alpha), rgb()/rgba()/hsl()/hsla().
COLOUR = re.compile(r"#[0-9a-fA-F]{3,8}\b|\b(?:rgba?|hsla?)\(")
# The module specifiers of import/export ... from "..." and import "...".
IMPORT = re.compile(
    r"""^\s*(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']|^\s*import\s*["']([^"']+)["']""", re.M
)
SCRIPT_SRC = re.compile(r"<script\b[^>]*\bsrc=[\"']([^\"']+)[\"']")


def js_files():
    return sorted(JS.rglob("*.js"))


def imports_of(path):
    return [a or b for a, b in IMPORT.findall(path.read_text())]


def test_graph_js_is_now_modules():
    """The one big closure is gone: js/graph/ holds the modules, main.js among them."""
    assert not (JS / "graph.js").exists()
    assert (GRAPH / "main.js").exists()


@pytest.mark.parametrize("path", js_files(), ids=lambda p: str(p.relative_to(JS)))
def test_no_colour_literal_in_javascript(path):
    """Colours come from the CSS custom properties (admin.css), never from a table in the JS."""
    found = [line.strip() for line in path.read_text().splitlines() if COLOUR.search(line)]
    assert found == []


def test_every_graph_module_is_reached_from_main_through_relative_imports():
    """Each import names a sibling file ("./x.js": no CDN, no bare name a bundler would resolve), and none is dead."""
    reached, todo = set(), [GRAPH / "main.js"]
    while todo:
        path = todo.pop()
        if path in reached:
            continue
        reached.add(path)
        for specifier in imports_of(path):
            assert re.fullmatch(r"\./[a-z_]+\.js", specifier), f"{path.name} imports {specifier!r}"
            target = GRAPH / specifier[2:]
            assert target.exists(), f"{path.name} imports the missing {specifier}"
            todo.append(target)
    assert reached == set(GRAPH.glob("*.js"))


def test_the_graph_page_loads_the_module_and_the_vendored_libraries_from_static_files():
    """main.js as a module; every script from {% static %} (no CDN); the UMD libraries before the module."""
    page = TEMPLATE.read_text()
    sources = SCRIPT_SRC.findall(page)
    assert all(src.startswith("{% static ") for src in sources), sources
    assert "graph.js" not in page
    assert re.search(
        r"""<script type="module" src="\{% static 'flowforge_admin/js/graph/main\.js' %\}">""", page
    )
    module_at = page.index("js/graph/main.js")
    assert page.index("vendor/cytoscape/cytoscape.min.js") < module_at
    assert page.index("vendor/elkjs/elk-api.js") < module_at


def test_every_status_the_graph_marks_has_its_colours_in_both_themes():
    """palette.js lists an icon and border per status; admin.css gives each a fill and text colour per theme."""
    marks = set(re.findall(r"^  (\w+): \{ icon:", (GRAPH / "palette.js").read_text(), re.M))
    assert {state.value for state in TaskState} <= marks
    css = PALETTE_CSS.read_text()
    light = css[css.index('html[data-theme="light"], :root {') :].split("}", 1)[0]
    dark = css[css.index('html[data-theme="dark"] {') :].split("}", 1)[0]
    auto_dark = css[css.index("@media (prefers-color-scheme: dark)") :].split("}", 1)[0]
    for block in (light, dark, auto_dark):
        for status in marks:
            assert f"--ff-status-{status}:" in block
            assert f"--ff-status-{status}-fg:" in block
        assert "--ff-graph-match:" in block
