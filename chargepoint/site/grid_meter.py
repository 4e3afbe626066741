"""The ``[site.meter]`` grid meter: one poll -> the grid current per phase, or None.

The Modbus driver is the connectors' one (``hardware.meter``, any shipped map, asynchronous
pymodbus: nothing blocks the event loop). On an RS-485 bus shared with the connector meters
the grid meter is one more unit on the same ``RtuBus``, whose lock keeps the frames of all
meters apart. Whether a reading is plausible is the allocator's call
(``chargepoint.core.schedule.site.plausible``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from chargepoint.config.model import MeterConfig
from hardware.interfaces import EnergyMeter, MeterFault, MeterReading

log = logging.getLogger("chargepoint.site")


class GridMeter:
    """Polls one meter; ``read()`` returns its current per phase, None when it did not
    answer (logged once per outage)."""

    def __init__(self, meter: EnergyMeter) -> None:
        self.meter = meter
        self.reason: str | None = None  # why the last read failed (None: it did not)

    async def read(self) -> tuple[float, ...] | None:
        try:
            result = await self.meter.poll()
        except Exception as exc:  # a driver that raises is a meter that did not answer
            result = MeterFault(f"grid meter poll failed: {exc!r}")
        if isinstance(result, MeterFault):
            if self.reason is None:
                log.warning("site: the grid meter cannot be read (%s): fallback current",
                            result.reason)
            self.reason = result.reason
            return None
        if self.reason is not None:
            log.info("site: the grid meter reads again")
            self.reason = None
        if not result.current_a:
            self.reason = "the meter's register map has no phase currents"
            return None
        return tuple(float(a) for a in result.current_a)


class UnusableMeter:
    """Stands in for a grid meter that could not be set up (unknown model, bad settings):
    every poll fails with the reason, so the station runs on the fallback current."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    @property
    def model(self) -> str:
        return "unusable"

    @property
    def requests_per_poll(self) -> int:
        return 0

    async def poll(self) -> MeterReading | MeterFault:
        return MeterFault(self.reason)


def open_grid_meter(cfg: MeterConfig, connector_meters: Iterable[EnergyMeter | None],
                    *, model: str | None = None, port: str | None = None,
                    unit: int | None = None) -> GridMeter:
    """The grid meter of ``[site.meter]`` (``model``/``port``/``unit`` override it: the
    simulated bench's grid meter). On the port of a connector meter it joins that meter's bus.
    Opens nothing: the port is opened by the first poll. Raises ``ValueError`` (also
    ``MapError``) for an unknown model or bad settings."""
    from hardware.meter import RtuBus, open_meter  # pymodbus: not in the island process

    port = port or cfg.port
    bus: RtuBus | None = None
    for meter in connector_meters:
        candidate = getattr(meter, "bus", None)
        if isinstance(candidate, RtuBus) and candidate.port == port:
            bus = candidate
            break
    meter = open_meter(port=port, model=model or cfg.model,
                       unit=cfg.unit if unit is None else unit, baudrate=cfg.baudrate,
                       parity=cfg.parity, stopbits=cfg.stopbits or 1, timeout=cfg.timeout_s,
                       retries=1, bus=bus)
    return GridMeter(meter)
