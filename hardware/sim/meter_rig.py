"""The bench's meter: a ``VirtualMeter`` on a pty read by the REAL ``ModbusMeter`` driver.

One virtual RTU bus (one ``RtuBus``), one unit id per connector (unit = connector number).
If the virtual meter cannot start (no pty, pymodbus trouble) the bench runs without a meter
and says why.

Imports: ``drivers()`` alone (the station's main process reading the island's virtual meter)
does not import the virtual meter (pymodbus's server side); a rig started with
``drivers=False`` (the virtual meter in the island, read from the main process) does not import
the driver (pymodbus's client side).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from hardware.interfaces import EnergyMeter
from hardware.meter.regmap import load_model

if TYPE_CHECKING:
    from hardware.meter.bus import RtuBus
    from hardware.sim.virtual_meter import VirtualMeter

log = logging.getLogger(__name__)


class MeterRig:
    """A started virtual meter plus one driver per unit. Build it with ``await start(...)``."""

    def __init__(
        self, virtual: VirtualMeter, port: str, bus: RtuBus | None,
        meters: dict[int, EnergyMeter], phases: int
    ) -> None:
        self.virtual = virtual
        self._bus = bus
        self.port = port
        self._meters = meters
        self.phases = phases

    @classmethod
    async def start(
        cls, model: str, units: list[int], *, timeout_s: float = 0.3, retries: int = 1,
        drivers: bool = True,
    ) -> tuple[MeterRig | None, str]:
        """Start the virtual meter for ``units`` and open a driver per unit on one bus
        (``drivers=False``: none; another process reads the meter at ``port``).

        Returns ``(rig, note)``; ``rig`` is None (and ``note`` says why) when the virtual meter
        does not start. ``timeout_s`` / ``retries`` go to the driver (a silent unit costs
        ``timeout_s * (retries + 1)`` per poll). Raises ``ValueError`` for an unknown model.
        """
        from hardware.sim.virtual_meter import VirtualMeter

        regmap = load_model(model)  # MapError (a ValueError) names an unknown model
        phases = sum(1 for p in ("l1", "l2", "l3") if regmap.field(f"voltage_{p}") is not None)
        virtual = VirtualMeter(
            {unit: model for unit in units}, baudrate=regmap.baudrate, parity=regmap.parity
        )
        try:
            port = await virtual.start()
        except Exception as exc:
            log.exception("simulated bench: the virtual meter did not start")
            await virtual.stop()
            return None, f"meter failed to start: {exc}"
        bus: RtuBus | None = None
        meters: dict[int, EnergyMeter] = {}
        if drivers:
            bus, meters = cls.drivers(port, model, units, timeout_s=timeout_s, retries=retries)
        return (cls(virtual, port, bus, meters, max(phases, 1)),
                f"{model} on {port}, units {units}")

    @staticmethod
    def drivers(
        port: str, model: str, units: list[int], *, timeout_s: float = 0.3, retries: int = 1
    ) -> tuple[RtuBus, dict[int, EnergyMeter]]:
        """The REAL driver per unit on one bus at ``port`` (also from another process than
        the virtual meter's: the station's main process reads the island's virtual meter)."""
        from hardware.meter.bus import RtuBus
        from hardware.meter.driver import open_meter

        regmap = load_model(model)
        bus = RtuBus(port, baudrate=regmap.baudrate, parity=regmap.parity, timeout=timeout_s)
        meters: dict[int, EnergyMeter] = {
            unit: open_meter(port=port, model=model, unit=unit, retries=retries, bus=bus)
            for unit in units
        }
        return bus, meters

    def meter(self, unit: int) -> EnergyMeter | None:
        """The driver of ``unit`` (None when the rig was started without drivers)."""
        return self._meters.get(unit)

    def set_silent(self, unit: int, silent: bool) -> None:
        self.virtual.set_silent(unit, silent)

    def energy_wh(self, unit: int) -> float:
        return self.virtual.energy_wh(unit)

    def update(
        self, unit: int, *, voltage_v: float, current_a: float, frequency_hz: float, add_wh: float
    ) -> None:
        """Show the present draw on every phase of the unit and add ``add_wh`` to its energy."""
        n = self.phases
        self.virtual.set_electrical(unit, [voltage_v] * n, [current_a] * n, frequency_hz)
        if add_wh > 0:
            self.virtual.add_energy_wh(unit, add_wh)

    async def stop(self) -> None:
        if self._bus is not None:
            await self._bus.close()
        await self.virtual.stop()
