"""Text that cannot be stored or sent: lone surrogates and the NUL character.

A lone surrogate (``"\\ud800"``, which ``json.loads`` and YAML produce from an
escape) cannot be encoded as UTF-8, so a page or a file holding one fails to
render for everyone; PostgreSQL refuses NUL in text and in ``jsonb``. Every
entrance refuses both (:func:`bad_text`); what is already stored is shown with
:func:`printable` or :func:`escape_surrogates` so it never breaks a page or an
export. A leaf module: it imports nothing of the app.
"""

import re

SURROGATE_RE = re.compile("[\ud800-\udfff]")
UNSTORABLE_RE = re.compile("[\ud800-\udfff\x00]")


def _describe(text):
    match = UNSTORABLE_RE.search(text)
    if match is None:
        return None
    char, position = match.group(), match.start() + 1
    if char == "\x00":
        return f"contains a NUL character (U+0000) at character {position}, which cannot be stored"
    return (
        f"contains a lone surrogate (U+{ord(char):04X}) at character {position}, "
        "which is not valid Unicode text"
    )


def bad_text(value):
    """Return what is wrong with the text in ``value`` (a string, or JSON-like data), or None.

    Keys and values of nested lists and dicts are walked without recursion and
    without copying them (one iterator per level), so neither the depth nor the
    length of the data matters here; the path to a value is only spelled out
    for the one reported.
    """
    stack = [iter([(value, None, None)])]
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            continue
        item, parent, key = entry
        if isinstance(item, str):
            problem = _describe(item)
            if problem:
                where = _path(parent, key)
                return f"{where}: {problem}" if where else problem
        elif isinstance(item, dict):
            for child_key in item:
                if isinstance(child_key, str) and UNSTORABLE_RE.search(child_key):
                    return f"a key {_describe(child_key)}"
            node = (parent, key)
            stack.append((child, node, child_key) for child_key, child in item.items())
        elif isinstance(item, (list, tuple)):
            node = (parent, key)
            stack.append((child, node, index) for index, child in enumerate(item))
    return None


def _path(parent, key):
    """Spell the path of a value found by :func:`bad_text`: ``a.b[2]``."""
    parts = []
    while key is not None:
        parts.append(f"[{key}]" if isinstance(key, int) else f".{printable(str(key))}")
        parent, key = parent
    return "".join(reversed(parts)).lstrip(".")


def printable(text):
    """Return ``text`` with each lone surrogate replaced by U+FFFD (for display and export)."""
    return SURROGATE_RE.sub("\ufffd", text)


def escape_surrogates(json_text):
    """Write each lone surrogate of JSON text as its ``\\uXXXX`` escape.

    A surrogate can only stand inside a JSON string, where the escape means the
    same value: the text can be encoded and, read back, gives the same data.
    """
    return SURROGATE_RE.sub(lambda match: f"\\u{ord(match.group()):04x}", json_text)


def clean(value):
    """Return JSON-like ``value`` with unstorable characters replaced (surrogates by U+FFFD, NUL removed)."""
    if isinstance(value, str):
        return SURROGATE_RE.sub("\ufffd", value).replace("\x00", "")
    if isinstance(value, dict):
        return {clean(key): clean(child) for key, child in value.items()}
    if isinstance(value, list):
        return [clean(child) for child in value]
    return value
