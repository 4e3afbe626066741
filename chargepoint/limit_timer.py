"""The smart-charging timer: keeps the core's per-connector limits in line with the installed
charging profiles on the wall clock, version-neutral (any OCPP adapter, later local load
management, feeds it).

``LimitTimer(submit, wall_now)``: ``update(schedule=..., transactions=...)`` takes a new
``chargepoint.core.schedule.Schedule`` or the running transactions and applies the limits at
once (``CurrentLimitChanged`` to the core, only for connectors whose limit changed);
``run()`` (a task) sleeps until the earliest ``next_change`` of the schedule and applies
again then: one wake-up per period boundary, none while nothing changes (no polling).
``poke()`` after the wall clock was set (it may have jumped). The core turns each limit into
the pilot duty, or PWM off below 6 A (SuspendedEVSE). Local load management
(``chargepoint.site``) hands its offers in with ``update(site=...)``: the limit is the lower
of profile and site (``enforce``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from datetime import datetime

from chargepoint.core.events import CurrentLimitChanged, Event
from chargepoint.core.schedule import Schedule, Transaction, enforce

log = logging.getLogger("chargepoint.smart_charging")


class LimitTimer:
    def __init__(self, submit: Callable[[Event], object], wall_now: Callable[[], datetime],
                 schedule: Schedule) -> None:
        self._submit = submit
        self._wall_now = wall_now
        self._schedule = schedule
        self._transactions: dict[int, Transaction] = {}
        self._site: dict[int, float] | None = None
        self._sent: dict[int, float] = {}
        self._wake = asyncio.Event()
        self._started = False  # nothing goes to the core before run(): it may not be up yet
        self.wake_at: datetime | None = None  # when run() looks again (for tests and status)

    @property
    def schedule(self) -> Schedule:
        return self._schedule

    @property
    def transactions(self) -> Mapping[int, Transaction]:
        return dict(self._transactions)

    def update(self, *, schedule: Schedule | None = None,
               transactions: Mapping[int, Transaction] | None = None,
               site: Mapping[int, float] | None = None) -> None:
        """Take a new schedule, the running transactions and/or local load management's
        offers; apply the limits now (once ``run()`` started; before, ``run()`` applies them
        first)."""
        if schedule is not None:
            self._schedule = schedule
        if transactions is not None:
            self._transactions = dict(transactions)
        if site is not None:
            self._site = dict(site)
        self.poke()

    def profile_limits(self) -> dict[int, float]:
        """Each connector's limit from the profiles, hardware and cable alone (without local
        load management's share): the most the site allocator may give it."""
        result = enforce(self._schedule, self._wall_now(), self._transactions)
        return {c: limit.amps for c, limit in result.limits.items()}

    def poke(self) -> None:
        """Re-evaluate now (e.g. the wall clock was set) and re-arm the timer."""
        if self._started:
            self.apply()
            self._wake.set()

    def apply(self) -> datetime | None:
        """Hand every changed limit to the core; returns when to look again."""
        result = enforce(self._schedule, self._wall_now(), self._transactions, self._site)
        for connector, limit in result.limits.items():
            if self._sent.get(connector) != limit.amps:
                self._sent[connector] = limit.amps
                log.info("connector %d: charging limit %.1f A (%s)", connector, limit.amps,
                         limit.bound.value)
                self._submit(CurrentLimitChanged(connector, limit.amps))
        self.wake_at = result.wake_at
        return result.wake_at

    async def run(self) -> None:
        """Apply now and at every ``next_change`` until cancelled."""
        self._started = True
        while True:
            self._wake.clear()
            wake_at = self.apply()
            delay = None if wake_at is None else max(
                0.0, (wake_at - self._wall_now()).total_seconds())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)
