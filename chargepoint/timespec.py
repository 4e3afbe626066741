"""Points in time as a technician types them for ``--since``: the forms journalctl takes.

``parse_since(text, now)`` returns an aware ``datetime``; times without a zone are local time,
as in journalctl (systemd.time(7)). Accepted:

- ``now``, ``today``, ``yesterday``, ``tomorrow`` (midnight, local time);
- relative spans: ``"1 hour ago"``, ``"10 min ago"``, ``"-2h"``, ``"1h 30min ago"``,
  ``"+5s"``; units us, ms, s/sec/second(s), m/min/minute(s), h/hr/hour(s), d/day(s),
  w/week(s), M/month(s) (30.44 days), y/year(s) (365.25 days);
- ``YYYY-MM-DD``, ``YYYY-MM-DD HH:MM[:SS[.ffffff]]``, the ISO 8601 form with ``T``, each with
  an optional zone (``Z``, ``+01:00``, ``UTC``);
- ``HH:MM[:SS]`` (today at that time) and ``@EPOCH`` (seconds since 1970).

Anything else raises ``ValueError`` naming the accepted forms.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_UNITS = {
    "us": 1e-6, "usec": 1e-6, "ms": 1e-3, "msec": 1e-3,
    "s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0,
    "m": 60.0, "min": 60.0, "mins": 60.0, "minute": 60.0, "minutes": 60.0,
    "h": 3600.0, "hr": 3600.0, "hrs": 3600.0, "hour": 3600.0, "hours": 3600.0,
    "d": 86400.0, "day": 86400.0, "days": 86400.0,
    "w": 604800.0, "week": 604800.0, "weeks": 604800.0,
    "M": 2629800.0, "month": 2629800.0, "months": 2629800.0,
    "y": 31557600.0, "year": 31557600.0, "years": 31557600.0,
}
_SPAN_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([A-Za-z]+)")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")

FORMS = ('"1 hour ago", "10 min ago", "-2h", "today", "yesterday", "now", '
         '"2026-01-01", "2026-01-01 12:00", "2026-01-01T12:00:00Z", "12:30", "@1767268800"')


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """The moment ``text`` names (aware); ``now`` (aware, default the current time) anchors
    relative forms. Raises ``ValueError`` for anything journalctl would not take either."""
    current = now if now is not None else datetime.now(UTC)
    spec = text.strip()
    if not spec:
        raise ValueError(f"empty time; use one of {FORMS}")
    local_now = current.astimezone()
    midnight = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    words = {"now": current, "today": midnight, "yesterday": midnight - timedelta(days=1),
             "tomorrow": midnight + timedelta(days=1)}
    if spec.lower() in words:
        return words[spec.lower()]
    if spec.startswith("@"):
        try:
            return datetime.fromtimestamp(float(spec[1:]), UTC)
        except (ValueError, OverflowError, OSError):
            raise _bad(text) from None
    span = _span(spec)
    if span is not None:
        return current + span
    clock = _CLOCK.match(spec)
    if clock:
        hour, minute, second = (int(g) if g else 0 for g in clock.groups())
        try:
            return local_now.replace(hour=hour, minute=minute, second=second, microsecond=0)
        except ValueError:
            raise _bad(text) from None
    return _absolute(spec, text)


def _span(spec: str) -> timedelta | None:
    """``"1h 30min ago"`` / ``"-1h"`` -> negative, ``"+5s"`` -> positive; None if no span."""
    sign = 1.0
    body = spec
    if body.endswith(" ago"):
        sign, body = -1.0, body[:-4]
    elif body[0] in "+-":
        sign, body = (-1.0 if body[0] == "-" else 1.0), body[1:]
    body = body.strip()
    if not body or not body[0].isdigit() or ":" in body or body.count("-") > 0:
        return None
    seconds = 0.0
    pos = 0
    for match in _SPAN_PART.finditer(body):
        if body[pos:match.start()].strip():
            return None
        unit = match.group(2)
        factor = _UNITS.get(unit, _UNITS.get(unit.lower()))  # "m" minutes, "M" months
        if factor is None:
            return None
        seconds += float(match.group(1)) * factor
        pos = match.end()
    if pos == 0 or body[pos:].strip():
        return None
    return timedelta(seconds=sign * seconds)


def _absolute(spec: str, original: str) -> datetime:
    body = spec
    zone_utc = False
    for suffix in (" UTC", " utc", "Z", "z"):
        if body.endswith(suffix):
            body, zone_utc = body[: -len(suffix)], True
            break
    try:
        when = datetime.fromisoformat(body)
    except ValueError:
        raise _bad(original) from None
    if zone_utc:
        if when.tzinfo is not None:
            raise _bad(original)
        return when.replace(tzinfo=UTC)
    if when.tzinfo is None:
        return when.astimezone()  # naive: local time, as journalctl reads it
    return when


def _bad(text: str) -> ValueError:
    return ValueError(f"cannot read {text!r} as a time; use one of {FORMS}")
