"""The ``logs`` control command's extended form: filtered records and a wait for new ones.

``{"cmd": "logs", "args": {"since": "1 hour ago"}}`` answers a list of lines (the first form,
kept). Any of ``records: true``, ``connector``, ``after``, ``wait_s`` or ``limit`` asks for
the extended answer ``answer(...)`` builds::

    {"records": [{"seq", "time", "level", "logger", "connector", "transaction_id",
                  "message"}, ...],
     "next": 812,            # pass as "after" to get only what came later
     "journald": false,      # the daemon logs to the journal (systemd started it)
     "file": null}           # its [logging] file, if any

``wait_s`` (at most ``MAX_WAIT_S``) holds the answer until a record newer than ``after``
exists: ``chargepoint logs --follow`` needs no polling.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chargepoint.logbuffer import LogBuffer
from chargepoint.timespec import parse_since

MAX_WAIT_S = 60.0
MAX_LIMIT = 100_000
EXTENDED_KEYS = ("records", "connector", "after", "wait_s", "limit")


class LogArgsError(ValueError):
    """Arguments of ``logs`` that are not well formed."""


@dataclass(frozen=True, slots=True)
class LogQuery:
    connector: int | None = None
    after: int | None = None
    wait_s: float = 0.0
    limit: int | None = None


def _whole(args: dict[str, Any], name: str, low: int, high: int) -> int | None:
    value = args.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise LogArgsError(f"args.{name} must be a whole number in [{low}, {high}]")
    return value


def parse_log_args(args: dict[str, Any]) -> LogQuery | None:
    """None for the first form (only ``since``), else the query. Raises ``LogArgsError``."""
    if not any(key in args for key in EXTENDED_KEYS):
        return None
    wait = args.get("wait_s", 0.0)
    if isinstance(wait, bool) or not isinstance(wait, int | float) or not 0 <= wait <= MAX_WAIT_S:
        raise LogArgsError(f"args.wait_s must be a number of seconds in [0, {MAX_WAIT_S:g}]")
    return LogQuery(connector=_whole(args, "connector", 1, 1000),
                    after=_whole(args, "after", 0, 2**62),
                    wait_s=float(wait), limit=_whole(args, "limit", 1, MAX_LIMIT))


async def answer(buffer: LogBuffer, since: str | None, query: LogQuery, *, journald: bool,
                 file: str | None) -> dict[str, Any]:
    """The extended answer (module docstring). Raises ``ValueError`` for a bad ``since``."""
    start = parse_since(since).timestamp() if since else None
    if query.wait_s > 0 and query.after is not None:
        await buffer.wait_after(query.after, query.wait_s)
    head = buffer.last_seq
    found = buffer.query(since=start, connector=query.connector, after=query.after,
                         limit=query.limit)
    last = max([head, query.after or 0, *(r.seq for r in found)])
    return {"records": [r.json() for r in found], "next": last, "journald": journald,
            "file": file}
