"""Typed, collecting access to one TOML table: every problem becomes a ``ConfigIssue``.

A getter that finds a bad value records an issue and returns the default, so one pass reports
every error in the file. ``finish()`` reports the keys nobody asked for (unknown keys are
errors: a misspelt ``active_high`` must not silently fall back to a default on a contactor).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from chargepoint.config.lines import line_of

NONE_WORDS = ("none",)  # TOML has no null: an optional number or path may be set to "none"


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One problem: the dotted key, its line (None if unknown) and what is wrong."""

    key: str
    line: int | None
    message: str


class ConfigError(ValueError):
    """The configuration is unusable. ``issues`` lists every problem found."""

    def __init__(self, source: str, issues: list[ConfigIssue]) -> None:
        self.source = source
        self.issues = issues
        super().__init__("\n".join(self.format_lines()))

    def format_lines(self) -> list[str]:
        """One ``source:line: key: message`` line per issue."""
        out = []
        for issue in self.issues:
            where = f"{self.source}:{issue.line}" if issue.line else self.source
            key = f"{issue.key}: " if issue.key else ""
            out.append(f"{where}: {key}{issue.message}")
        return out


class Context:
    """What every table of one file shares: the source name, the line index, the issues."""

    def __init__(self, source: str, lines: dict[str, int]) -> None:
        self.source = source
        self.lines = lines
        self.issues: list[ConfigIssue] = []

    def error(self, key: str, message: str) -> None:
        self.issues.append(ConfigIssue(key, line_of(self.lines, key), message))


def _type_name(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


class Table:
    """One TOML table at dotted ``path``. Call the getters, then ``finish()``."""

    def __init__(self, ctx: Context, data: dict[str, Any], path: str) -> None:
        self.ctx = ctx
        self.data = data
        self.path = path
        self._used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def error(self, name: str, message: str) -> None:
        self.ctx.error(self.key(name), message)

    def has(self, name: str) -> bool:
        return name in self.data

    def _get(self, name: str) -> Any:
        self._used.add(name)
        return self.data.get(name)

    def _wrong(self, name: str, value: object, want: str) -> None:
        self.error(name, f"must be {want}, not {_type_name(value)} ({value!r})")

    def string(self, name: str, default: str, *, max_len: int | None = None,
               choices: tuple[str, ...] | None = None, required: bool = False) -> str:
        value = self._get(name)
        if value is None:
            if required:
                self.error(name, "is required")
            return default
        if not isinstance(value, str):
            self._wrong(name, value, "a string")
            return default
        if choices is not None and value not in choices:
            self.error(name, f"must be one of {', '.join(map(repr, choices))}, not {value!r}")
            return default
        if max_len is not None and len(value) > max_len:
            self.error(name, f"must be at most {max_len} characters long")
            return default
        return value

    def opt_string(self, name: str, default: str | None = None) -> str | None:
        value = self._get(name)
        if value is None:
            return default
        if not isinstance(value, str):
            self._wrong(name, value, "a string")
            return default
        if value.lower() in NONE_WORDS:
            return None
        if not value:
            self.error(name, 'must not be empty (leave it out or write "none")')
            return default
        return value

    def integer(self, name: str, default: int, lo: int | None = None,
                hi: int | None = None) -> int:
        result = self.opt_integer(name, default, lo, hi, allow_none=False)
        return default if result is None else result

    def opt_integer(self, name: str, default: int | None, lo: int | None = None,
                    hi: int | None = None, *, allow_none: bool = True) -> int | None:
        value = self._get(name)
        if value is None:
            return default
        if allow_none and isinstance(value, str) and value.lower() in NONE_WORDS:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self._wrong(name, value, 'an integer or "none"' if allow_none else "an integer")
            return default
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            self.error(name, f"must be in {lo if lo is not None else '-inf'}.."
                             f"{hi if hi is not None else 'inf'}, not {value}")
            return default
        return value

    def number(self, name: str, default: float, lo: float | None = None,
               hi: float | None = None, *, lo_open: bool = False) -> float:
        value = self._get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            self._wrong(name, value, "a number")
            return default
        number = float(value)
        too_low = lo is not None and (number <= lo if lo_open else number < lo)
        if not math.isfinite(number) or too_low or (hi is not None and number > hi):
            low = "-inf" if lo is None else (f">{lo:g}" if lo_open else f"{lo:g}")
            high = "inf" if hi is None else f"{hi:g}"
            self.error(name, f"must be in {low}..{high}, not {value}")
            return default
        return number

    def boolean(self, name: str, default: bool) -> bool:
        value = self._get(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            self._wrong(name, value, "true or false")
            return default
        return value

    def table(self, name: str) -> Table | None:
        """The sub-table ``name`` (None when absent or not a table)."""
        value = self._get(name)
        if value is None:
            return None
        if not isinstance(value, dict):
            self._wrong(name, value, "a table")
            return None
        return Table(self.ctx, value, self.key(name))

    def tables(self, name: str) -> list[Table]:
        """An array of tables (``[[name]]``)."""
        value = self._get(name)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self._wrong(name, value, "an array of tables")
            return []
        return [Table(self.ctx, v, f"{self.key(name)}[{i}]") for i, v in enumerate(value)]

    def raw(self, name: str) -> Any:
        return self._get(name)

    def finish(self) -> None:
        """Report every key that no getter asked for."""
        for name in self.data:
            if name not in self._used:
                self.error(name, "unknown key")
