"""``ModbusMeter``: one energy meter (one unit id) on an ``RtuBus``.

Implements ``hardware.interfaces.EnergyMeter``. A poll sends the requests of the block plan
(``planner.plan_blocks`` for the bus's baud rate and the model's cap and turnaround), decodes
every quantity of the register map and checks it:

- a request without a good answer (timeout, bad CRC, exception response, short answer) is
  retried ``retries`` times; then the poll is ``MeterFault(reason)``;
- NaN / infinity, the model's "not available" sentinel, or an energy counter lower than the
  last good one make the poll a ``MeterFault``; the last good reading is kept.

Nothing is raised for bus or meter faults; the next poll simply tries again, so the meter
recovers by itself when it answers again (the bus re-opens a broken port).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from hardware.interfaces import MeterFault, MeterReading
from hardware.meter.bus import BusCounters, BusError, RtuBus
from hardware.meter.planner import Block, plan_blocks, plan_time_s
from hardware.meter.regmap import MeterModel, decode, is_not_available, load_model

PHASES = ("l1", "l2", "l3")


@dataclass(slots=True)
class MeterCounters:
    """Cumulative figures of one meter (for the benchmark and ``selftest``)."""

    polls: int = 0
    faults: int = 0
    retries: int = 0
    traffic: BusCounters = field(default_factory=BusCounters)  # this meter's requests only

    @property
    def requests(self) -> int:
        """Requests sent, retries included."""
        return self.traffic.requests

    @property
    def bytes_on_wire(self) -> int:
        """Request and answer bytes of this meter's requests."""
        return self.traffic.bytes_on_wire


class ModbusMeter:
    """An energy meter at ``unit`` on ``bus``, read with the register map ``model``."""

    def __init__(self, bus: RtuBus, model: MeterModel, *, unit: int = 1, retries: int = 2) -> None:
        if not 1 <= unit <= 247:
            raise ValueError("unit id must be 1..247")
        if retries < 0:
            raise ValueError("retries must be >= 0")
        self.bus = bus
        self.map = model
        self.unit = unit
        self.retries = retries
        self.counters = MeterCounters()
        self.plan: list[Block] = plan_blocks(
            model.fields,
            max_registers=model.max_registers,
            char_time=bus.char_time,
            turnaround_s=model.turnaround_s,
        )
        self._last_good: MeterReading | None = None

    # -- EnergyMeter --------------------------------------------------------------------------

    @property
    def model(self) -> str:
        return self.map.name

    @property
    def requests_per_poll(self) -> int:
        return len(self.plan)

    async def poll(self) -> MeterReading | MeterFault:
        """Read every quantity once (see the module docstring). Never raises for faults."""
        self.counters.polls += 1
        registers: dict[tuple[int, int], int] = {}
        for block in self.plan:
            values = await self._read_block(block)
            if isinstance(values, MeterFault):
                return self._fault(values.reason)
            for offset, value in enumerate(values):
                registers[(block.function, block.start + offset)] = value
        result = self._decode(registers)
        if isinstance(result, MeterFault):
            return self._fault(result.reason)
        self._last_good = result
        return result

    # -- extras -------------------------------------------------------------------------------

    @property
    def last_reading(self) -> MeterReading | None:
        """The last good reading (never replaced by a bad one)."""
        return self._last_good

    @property
    def predicted_wire_time_s(self) -> float:
        """Wire time of one poll by the planner's cost model (no retries)."""
        return plan_time_s(self.plan, self.bus.char_time, self.map.turnaround_s)

    # -- internals ----------------------------------------------------------------------------

    def _fault(self, reason: str) -> MeterFault:
        self.counters.faults += 1
        return MeterFault(f"{self.map.name} unit {self.unit}: {reason}")

    async def _read_block(self, block: Block) -> list[int] | MeterFault:
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                self.counters.retries += 1
            try:
                return await self.bus.read(
                    self.unit,
                    block.function,
                    block.start,
                    block.count,
                    account=self.counters.traffic,
                )
            except BusError as exc:
                last = exc.reason
        return MeterFault(f"{last} (after {self.retries + 1} attempts)")

    def _value(self, registers: dict[tuple[int, int], int], quantity: str) -> float | str | None:
        """The decoded value, None when the map lacks it, or a fault reason (str)."""
        spec = self.map.field(quantity)
        if spec is None:
            return None
        regs = [registers[(spec.function, a)] for a in range(spec.address, spec.end)]
        if is_not_available(self.map, spec, regs):
            return f"{quantity} not available"
        value = decode(spec, regs)
        if not math.isfinite(value):
            return f"{quantity} is {value}"
        return value

    def _decode(self, registers: dict[tuple[int, int], int]) -> MeterReading | MeterFault:
        values: dict[str, float | None] = {}
        for spec in self.map.fields:
            value = self._value(registers, spec.quantity)
            if isinstance(value, str):
                return MeterFault(value)
            values[spec.quantity] = value
        energy = values["energy_import"]
        assert energy is not None  # the loader makes energy_import mandatory
        last = self._last_good
        if last is not None and energy < last.energy_import_wh:
            return MeterFault(f"import energy {energy} Wh below last good {last.energy_import_wh}")
        export = values.get("energy_export")
        if (
            last is not None
            and export is not None
            and last.energy_export_wh is not None
            and export < last.energy_export_wh
        ):
            return MeterFault(f"export energy {export} Wh below last good {last.energy_export_wh}")

        def phases(prefix: str) -> list[float]:
            return [v for p in PHASES if (v := values.get(f"{prefix}_{p}")) is not None]

        return MeterReading(
            energy_import_wh=energy,
            energy_export_wh=export,
            power_w=values.get("power"),
            power_w_phases=phases("power"),
            voltage_v=phases("voltage"),
            current_a=phases("current"),
            frequency_hz=values.get("frequency"),
        )


def open_meter(
    *,
    port: str,
    model: str,
    unit: int = 1,
    baudrate: int | None = None,
    parity: str | None = None,
    stopbits: int = 1,
    timeout: float = 1.0,
    retries: int = 2,
    bus: RtuBus | None = None,
) -> ModbusMeter:
    """A meter of the shipped ``model`` at ``unit`` on ``port``.

    ``baudrate`` / ``parity`` None take the model's defaults. Pass ``bus`` to put several
    meters on one RS-485 bus (then ``port`` must name the bus's port and the serial settings
    are the bus's). Raises ``MapError`` for an unknown model, ``ValueError`` for bad settings.
    Opens nothing: the port is opened by the first poll.
    """
    regmap = load_model(model)
    if bus is None:
        bus = RtuBus(
            port,
            baudrate=baudrate if baudrate is not None else regmap.baudrate,
            parity=parity if parity is not None else regmap.parity,
            stopbits=stopbits,
            timeout=timeout,
        )
    elif bus.port != port:
        raise ValueError(f"bus is on {bus.port}, not {port}")
    return ModbusMeter(bus, regmap, unit=unit, retries=retries)
