"""Start local load management for a running station when ``[site]`` is configured."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Protocol

from chargepoint.config.model import Config
from chargepoint.ports import ProtocolAdapter
from chargepoint.runtime import Controller
from chargepoint.site.grid_meter import GridMeter, UnusableMeter, open_grid_meter
from chargepoint.site.manager import SiteManager, site_limits

if TYPE_CHECKING:
    from chargepoint.island.simclient import SimClient

log = logging.getLogger("chargepoint.site")


class SiteParts(Protocol):
    """What load management needs of a running station (``chargepoint.app.RunningStation``
    has these; the app imports this module, never the other way round)."""

    @property
    def config(self) -> Config: ...
    @property
    def controller(self) -> Controller: ...
    @property
    def adapter(self) -> ProtocolAdapter: ...
    @property
    def bench(self) -> SimClient | None: ...
    @property
    def tasks(self) -> list[asyncio.Task[None]]: ...


async def start_site(running: SiteParts) -> SiteManager | None:
    """Build the grid meter and the manager of ``[site]`` and start its task (None without
    ``[site]``). On the simulated bench the grid meter is the bench's virtual one, a unit on
    the connector meters' bus. A grid meter that cannot be set up (unknown model, bad
    settings) is logged and counts as unreadable: fallback current."""
    cfg = running.config.site
    if cfg is None:
        return None
    controller = running.controller
    meters = [hw.meter for hw in controller.hardware.connectors]
    grid: GridMeter
    try:
        if running.bench is not None:
            from hardware.sim.bench import GRID_UNIT

            described = await asyncio.to_thread(running.bench.describe)
            port, model = described["meter"]["port"], described["meter"]["model"]
            if not port:
                raise ValueError("the simulated bench runs without meters")
            grid = open_grid_meter(cfg.meter, meters, model=str(model), port=str(port),
                                   unit=GRID_UNIT)
        else:
            grid = open_grid_meter(cfg.meter, meters)
    except ValueError as exc:  # MapError too: the station runs on the fallback current
        log.error("site: no grid meter (%s): every connector gets fallback_current_a", exc)
        grid = GridMeter(UnusableMeter(f"no grid meter: {exc}"))
    adapter = running.adapter
    manager = SiteManager(site_limits(cfg), grid, controller,
                          lambda: adapter.limit_timer,
                          interval_s=cfg.meter.poll_interval_s)
    running.tasks.append(asyncio.create_task(manager.run(), name="site"))
    return manager
