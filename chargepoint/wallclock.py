"""The wall clock of the station's own records (not the OCPP clock a CSMS sets)."""

from __future__ import annotations

import time


def utc_stamp() -> str:
    """Now in UTC, ISO 8601 to the second, e.g. "2026-01-31T12:00:00Z"."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
