"""The contract between the hardware layer and everything above it.

Every device the controller drives is described here as a ``typing.Protocol`` with the plain
data it hands back. Each has a real implementation (``hardware.meter``, ``hardware.pilot``,
``hardware.relays``, ``hardware.rfid``) and a simulated one (``hardware.sim``); contract tests
run the same assertions against both.

Rules for implementations:

- Synchronous methods (pilot, relays, inputs) must return within a millisecond: the control
  loop calls them on every tick and must never wait on them.
- Slow or blocking work (Modbus polls, nfcpy) is ``async``; blocking libraries are moved to a
  worker thread with ``asyncio.to_thread`` inside the implementation.
- Faults from the outside world are returned as data (``MeterFault``, ``RelayMismatch``,
  ``ReaderFailure``), never raised out of a loop. Misuse by the caller raises ``ValueError``.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


class PilotState(enum.Enum):
    """IEC 61851-1 control pilot states, decoded from the high level of the CP waveform."""

    A = "A"  # +12 V: no EV
    B = "B"  # +9 V: EV connected, not asking for energy
    C = "C"  # +6 V: EV asks for energy
    D = "D"  # +3 V: EV asks for energy, ventilation required
    E = "E"  # 0 V: short / error
    F = "F"  # -12 V: EVSE unavailable (only when we drive it)


@dataclass(frozen=True, slots=True)
class PilotReading:
    """One decoded sample burst of the control pilot."""

    state: PilotState
    high_v: float
    low_v: float | None  # None while PWM is off (no low level to measure)
    diode_ok: bool = True  # False: PWM is on but the -12 V low level is missing


@runtime_checkable
class ControlPilot(Protocol):
    """CP output (1 kHz PWM) and input (ADC) of one connector."""

    def set_duty(self, duty_percent: float) -> None:
        """Start or change the PWM at ``duty_percent`` (0 < duty <= 100, 0.1 % resolution)."""

    def set_off(self) -> None:
        """Stop PWM: constant +12 V (no charging offered)."""

    def set_state_f(self) -> None:
        """Drive constant -12 V (state F: EVSE unavailable)."""

    @property
    def duty_percent(self) -> float | None:
        """The duty currently output, ``None`` when PWM is off or in state F."""

    def read(self) -> PilotReading:
        """Sample and decode the pilot (debounced, with hysteresis). Fast, never blocks."""


@runtime_checkable
class ProximityPilot(Protocol):
    """PP resistor of a Type 2 socket: the cable's current rating."""

    def cable_rating_a(self) -> int | None:
        """13, 20, 32 or 63; ``None`` when no cable (or no PP circuit on fixed-cable stations)."""


class RelayKind(enum.Enum):
    CONTACTOR = "contactor"
    LOCK = "lock"


class MismatchKind(enum.Enum):
    FAILED_TO_CLOSE = "failed_to_close"  # contactor commanded closed, mirror stays open
    WELDED = "welded"  # contactor commanded open, mirror stays closed
    LOCK_FAILED = "lock_failed"  # lock commanded, feedback says unlocked
    UNLOCK_FAILED = "unlock_failed"  # unlock commanded, feedback says locked


@dataclass(frozen=True, slots=True)
class RelayMismatch:
    """The feedback contact disagreed with the command for longer than its time limit."""

    relay: RelayKind
    kind: MismatchKind
    since: float  # monotonic time of the command


@runtime_checkable
class Contactor(Protocol):
    """Main contactor with its mirror (auxiliary) contact."""

    def close(self, now: float) -> None: ...

    def open(self, now: float) -> None: ...

    @property
    def commanded_closed(self) -> bool: ...

    def mirror_closed(self) -> bool:
        """The auxiliary contact: True when the main contacts are (reported) closed."""

    def check(self, now: float) -> RelayMismatch | None:
        """Compare command and mirror; a mismatch older than the configured limit is returned."""


@runtime_checkable
class ConnectorLock(Protocol):
    """Connector lock (motor with lock/unlock pulses, or solenoid) with its feedback input."""

    def lock(self, now: float) -> None: ...

    def unlock(self, now: float) -> None: ...

    @property
    def commanded_locked(self) -> bool: ...

    def is_locked(self) -> bool:
        """The feedback input."""

    def check(self, now: float) -> RelayMismatch | None:
        """A lock/unlock whose feedback did not follow within the configured limit."""


@runtime_checkable
class ResidualCurrentMonitor(Protocol):
    """RCD / RCM trip input."""

    def tripped(self) -> bool: ...


@runtime_checkable
class PowerSupervisor(Protocol):
    """Mains supervision of a station on a UPS / hold-up supply (station-wide, one input).

    The controller keeps running on the backup supply; when ``mains_ok()`` turns False it stops
    every transaction with reason PowerLoss before going down (OCTT 1.6 032_1).
    """

    def mains_ok(self) -> bool:
        """True while mains is present. Fast, never blocks; a broken wire reads False."""


@dataclass(frozen=True, slots=True)
class MeterReading:
    """Everything one poll read. Energy in Wh, power in W, voltage in V, current in A.

    Per-phase lists hold one entry per phase the meter measures (1 or 3). Quantities the
    register map does not know are ``None``.
    """

    energy_import_wh: float
    energy_export_wh: float | None = None
    power_w: float | None = None
    power_w_phases: list[float] = field(default_factory=list)
    voltage_v: list[float] = field(default_factory=list)
    current_a: list[float] = field(default_factory=list)
    frequency_hz: float | None = None


@dataclass(frozen=True, slots=True)
class MeterFault:
    """The meter did not answer usefully after all retries (timeout, CRC, exception, bad value)."""

    reason: str


@runtime_checkable
class EnergyMeter(Protocol):
    """One energy meter (one Modbus unit id)."""

    @property
    def model(self) -> str: ...

    async def poll(self) -> MeterReading | MeterFault:
        """Read every quantity of the register map. Retries inside; never raises for bus faults.

        An energy value lower than the last good one, NaN, or a "not available" sentinel makes
        the poll a ``MeterFault``; the last good reading is never replaced by a bad one.
        """

    @property
    def requests_per_poll(self) -> int:
        """Modbus requests one poll sends (for the benchmark)."""


@dataclass(frozen=True, slots=True)
class Token:
    """A card presented to the reader."""

    uid: str  # upper-case hex
    type: str  # e.g. "ISO14443A", "ISO14443B", "FeliCa"


@dataclass(frozen=True, slots=True)
class ReaderFailure:
    """The reader disappeared or failed; the implementation keeps trying to re-open it."""

    reason: str


@dataclass(frozen=True, slots=True)
class ReaderRecovered:
    """The reader answers again after a ``ReaderFailure``."""


ReaderEvent = Token | ReaderFailure | ReaderRecovered


@runtime_checkable
class TokenReader(Protocol):
    """RFID / NFC reader: an async stream of cards (each held card reported once)."""

    def events(self) -> AsyncIterator[ReaderEvent]: ...

    async def close(self) -> None: ...


@dataclass(slots=True)
class ConnectorHardware:
    """Every device of one connector. ``lock`` is None on fixed-cable stations."""

    connector: int
    pilot: ControlPilot
    contactor: Contactor
    proximity: ProximityPilot | None = None
    lock: ConnectorLock | None = None
    rcd: ResidualCurrentMonitor | None = None
    meter: EnergyMeter | None = None


@dataclass(slots=True)
class StationHardware:
    """All hardware of a station, real or simulated. ``reader`` is shared by every connector;
    ``power`` (mains supervision) is station-wide, ``None`` when the station has no backup
    supply."""

    connectors: list[ConnectorHardware]
    reader: TokenReader | None = None
    power: PowerSupervisor | None = None
