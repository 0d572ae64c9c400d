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

    Keys and values of nested lists and dicts are walked without recursion,
    so the depth of the data does not matter here.
    """
    stack = [(value, "")]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            problem = _describe(item)
            if problem:
                return f"{where}: {problem}" if where else problem
        elif isinstance(item, dict):
            for key, child in item.items():
                label = f"{where}.{key}" if where else str(key)
                if isinstance(key, str) and UNSTORABLE_RE.search(key):
                    return f"a key {_describe(key)}"
                stack.append((child, printable(label)))
        elif isinstance(item, (list, tuple)):
            stack.extend((child, f"{where}[{index}]") for index, child in enumerate(item))
    return None


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
