"""Find the line of a key in a TOML text, for error messages.

``tomllib`` reports lines only for syntax errors, so after a successful parse we scan the text
for table headers (``[a.b]``, ``[[a.b]]``) and ``key =`` lines. The scan is approximate
(multi-line strings are skipped, inline tables resolve to the line of their key) and is only
ever used to point a human at a line.
"""

from __future__ import annotations

import re

_BARE = r"[A-Za-z0-9_-]+"
_QUOTED = r"\"[^\"]*\"|'[^']*'"
_PART = rf"(?:{_BARE}|{_QUOTED})"
_KEY_RE = re.compile(rf"^\s*({_PART}(?:\s*\.\s*{_PART})*)\s*=")
_HEADER_RE = re.compile(rf"^\s*(\[\[?)\s*({_PART}(?:\s*\.\s*{_PART})*)\s*\]\]?")
_SPLIT_RE = re.compile(rf"{_PART}")


def _parts(dotted: str) -> list[str]:
    return [p.strip("\"'") for p in _SPLIT_RE.findall(dotted)]


def key_lines(text: str) -> dict[str, int]:
    """Map dotted key paths to 1-based line numbers.

    Array-of-tables entries are indexed like ``hardware.connector[0].id``.
    """
    lines: dict[str, int] = {}
    table = ""
    array_counts: dict[str, int] = {}
    in_multiline: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if in_multiline is not None:
            if line.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        header = _HEADER_RE.match(line)
        if header:
            path = ".".join(_parts(header.group(2)))
            if header.group(1) == "[[":
                index = array_counts.get(path, 0)
                array_counts[path] = index + 1
                lines.setdefault(path, number)
                path = f"{path}[{index}]"
            table = path
            lines.setdefault(table, number)
            continue
        key = _KEY_RE.match(line)
        if key:
            path = ".".join([table, *_parts(key.group(1))] if table else _parts(key.group(1)))
            lines.setdefault(path, number)
            for quote in ('"""', "'''"):
                if line.count(quote) % 2 == 1:
                    in_multiline = quote
    return lines


def line_of(lines: dict[str, int], path: str) -> int | None:
    """The line of ``path``, else of its nearest enclosing key or table; None if none."""
    while path:
        if path in lines:
            return lines[path]
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return None
