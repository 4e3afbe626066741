"""Authorization requests in flight: what a ``RequestAuthorization`` was asked for."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from chargepoint.core.connector import Source


class Purpose(enum.Enum):
    START = "start"  # start on a given connector
    STOP_OR_START = "stop-or-start"  # parent id tag may stop a session; else start


@dataclass(frozen=True, slots=True)
class Pending:
    """A ``RequestAuthorization`` in flight."""

    purpose: Purpose
    connector: int | None
    id_tag: str
    source: Source
    limit_a: float | None
