"""One connector's meter poller: at the fast rate while energy can flow, slowly otherwise.

- **busy** (``busy()``, the runtime's test: a contactor commanded closed, a session, or one
  starting): one poll every ``interval_s`` (``[hardware.meter] poll_interval_s``);
- **settling**: after the connector stopped being busy, ``SETTLE_POLLS`` more polls at that
  rate, each started after it went quiet, so that the last readings show the current gone
  with the open contactor and the energy register's final count (``[site]`` load
  management subtracts what every connector's meter says it draws from the grid meter's);
- **idle**: one poll every ``idle_interval_s`` (``idle_poll_interval_s``). Nothing can change
  on an open contactor; the slow poll still finds a meter that stopped answering.
- **failing**: while the last poll found no answer (a meter fault), at the fast rate, so the
  connector is available again within a poll of the meter answering again.

``nudge()`` (the core's state may have changed) makes an idle poller look again: a connector
that became busy is polled at once. ``fresh(max_age_s)`` returns a reading no older than
``max_age_s``, polling now when the last one is older (clock-aligned meter values,
``chargepoint meter``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from hardware.interfaces import EnergyMeter, MeterFault, MeterReading

log = logging.getLogger("chargepoint.runtime")

SETTLE_POLLS = 3  # polls at the fast rate after the connector stopped being busy
FRESH_TIMEOUT_S = 10.0  # longest ``fresh`` waits for a poll (a poll's own retries end sooner)


class MeterPoller:
    """Polls ``meter`` from ``run()`` (a task); ``on_result(result, started)`` after each poll."""

    def __init__(self, meter: EnergyMeter, *, interval_s: float, idle_interval_s: float,
                 busy: Callable[[], bool],
                 on_result: Callable[[MeterReading | MeterFault, float], None],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._meter = meter
        self._interval_s = interval_s
        self._idle_interval_s = max(idle_interval_s, interval_s)
        self._busy = busy
        self._on_result = on_result
        self._clock = clock
        self.latest: MeterReading | None = None  # the last good reading
        self.latest_at: float | None = None  # monotonic start of the poll that gave it
        self.polls = 0  # polls done (good or not)
        self._settle_left = 0  # fast polls still owed after the connector went quiet
        self._failing = False  # the last poll found the meter silent or broken
        self._wake = asyncio.Event()
        self._idling = False  # in the idle sleep: a nudge is worth a look
        self._demand = False  # ``fresh`` asked for a poll now
        self._next: asyncio.Future[None] | None = None  # resolved when the next poll ends

    def nudge(self) -> None:
        """The connector's state may have changed: an idle poller checks ``busy()`` now."""
        if self._idling:
            self._wake.set()

    def age_s(self) -> float | None:
        """Seconds since the last good reading was taken; None without one."""
        return None if self.latest_at is None else self._clock() - self.latest_at

    async def fresh(self, max_age_s: float) -> MeterReading | None:
        """A good reading taken at most ``max_age_s`` ago: the last one, or a poll now.
        None when the meter does not answer (or no poll ends within ``FRESH_TIMEOUT_S``)."""
        age = self.age_s()
        if age is not None and age <= max_age_s:
            return self.latest
        asked = self._clock()
        if self._next is None or self._next.done():
            self._next = asyncio.get_running_loop().create_future()
        waiter = self._next
        self._demand = True
        self._wake.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(waiter), FRESH_TIMEOUT_S)
        fresh = self.latest_at is not None and self.latest_at >= asked - max_age_s
        return self.latest if fresh else None

    @property
    def idling(self) -> bool:
        """Asleep at the idle rate (a nudge makes it look at ``busy()`` again)."""
        return self._idling

    async def run(self) -> None:
        while True:
            started = self._clock()
            waiter, self._next = self._next, None
            self._demand = False
            if self._busy():
                self._settle_left = SETTLE_POLLS
            elif self._settle_left > 0:
                self._settle_left -= 1  # one of the polls after the connector went quiet
            try:
                result = await self._meter.poll()
                self.polls += 1
                self._failing = isinstance(result, MeterFault)
                if isinstance(result, MeterReading):
                    self.latest, self.latest_at = result, started
                self._on_result(result, started)
            finally:
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)
            await self._sleep(started)

    def interval_s(self) -> float:
        """The pause between two polls now: fast while busy, settling or failing, else idle."""
        if self._busy():
            self._settle_left = SETTLE_POLLS
            return self._interval_s
        fast = self._settle_left > 0 or self._failing
        return self._interval_s if fast else self._idle_interval_s

    async def _sleep(self, last: float) -> None:
        """Until the next poll is due after the one that started at ``last``."""
        try:
            while not self._demand:
                interval = self.interval_s()
                delay = last + interval - self._clock()
                if delay <= 0:
                    return
                self._idling = interval > self._interval_s
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._wake.wait()
        finally:
            self._idling = False
