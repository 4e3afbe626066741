"""``VirtualMeter``: Modbus RTU energy meters on a pseudo-terminal, for the simulated bench.

Requests are framed and decoded, and answers encoded and framed, by pymodbus's RTU framer and
PDU classes (``hardware.sim.rtu_responder``); one or more unit ids are served, each with any
shipped register map. Values are encoded through the same map data the driver decodes with
(``hardware.meter.regmap.encode``), so the real ``ModbusMeter`` reads them back over a real
serial line:

    ModbusMeter --pyserial--> /dev/pts/B ==pty link== /dev/pts/A <-- RtuResponder (pymodbus framer)

Each unit answers reads of holding (3) and input (4) registers within the span of its map's
fields of that function (registers between fields read 0); a read outside that span gets
exception 2 (illegal data address), any other function exception 1 (illegal function).

The link (``hardware.sim.rtu_wire.PtyLink``) joins two pseudo-terminal pairs back to back (a
null-modem cable in software); with ``char_time_s`` set it also emulates the RTU wire time of a
slow RS-485 bus for the benchmark and checks the client keeps the silence between frames
(``wire_stats``).

Calling contract: ``start()`` returns the tty path the client opens; ``stop()`` releases it.
Electrical values and counters may be changed at any time (also before ``start``); each
request encodes the current values. ``set_silent`` makes a unit stop answering (the client
times out: a meter fault); unknown unit ids never get an answer, as on a real bus.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from pymodbus.constants import ExcCodes
from pymodbus.pdu import ExceptionResponse, ModbusPDU
from pymodbus.pdu.register_message import (
    ReadHoldingRegistersResponse,
    ReadInputRegistersResponse,
)

from hardware.meter.regmap import Field, MeterModel, encode, load_model
from hardware.sim.rtu_responder import RtuResponder
from hardware.sim.rtu_wire import PtyLink, WireStats

RESPONSES = {3: ReadHoldingRegistersResponse, 4: ReadInputRegistersResponse}

PHASES = ("l1", "l2", "l3")


@dataclass(frozen=True, slots=True)
class SeenRequest:
    """A request the server received (answered or not)."""

    unit: int
    function: int
    address: int
    count: int
    answered: bool


@dataclass(slots=True)
class _Unit:
    """State of one simulated meter and its answers."""

    unit: int
    model: MeterModel
    voltage_v: list[float] = field(default_factory=lambda: [230.0, 230.0, 230.0])
    current_a: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    frequency_hz: float = 50.0
    energy_import_wh: float = 0.0
    energy_export_wh: float = 0.0
    silent: bool = False
    overrides: dict[str, float] = field(default_factory=dict)
    not_available: set[str] = field(default_factory=set)

    def phases(self) -> int:
        return sum(1 for p in PHASES if self.model.field(f"voltage_{p}") is not None) or 1

    def value(self, quantity: str) -> float:
        """The current value of ``quantity`` in SI units (power = V x I, unity power factor)."""
        if quantity in self.overrides:
            return self.overrides[quantity]
        n = self.phases()
        if quantity == "energy_import":
            return self.energy_import_wh
        if quantity == "energy_export":
            return self.energy_export_wh
        if quantity == "frequency":
            return self.frequency_hz
        if quantity == "power":
            return sum(v * i for v, i in zip(self.voltage_v[:n], self.current_a[:n], strict=False))
        kind, phase = quantity.rsplit("_", 1)
        index = PHASES.index(phase)
        voltage = self.voltage_v[index] if index < len(self.voltage_v) else 0.0
        current = self.current_a[index] if index < len(self.current_a) else 0.0
        return {"voltage": voltage, "current": current, "power": voltage * current}[kind]

    def registers_of(self, spec: Field) -> list[int]:
        if spec.quantity in self.not_available:
            sentinel = self.model.not_available.get(spec.type)
            if sentinel is None:
                raise ValueError(f"{self.model.name} has no not-available value for {spec.type}")
            words = [(sentinel >> (16 * k)) & 0xFFFF for k in range(spec.count)][::-1]
            return words[::-1] if spec.word_order == "lsw" else words
        return encode(spec, self.value(spec.quantity))

    def read(self, function: int, address: int, count: int) -> list[int] | ExcCodes:
        """Registers ``address`` .. ``address + count`` of ``function`` (3 or 4), encoded from
        the current state, or the exception a meter answers."""
        specs = [f for f in self.model.fields if f.function == function]
        if not specs:
            return ExcCodes.ILLEGAL_ADDRESS
        start = min(f.address for f in specs)
        end = max(f.end for f in specs)
        if count < 1 or address < start or address + count > end:
            return ExcCodes.ILLEGAL_ADDRESS
        registers = [0] * (end - start)
        for spec in specs:
            offset = spec.address - start
            registers[offset : offset + spec.count] = self.registers_of(spec)
        return registers[address - start : address - start + count]

    def answer(self, request: ModbusPDU) -> ModbusPDU:
        """The reply to ``request`` (a meter's measurement registers are read-only)."""
        code = request.function_code
        if code not in RESPONSES:
            return ExceptionResponse(code, ExcCodes.ILLEGAL_FUNCTION, device_id=self.unit)
        registers = self.read(code, request.address, request.count)
        if isinstance(registers, ExcCodes):
            return ExceptionResponse(code, registers, device_id=self.unit)
        return RESPONSES[code](registers=registers, dev_id=self.unit)


class VirtualMeter:
    """Simulated meters on one RS-485 bus. ``units`` maps unit id -> shipped model name.

    ``char_time_s``: None serves at pty speed; a number emulates that character time
    (``hardware.meter.planner.char_time_s(9600)`` for a 9600 Bd bus). ``history``: how many
    received requests ``requests()`` keeps (the oldest are dropped). ``check_wire``: a client
    whose tty is not at ``baudrate`` / ``parity`` is not heard (a pty carries bytes at any
    setting; a real bus does not), for finding a meter's serial settings. ``piece_chars``
    (with ``char_time_s``): answers reach the client in pieces of that many characters as they
    come off the wire, as a real UART hands them over.
    """

    def __init__(
        self,
        units: dict[int, str] | None = None,
        *,
        char_time_s: float | None = None,
        baudrate: int = 9600,
        parity: str = "N",
        history: int = 10_000,
        check_wire: bool = False,
        piece_chars: int | None = None,
    ) -> None:
        self._units: dict[int, _Unit] = {}
        # bounded: the simulated bench runs a VirtualMeter for as long as the daemon lives
        self._seen: deque[SeenRequest] = deque(maxlen=history)
        self._log: deque[tuple[str, int]] = deque(maxlen=2 * history)
        self.baudrate = baudrate
        self.parity = parity
        self._link = PtyLink(char_time_s, (baudrate, parity) if check_wire else None,
                             piece_chars)
        self._server: RtuResponder | None = None
        for unit, model in (units or {1: "sdm630"}).items():
            self.add_unit(unit, model)

    def add_unit(self, unit: int, model: str = "sdm630") -> None:
        """Add a meter (before ``start``). Raises ``ValueError`` for a bad or duplicate id."""
        if self._server is not None:
            raise RuntimeError("add units before start()")
        if not 1 <= unit <= 247 or unit in self._units:
            raise ValueError(f"unit id {unit} invalid or already used")
        self._units[unit] = _Unit(unit, load_model(model))

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> str:
        """Open the ttys and start serving; returns the path the client opens."""
        if self._server is not None:
            raise RuntimeError("already started")
        server_path, client_path = self._link.open()
        self._server = RtuResponder(server_path, self._answer)
        self._server.start()
        return client_path

    async def stop(self) -> None:
        """Stop serving and release the ttys (idempotent)."""
        if self._server is not None:
            self._server.stop()
            self._server = None
        await self._link.close()

    async def __aenter__(self) -> VirtualMeter:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def client_path(self) -> str:
        """The tty the client opens (after ``start``)."""
        return self._link.paths[1]

    # -- the server's view --------------------------------------------------------------------

    def _answer(self, request: ModbusPDU) -> ModbusPDU | None:
        unit = self._units.get(request.dev_id)
        answered = unit is not None and not unit.silent
        self._seen.append(
            SeenRequest(request.dev_id, request.function_code,
                        int(getattr(request, "address", 0)), int(getattr(request, "count", 0)),
                        answered)
        )
        self._log.append(("rx", request.dev_id))
        if unit is None or not answered:
            return None  # a silent unit, or no such unit on the bus
        self._log.append(("tx", request.dev_id))
        return unit.answer(request)

    def requests(self, unit: int | None = None) -> list[SeenRequest]:
        """Requests received so far (of ``unit``, or all), oldest first."""
        return [r for r in self._seen if unit is None or r.unit == unit]

    def clear_requests(self) -> None:
        self._seen.clear()
        self._log.clear()

    @property
    def wire_log(self) -> list[tuple[str, int]]:
        """("rx", unit) per request and ("tx", unit) per answer, in the order they happened."""
        return list(self._log)

    # -- the outside world --------------------------------------------------------------------

    def _unit(self, unit: int) -> _Unit:
        try:
            return self._units[unit]
        except KeyError:
            raise ValueError(f"no virtual meter with unit id {unit}") from None

    def set_electrical(
        self,
        unit: int,
        voltage_v: list[float],
        current_a: list[float],
        frequency_hz: float = 50.0,
    ) -> None:
        """Per-phase voltages and currents (1 to 3 entries); power follows (V x I)."""
        if not 1 <= len(voltage_v) <= 3 or not 1 <= len(current_a) <= 3:
            raise ValueError("give 1 to 3 phases")
        u = self._unit(unit)
        u.voltage_v = list(voltage_v)
        u.current_a = list(current_a)
        u.frequency_hz = frequency_hz

    def add_energy_wh(self, unit: int, wh: float) -> None:
        """Advance the import counter by ``wh`` (>= 0: a meter never counts backwards)."""
        if wh < 0:
            raise ValueError("energy only grows; use set_energy_wh to inject a bad counter")
        self._unit(unit).energy_import_wh += wh

    def energy_wh(self, unit: int) -> float:
        """The import counter in Wh."""
        return self._unit(unit).energy_import_wh

    def set_energy_wh(self, unit: int, wh: float, *, export_wh: float | None = None) -> None:
        """Set the counters directly (fault injection: may go backwards)."""
        u = self._unit(unit)
        u.energy_import_wh = wh
        if export_wh is not None:
            u.energy_export_wh = export_wh

    def set_silent(self, unit: int, silent: bool) -> None:
        """A silent unit receives requests but never answers (the client times out)."""
        self._unit(unit).silent = silent

    @property
    def wire_stats(self) -> WireStats:
        """Frames, silences between them and the emulation's own lateness (``char_time_s``)."""
        return self._link.stats

    def corrupt_answers(self, count: int) -> None:
        """Flip a CRC byte in the next ``count`` chunks sent to the client (line noise)."""
        self._link.corrupt_answers = count

    def set_value(self, unit: int, quantity: str, value: float) -> None:
        """Override one quantity (e.g. ``float("nan")``) until ``clear_overrides``."""
        u = self._unit(unit)
        if u.model.field(quantity) is None:
            raise ValueError(f"{u.model.name} has no {quantity}")
        u.overrides[quantity] = value

    def set_not_available(self, unit: int, quantity: str) -> None:
        """Serve the model's "not available" sentinel for ``quantity``."""
        u = self._unit(unit)
        spec = u.model.field(quantity)
        if spec is None or spec.type not in u.model.not_available:
            raise ValueError(f"{u.model.name} has no not-available value for {quantity}")
        u.not_available.add(quantity)

    def clear_overrides(self, unit: int) -> None:
        u = self._unit(unit)
        u.overrides.clear()
        u.not_available.clear()
