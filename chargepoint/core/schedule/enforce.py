"""What the station enforces now: the composite limit of every connector at one instant and
the instant at which any of them can next change (one timer for the whole station).

Pure, like the rest of the package: the caller passes the wall-clock instant and the running
transactions, hands each limit to the core (``CurrentLimitChanged``; the core offers
``min(limit, cable, wiring)`` on the pilot, or switches PWM off below 6 A) and sets one timer
for ``wake_at``. See docs/smart-charging.md, "Enforcement".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from .composite import Bound, Limit, Schedule, Transaction


@dataclass(frozen=True, slots=True)
class Enforcement:
    """The limit of each connector >= 1 at one instant, and when to look again (None:
    nothing will change until the profiles, a transaction or the clock do)."""

    limits: Mapping[int, Limit]
    wake_at: datetime | None


def enforce(
    schedule: Schedule, now: datetime, transactions: Mapping[int, Transaction],
    site: Mapping[int, float] | None = None,
) -> Enforcement:
    """The composite limit of every connector >= 1 of ``schedule`` at ``now`` (with its
    running transaction from ``transactions``, if any) and the earliest ``next_change``.
    ``site``: local load management's offer per connector (``site.allocate``); where it is
    lower, it is the limit (``Bound.SITE``): the offer is the minimum of both.
    Raises ``ValueError`` like ``Schedule.limit`` (naive ``now``)."""
    limits: dict[int, Limit] = {}
    changes: list[datetime] = []
    for connector in sorted(c for c in schedule.circuits if c >= 1):
        tx = transactions.get(connector)
        limit = schedule.limit(connector, now, transaction=tx)
        if site is not None and connector in site and site[connector] < limit.amps:
            limit = Limit(float(site[connector]), limit.phases, Bound.SITE)
        limits[connector] = limit
        change = schedule.next_change(connector, now, transaction=tx)
        if change is not None:
            changes.append(change)
    return Enforcement(limits, min(changes, default=None))
