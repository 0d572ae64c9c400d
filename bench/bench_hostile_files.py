"""Benchmark: peak memory and time of reading hostile (and large honest) import files.

Run by hand (not part of the test suite):

    .venv/bin/python bench/bench_hostile_files.py [--only NAME ...] [--keep DIR]

Each file is made here, at most the upload limit (5 MB) unless it is a small
bomb, then previewed (``preview.plan_import``: read, check, compare with an
empty database) in a fresh child process, so that each line's peak RSS is its
own. The target of issue 16: every file under 5 MB refused or read in under
256 MB and 10 s. "baseline" is the child doing nothing but start Django.
"""

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
LIMIT = 5_000_000
FUNCTION = "flowforge_admin.demo.tasks.prepare_batch"


def setup_django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    os.environ.setdefault("DJANGO_DEBUG", "1")
    os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
    os.environ.setdefault("FLOWFORGE_VAR_DIR", tempfile.mkdtemp(prefix="flowforge-bench-"))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


# ---------------------------------------------------------------- the files


def fill(head, unit, tail="", size=LIMIT - 100):
    """``head`` + ``unit`` repeated up to ``size`` bytes + ``tail``."""
    count = (size - len(head) - len(tail)) // len(unit)
    return (head + unit * count + tail).encode()


def honest_rows(count):
    rows = []
    for index in range(count):
        rows.append(
            {
                "flow": "big",
                "task": f"t{index}",
                "parent": "",
                "function": FUNCTION,
                "depends_on": f"t{index - 1}" if index else "",
                "verbose_name": f"Task number {index}",
                "params": json.dumps({"i": index}),
                "retries": 1,
            }
        )
    return rows


def honest(format_name, count):
    import tablib

    from flowforge_admin.definitions.files.formats import format_for
    from flowforge_admin.definitions.files.reading import MAX_ROWS

    count = min(count, MAX_ROWS)
    while True:
        rows = honest_rows(count)
        dataset = tablib.Dataset(*[list(row.values()) for row in rows], headers=list(rows[0]))
        content = format_for(format_name).export_data(dataset)
        content = content.encode() if isinstance(content, str) else content
        if len(content) <= LIMIT:
            return content
        count = int(count * LIMIT * 0.98 / len(content))


def xlsx(sheet_xml_chunks, shared_strings=None):
    """A workbook made by openpyxl whose sheet XML (and shared strings) are replaced by streamed chunks."""
    from openpyxl import Workbook

    stream = io.BytesIO()
    Workbook().save(stream)
    parts = {"xl/worksheets/sheet1.xml": sheet_xml_chunks}
    out = io.BytesIO()
    with zipfile.ZipFile(stream) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "[Content_Types].xml" and shared_strings is not None:
                data = data.replace(b"</Types>", SHARED_STRINGS_TYPE + b"</Types>")
            if item.filename not in parts:
                target.writestr(item.filename, data)
        if shared_strings is not None:
            parts["xl/sharedStrings.xml"] = shared_strings
        for name, chunks in parts.items():
            with target.open(name, "w", force_zip64=True) as part:
                for chunk in chunks:
                    part.write(chunk.encode())
    return out.getvalue()


SHARED_STRINGS_TYPE = (
    b'<Override PartName="/xl/sharedStrings.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
)


SHEET_HEAD = '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
HEADER_ROW = (
    '<row r="1">'
    + "".join(
        f'<c r="{letter}1" t="inlineStr"><is><t>{name}</t></is></c>'
        for letter, name in zip("ABCDE", ["flow", "task", "parent", "function", "depends_on"], strict=True)
    )
    + "</row>"
)


def xlsx_dimension_bomb():
    yield SHEET_HEAD + '<dimension ref="A1:XFD1048576"/><sheetData>' + HEADER_ROW
    yield '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData></worksheet>'


def xlsx_wide_rows(count):
    yield SHEET_HEAD + "<sheetData>" + HEADER_ROW
    for number in range(2, count + 2):
        yield f'<row r="{number}"><c r="A{number}" t="inlineStr"><is><t>f</t></is></c>'
        yield f'<c r="XFC{number}" t="inlineStr"><is><t>x</t></is></c></row>'
    yield "</sheetData></worksheet>"


def header_only():
    yield SHEET_HEAD + "<sheetData>" + HEADER_ROW + "</sheetData></worksheet>"


def xlsx_long_strings(count, length):
    """Rows whose verbose name cells hold ``length`` characters (inline strings)."""
    yield SHEET_HEAD + "<sheetData>" + HEADER_ROW.replace("</row>", "")
    yield '<c r="F1" t="inlineStr"><is><t>verbose_name</t></is></c></row>'
    text = "x" * length
    for number in range(2, count + 2):
        yield (
            f'<row r="{number}"><c r="A{number}" t="inlineStr"><is><t>f</t></is></c>'
            f'<c r="B{number}" t="inlineStr"><is><t>t{number}</t></is></c>'
            f'<c r="F{number}" t="inlineStr"><is><t>{text}</t></is></c></row>'
        )
    yield "</sheetData></worksheet>"


def xlsx_zip_bomb(gigabytes):
    yield SHEET_HEAD + "<sheetData>" + HEADER_ROW + "</sheetData>"
    for _ in range(gigabytes * 1000):
        yield " " * 1_000_000
    yield "</worksheet>"


def shared_strings(count):
    yield f'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{count}">'
    for _ in range(count // 1000):
        yield "<si><t>a</t></si>" * 1000
    yield "</sst>"


YAML_LAUGHS = (
    b"- flow: f\n  task: a\n  parent: ''\n  function: ''\n  depends_on: ''\n  params:\n"
    b'    a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    b"    b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n    c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    b"    d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n    e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    b"    f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n    g: [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
)
ROW = '{"flow": "f", "task": "a", "parent": "", "function": "", "depends_on": "", "params": '

FILES = {
    # name: (format, maker)
    "xlsx: cell at XFD1048576": ("xlsx", lambda: xlsx(xlsx_dimension_bomb())),
    "xlsx: 50 000 rows reaching column XFC": ("xlsx", lambda: xlsx(xlsx_wide_rows(50_000))),
    "xlsx: zip bomb (1 GB of sheet XML)": ("xlsx", lambda: xlsx(xlsx_zip_bomb(1))),
    "xlsx: 5.5 M shared strings (94 MB unpacked)": (
        "xlsx",
        lambda: xlsx(header_only(), shared_strings(5_500_000)),
    ),
    "xlsx: 290 000 shared strings (4.9 MB unpacked)": (
        "xlsx",
        lambda: xlsx(header_only(), shared_strings(290_000)),
    ),
    "xlsx: sheet of 49 MB, 50 000 rows": ("xlsx", lambda: xlsx(xlsx_long_strings(50_000, 820))),
    "xlsx: honest, 50 000 tasks": ("xlsx", lambda: honest("xlsx", 50_000)),
    "yaml: nested aliases (billion laughs)": ("yaml", lambda: YAML_LAUGHS),
    "yaml: 1 000-deep flow nesting": ("yaml", lambda: ("[" * 1000 + "]" * 1000).encode()),
    "yaml: 5 MB, one row of 2.4 M values": ("yaml", lambda: fill("- [", "a,", "a]\n")),
    "yaml: 5 MB of empty rows": ("yaml", lambda: fill("", "- {}\n")),
    "yaml: honest, 5 MB (~20 000 tasks)": ("yaml", lambda: honest("yaml", 20_000)),
    "json: 5 MB deep nesting": ("json", lambda: fill("[", "[", size=LIMIT // 2) + b"]" * (LIMIT // 2)),
    "json: 5 MB of empty objects": ("json", lambda: fill("[", "{},", "{}]")),
    "json: 5 MB, one params of 2.5 M numbers": ("json", lambda: fill(f"[{ROW}[", "0,", "0]}]")),
    "json: honest, 5 MB (~30 000 tasks)": ("json", lambda: honest("json", 30_000)),
    "csv: 5 MB of short rows": ("csv", lambda: fill("flow,task,parent,function,depends_on\n", "f,a,,,\n")),
    "csv: 5 MB header of 2.5 M columns": ("csv", lambda: fill("flow,task,parent,function,depends_on", ",x")),
    "csv: honest, 50 000 tasks": ("csv", lambda: honest("csv", 50_000)),
}


# ---------------------------------------------------------------- measuring


def child(path, format_name):
    """Preview one file; print seconds, peak RSS (MB) and the outcome as JSON."""
    setup_django()
    content = Path(path).read_bytes() if path else None
    start = time.perf_counter()
    outcome = "(baseline)"
    if content is not None:
        from flowforge_admin.definitions.files.preview import plan_import

        plan = plan_import(content, format_name)
        outcome = "valid" if plan.is_valid else str(plan.issues[0])
    seconds = time.perf_counter() - start
    # VmHWM, not ru_maxrss: the latter survives exec, so a child would report its parent's peak.
    status = Path("/proc/self/status").read_text()
    peak = int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1]) / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak, "outcome": outcome}))


def measure(path, format_name):
    result = subprocess.run(
        [sys.executable, __file__, "--child", path or "", format_name],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="names starting with these words")
    parser.add_argument("--keep", metavar="DIR", help="keep the generated files in DIR")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    setup_django()
    directory = Path(args.keep or tempfile.mkdtemp(prefix="flowforge-hostile-"))
    directory.mkdir(parents=True, exist_ok=True)
    base = measure("", "json")
    print(f"{'file':46} {'bytes':>9} {'peak RSS':>9} {'seconds':>8}  outcome")
    print(f"{'baseline (Django started)':46} {'':>9} {base['peak_mb']:6.0f} MB {'':>8}")
    for number, (name, (format_name, make)) in enumerate(FILES.items()):
        if args.only and not any(name.startswith(word) for word in args.only):
            continue
        content = make()
        path = directory / f"{number:02}.{format_name}"
        path.write_bytes(content)
        result = measure(str(path), format_name)
        outcome = result["outcome"].replace("\n", " ")[:90]
        print(
            f"{name:46} {len(content):9} {result['peak_mb']:6.0f} MB {result['seconds']:8.2f}  {outcome}",
            flush=True,
        )


if __name__ == "__main__":
    main()
