"""Reading an import file's rows within a bounded amount of memory and time.

A file under the upload limit can still unpack into gigabytes: an XLSX whose
sheet declares (or holds) a cell at ``XFD1048576`` makes openpyxl fill the
whole dimension, its zip parts can be a zip bomb, YAML aliases repeat a
subtree without a byte more in the file, and deep nesting makes every later
step recursive. So each reader here streams, counts and refuses early, with a
message that says what is wrong and where:

- XLSX: the zip's declared uncompressed size is capped before openpyxl opens
  it (reading a part stops at its declared size), rows are read lazily in
  openpyxl's read-only mode with the sheet's declared dimension ignored, and
  rows and columns are capped;
- YAML: built from libyaml's event stream, so no node tree is held; anchors,
  aliases and tags other than the standard ones are refused, depth and the
  number of values are capped;
- JSON: depth is checked on the text before parsing; duplicate keys are refused;
- CSV: read row by row; rows and columns are capped.

Each reader returns ``(headers, rows)`` with rows as lists or dicts and
raises :class:`ReadError`. Limits are module constants (tests patch them).
"""

import csv
import io
import json
import re
import zipfile

import yaml

MAX_ROWS = 50_000
MAX_COLUMNS = 100
# Nesting of the file's data: the list of rows and a row count as two levels.
MAX_DEPTH = 64
# Scalars, lists and mappings of a YAML file (a 5 MB export of 20 000 tasks has ~500 000).
MAX_VALUES = 1_000_000
# What an XLSX file may unpack to: all its zip parts together, and each part that openpyxl
# reads whole (shared strings, styles...: all but the worksheets, which it streams). openpyxl
# takes about 12 us and 100 bytes per shared string: 5 MB of them (300 000) is ~4 s at worst.
MAX_XLSX_UNPACKED_BYTES = 50_000_000
MAX_XLSX_PART_BYTES = 5_000_000
MAX_XLSX_PARTS = 1_000

# libyaml's parser when there is one (several times faster); the events are the same.
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_YAML_TAGS = {
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "seq", "map", "timestamp")
}


class ReadError(Exception):
    """The file cannot be read within the limits (or at all); ``row`` counts from 1 after the header."""

    def __init__(self, message, row=None):
        super().__init__(message)
        self.message, self.row = message, row


def _too_many_rows():
    return ReadError(f"the file has more than {MAX_ROWS} rows (the limit); split it into smaller files")


def _too_many_columns(count):
    return ReadError(f"the header has {count} columns, more than the limit of {MAX_COLUMNS}")


# ---------------------------------------------------------------- XLSX


def read_xlsx(content):
    """Return ``(headers, rows)`` of the active sheet of an XLSX workbook."""
    from openpyxl import load_workbook

    stream = io.BytesIO(content)
    _check_zip(stream)
    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds on a broken workbook
        raise ReadError(f"the file is not a readable XLSX workbook ({type(error).__name__})") from None
    try:
        return _sheet_rows(workbook.active)
    except ReadError:
        raise
    except Exception as error:
        raise ReadError(f"the file is not a readable XLSX workbook ({type(error).__name__})") from None
    finally:
        workbook.close()


def _check_zip(stream):
    try:
        parts = zipfile.ZipFile(stream).infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise ReadError("the file is not a readable XLSX workbook (not a zip archive)") from None
    if len(parts) > MAX_XLSX_PARTS:
        raise ReadError(f"the XLSX file has {len(parts)} parts, more than the limit of {MAX_XLSX_PARTS}")
    for part in parts:
        if not part.filename.startswith("xl/worksheets/") and part.file_size > MAX_XLSX_PART_BYTES:
            raise ReadError(
                f"the XLSX part {part.filename} unpacks to {part.file_size} bytes, more than the limit "
                f"of {MAX_XLSX_PART_BYTES} bytes"
            )
    unpacked = sum(part.file_size for part in parts)
    if unpacked > MAX_XLSX_UNPACKED_BYTES:
        raise ReadError(
            f"the XLSX file unpacks to {unpacked} bytes, more than the limit of "
            f"{MAX_XLSX_UNPACKED_BYTES} bytes"
        )
    stream.seek(0)


def _sheet_rows(sheet):
    if not hasattr(sheet, "reset_dimensions"):
        raise ReadError("the first sheet of the XLSX file is not a worksheet")
    # The declared dimension is the sheet's own claim: trusting it pads every row and adds
    # empty rows up to it. Without it, a row is as wide as its last cell and rows are streamed.
    sheet.reset_dimensions()
    values = sheet.iter_rows(values_only=True)
    headers = list(next(values, ()))
    while headers and headers[-1] is None:
        headers.pop()
    if len(headers) > MAX_COLUMNS:
        raise _too_many_columns(len(headers))
    rows = []
    for number, row in enumerate(values, start=1):
        if number > MAX_ROWS:
            raise _too_many_rows()
        extra = next((index for index in range(len(headers), len(row)) if row[index] is not None), None)
        if extra is not None:
            raise ReadError(f"has a value in column {extra + 1}, right of the header's last column", number)
        rows.append(list(row[: len(headers)]))
    return headers, rows


# ---------------------------------------------------------------- CSV


def read_csv(text):
    """Return ``(headers, rows)``; blank lines are skipped (not counted), short rows padded."""
    reader = csv.reader(io.StringIO(text))
    rows = []
    try:
        headers = next(reader, [])
        if len(headers) > MAX_COLUMNS:
            raise _too_many_columns(len(headers))
        for row in reader:
            if not row:
                continue
            if len(rows) >= MAX_ROWS:
                raise _too_many_rows()
            if len(row) > len(headers):
                raise ReadError(f"has {len(row)} cells but the header has {len(headers)}", len(rows) + 1)
            rows.append(row + [""] * (len(headers) - len(row)))
    except csv.Error as error:  # NUL bytes, a field over the csv module's size limit
        raise ReadError(f"the file is not readable CSV (line {reader.line_num}): {error}") from None
    return headers, rows


# ---------------------------------------------------------------- JSON

# A JSON string (with its escapes) or a bracket: what nesting depth is made of.
_JSON_TOKEN_RE = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def json_depth_error(text, limit=MAX_DEPTH):
    """Return a message when JSON ``text`` nests more than ``limit`` levels, or None.

    Checked on the text, before parsing: the parser itself would recurse.
    """
    if text.count("[") + text.count("{") <= limit:
        return None
    depth = 0
    for match in _JSON_TOKEN_RE.finditer(text):
        char = match.group()
        if char in "[{":
            depth += 1
            if depth > limit:
                line = text.count("\n", 0, match.start()) + 1
                return f"nested more than {limit} levels deep (line {line})"
        elif char in "]}":
            depth -= 1
    return None


def _unique_keys(pairs):
    data = {}
    for key, value in pairs:
        if key in data:
            raise ReadError(f"the key {key!r} appears twice in one object")
        data[key] = value
    return data


def load_json(text, limit=MAX_DEPTH):
    """``json.loads`` with depth checked first and duplicate keys refused (:class:`ReadError`).

    Other syntax errors raise ``ValueError`` as ``json.loads`` does.
    """
    problem = json_depth_error(text, limit)
    if problem:
        raise ReadError(problem)
    return json.loads(text, object_pairs_hook=_unique_keys)


def read_json(text):
    """Return the file's data (a list of rows is expected; the caller checks the shape)."""
    data = load_json(text)
    if isinstance(data, list) and len(data) > MAX_ROWS:
        raise _too_many_rows()
    return data


# ---------------------------------------------------------------- YAML


class _Open:
    """A list or mapping being built from the event stream."""

    __slots__ = ("value", "key", "key_lines", "line")

    def __init__(self, value, line):
        self.value, self.line = value, line
        self.key, self.key_lines = _Open, {}  # _Open: no key waiting for its value


def read_yaml(text):
    """Return the file's data, built from libyaml's events within the limits.

    Does what ``yaml.load(text, Loader=CSafeLoader)`` does for plain data
    (the same resolver and scalar constructors), without holding a node tree.
    """
    state = _YAMLState()
    try:
        for event in yaml.parse(text, Loader=YAML_LOADER):
            state.take(event)
    except ValueError as error:  # a scalar with an explicit tag it does not fit (!!int abc)
        raise ReadError(f"line {state.line}: {error}") from None
    return state.root


def _short(tag):
    return tag.replace("tag:yaml.org,2002:", "!!")


class _YAMLState:
    def __init__(self):
        self.constructor = yaml.constructor.SafeConstructor()
        self.resolver = yaml.resolver.Resolver()
        self.open, self.root, self.documents, self.values, self.line = [], None, 0, 0, 0

    def take(self, event):
        self.line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent):
            raise ReadError(
                f"line {self.line}: aliases (*{event.anchor}) are not allowed; write the value out"
            )
        if getattr(event, "anchor", None):
            raise ReadError(f"line {self.line}: anchors (&{event.anchor}) are not allowed")
        if isinstance(event, yaml.DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                raise ReadError(f"line {self.line}: the file holds more than one YAML document (---)")
        elif isinstance(event, yaml.NodeEvent):
            self._node(event)
        elif isinstance(event, yaml.CollectionEndEvent):
            self._add(self.open.pop().value)

    def _node(self, event):
        self.values += 1
        if self.values > MAX_VALUES:
            raise ReadError(f"line {self.line}: the file holds more than {MAX_VALUES} values (the limit)")
        if event.tag not in (None, "!") and event.tag not in _YAML_TAGS:
            raise ReadError(f"line {self.line}: the tag {_short(event.tag)} is not allowed")
        if isinstance(event, yaml.ScalarEvent):
            self._add(self._scalar(event))
            return
        if len(self.open) >= MAX_DEPTH:
            raise ReadError(f"line {self.line}: nested more than {MAX_DEPTH} levels deep")
        if len(self.open) == 1 and len(self.open[0].value) >= MAX_ROWS:
            raise _too_many_rows()
        kind = [] if isinstance(event, yaml.SequenceStartEvent) else {}
        self.open.append(_Open(kind, self.line))

    def _scalar(self, event):
        tag = event.tag
        if tag in (None, "!"):
            tag = self.resolver.resolve(yaml.ScalarNode, event.value, event.implicit)
        if tag == "tag:yaml.org,2002:str":
            return event.value
        if tag not in _YAML_TAGS or tag.endswith(("seq", "map")):
            raise ReadError(f"line {self.line}: the tag {_short(tag)} does not fit a plain value")
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark)
        return self.constructor.yaml_constructors[tag](self.constructor, node)

    def _add(self, value):
        if not self.open:
            self.root = value
            return
        parent = self.open[-1]
        if isinstance(parent.value, list):
            parent.value.append(value)
        elif parent.key is _Open:
            if isinstance(value, (list, dict)):
                raise ReadError(f"line {self.line}: a key must be a plain value, not a list or mapping")
            if value in parent.key_lines:
                raise ReadError(
                    f"line {self.line}: the key {value!r} appears twice in one mapping "
                    f"(first on line {parent.key_lines[value]})"
                )
            parent.key, parent.key_lines[value] = value, self.line
        else:
            parent.value[parent.key] = value
            parent.key = _Open
