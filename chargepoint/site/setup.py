"""Start local load management for a running station when ``[site]`` is configured."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from chargepoint.site.grid_meter import GridMeter, open_grid_meter
from chargepoint.site.manager import SiteManager, site_limits

if TYPE_CHECKING:
    from chargepoint.app import RunningStation


async def start_site(running: RunningStation) -> SiteManager | None:
    """Build the grid meter and the manager of ``[site]`` and start its task (None without
    ``[site]``). On the simulated bench the grid meter is the bench's virtual one, a unit on
    the connector meters' bus. Raises ``ValueError`` for a bad meter model or settings."""
    cfg = running.config.site
    if cfg is None:
        return None
    controller = running.controller
    meters = [hw.meter for hw in controller.hardware.connectors]
    grid: GridMeter
    if running.bench is not None:
        from hardware.sim.bench import GRID_UNIT

        described = await asyncio.to_thread(running.bench.describe)
        port, model = described["meter"]["port"], described["meter"]["model"]
        if not port:
            raise ValueError("the simulated bench runs without meters: no grid meter")
        grid = open_grid_meter(cfg.meter, meters, model=str(model), port=str(port),
                               unit=GRID_UNIT)
    else:
        grid = open_grid_meter(cfg.meter, meters)
    adapter = running.adapter
    manager = SiteManager(site_limits(cfg), grid, controller,
                          lambda: adapter.smart_charging.timer,
                          interval_s=cfg.meter.poll_interval_s)
    running.tasks.append(asyncio.create_task(manager.run(), name="site"))
    return manager
