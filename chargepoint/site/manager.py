"""The site manager: every poll of the grid meter becomes one step of the pure allocator
(``chargepoint.core.schedule.site.allocate``), whose offers go to the smart-charging
``LimitTimer`` (``update(site=...)``): the limit the core gets is the lower of profile and
site, computed in one place (``enforce``). See docs/site.md.

A connector wants energy while it has a transaction that is Charging, SuspendedEV or
SuspendedEVSE; what it draws is the larger of its own meter's phase currents and, while
Charging, the current its pilot offers (``_drawn``). A transaction starting
or ending, or an EV plugging in or leaving, steps at once (no wait for the next poll).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from chargepoint.config.model import SiteConfig
from chargepoint.core import actions as act
from chargepoint.core import events as ev
from chargepoint.core.schedule import Allocation, Demand, SiteLimits, SiteState, allocate
from chargepoint.core.types import ConnectorStatus
from chargepoint.limit_timer import LimitTimer
from chargepoint.runtime import Controller
from chargepoint.site.grid_meter import GridMeter

log = logging.getLogger("chargepoint.site")

_WANTING = (ConnectorStatus.CHARGING, ConnectorStatus.SUSPENDED_EV,
            ConnectorStatus.SUSPENDED_EVSE)


def site_limits(cfg: SiteConfig) -> SiteLimits:
    return SiteLimits(max_current_a=cfg.max_current_a, fallback_current_a=cfg.fallback_current_a,
                      rotate_s=cfg.rotate_s, margin_a=cfg.margin_a, hold_s=cfg.hold_s)


class SiteManager:
    """Runs load management for one station: ``run()`` (a task) until cancelled."""

    def __init__(self, limits: SiteLimits, grid: GridMeter, controller: Controller,
                 timer: Callable[[], LimitTimer], *, interval_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.grid = grid
        self._controller = controller
        self._timer = timer
        self._interval_s = interval_s
        self._clock = clock
        self._state = SiteState()
        self._grid_a: tuple[float, ...] | None = None
        self.last: Allocation | None = None
        self._wake = asyncio.Event()
        self.stepped = asyncio.Condition()  # notified after every step (tests, status)
        self.steps = 0
        # nothing is offered before the first step: a session waits at most one poll
        connectors = range(1, controller.connector_count + 1)
        timer().update(site={c: 0.0 for c in connectors})
        controller.observe(self._observed)

    def _observed(self, item: ev.Event | act.Action) -> None:
        if isinstance(item, act.StartTransaction | act.StopTransaction | ev.PilotChanged):
            self._wake.set()

    async def run(self) -> None:
        while True:
            started = self._clock()
            self._wake.clear()
            grid = await self.grid.read()
            try:
                self.step(grid)
            except Exception:  # a broken step must not end load management: fallback next
                log.exception("site: allocation failed")
            async with self.stepped:
                self.steps += 1
                self.stepped.notify_all()
            delay = max(0.0, self._interval_s - (self._clock() - started))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    def step(self, grid_a: tuple[float, ...] | None) -> Allocation:
        """One allocation from ``grid_a`` (None: unreadable); hands the offers on."""
        timer = self._timer()
        caps = timer.profile_limits()
        view = self._controller.station.snapshot()
        demands: dict[int, Demand] = {}
        for conn in view.connectors:
            drawn = self._drawn(conn.id, conn.status is ConnectorStatus.CHARGING,
                                conn.pwm_a, len(grid_a or ()))
            wants = conn.session is not None and conn.status in _WANTING
            demands[conn.id] = Demand(wants, caps.get(conn.id, 0.0), drawn)
        result = allocate(self.limits, self._state, self._clock(), grid_a, demands)
        if self.last is None or dict(result.offers) != dict(self.last.offers):
            log.info("site: offers %s A (available %s A%s)",
                     {c: a for c, a in result.offers.items()},
                     "?" if result.available_a is None else f"{result.available_a:.1f}",
                     "" if result.meter_ok else ", grid meter unreadable: fallback")
        self._state = result.state
        self._grid_a = grid_a
        self.last = result
        timer.update(site=result.offers)
        return result

    def _drawn(self, connector: int, charging: bool, pwm_a: float | None,
               phases: int) -> tuple[float, ...]:
        """What ``connector`` draws per phase, as the larger of its meter's reading and,
        while charging, what its pilot offers: its meter is polled on its own schedule and
        lags every change of the offer; taken alone, a reading from before a rise would make
        the EV's new current look like house load (a cut, then a rise: oscillation). An EV
        that draws less than offered leaves that much unused: the offers then sum to the
        fuse less the margin all the same."""
        reading = self._controller.meter_reading(connector)
        metered = list(reading.current_a) if reading is not None else []
        offered = pwm_a if charging and pwm_a is not None else 0.0
        n = max(phases, len(metered))
        metered += [0.0] * (n - len(metered))
        return tuple(max(a, offered) for a in metered)

    def status(self) -> dict[str, Any]:
        """The ``site`` object of ``status --json``."""
        last = self.last
        ok = last is not None and last.meter_ok
        return {
            "max_current_a": self.limits.max_current_a,
            "grid_current_a": list(self._grid_a) if ok and self._grid_a is not None else None,
            "house_current_a": list(last.house_a) if ok and last and last.house_a else None,
            "available_a": round(last.available_a, 2) if ok and last and last.available_a
            is not None else None,
            "meter_ok": ok,
            "offered_a": {} if last is None else {str(c): a for c, a in last.offers.items()},
        }
