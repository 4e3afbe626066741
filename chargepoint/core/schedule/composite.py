"""The composite limit of a connector: what every installed profile, the hardware and the
cable allow together, now (``Schedule.limit``), when that can next change
(``Schedule.next_change``) and over a window (``Schedule.composite_schedule``, for
GetCompositeSchedule in 1.6 and 2.0.1).

How the limit of connector ``c`` at ``t`` is made (OCPP 1.6 3.13.1 "Charging profile
purposes", 3.13.2 "Stacking charging profiles", 3.13.3 "Combining charging profile purposes";
2.0.1 K01/K08):

1. Station maximum: the ChargePointMaxProfile in force with the highest stack level.
2. Connector profile: the first of these groups that has a profile in force, and in it the
   highest stack level: TxProfiles on ``c`` for the running transaction (those naming it, or
   naming none); TxDefaultProfiles on ``c``; TxDefaultProfiles on connector 0.
   Equal stack levels (the adapter should never keep both) resolve to the lower limit.
3. Limit = min(station maximum, connector profile, the circuit's hardware maximum, the
   cable's rating from PP), in amperes per phase. A term with no profile in force drops out.

Units: a W limit becomes amperes as W / (voltage_v * phases). ``phases`` is the least of the
circuit's phases and the ``number_phases`` of the periods in force (a period without one
means the circuit's own phase count; 2.0.1 would assume 3 on AC, the same for a 3-phase
station). The station maximum bounds each connector on its own: sharing it between
connectors is local load management's job, not this module's.

Connector 0 (GetCompositeSchedule for the grid connection): only the station maximum and the
circuit given for connector 0 (default: the largest connector's circuit).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from ..duty import MIN_CURRENT_A
from .evaluate import next_boundary, period_at
from .profile import (
    ChargingProfile,
    Purpose,
    RateUnit,
    SchedulePeriod,
    from_seconds,
    to_seconds,
)


def _positive(value: float, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what} must be a number, got {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{what} must be finite and > 0, got {value!r}")


@dataclass(frozen=True, slots=True)
class Circuit:
    """What a connector's supply can physically deliver: the hardware maximum in amperes per
    phase (contactor, wiring, breaker), its phase count and the nominal phase voltage."""

    max_a: float
    phases: int = 3
    voltage_v: float = 230.0

    def __post_init__(self) -> None:
        _positive(self.max_a, "max_a")
        _positive(self.voltage_v, "voltage_v")
        if self.phases not in (1, 2, 3):
            raise ValueError(f"phases must be 1, 2 or 3, got {self.phases!r}")


@dataclass(frozen=True, slots=True)
class Transaction:
    """The transaction running on a connector: its id (as TxProfiles name it) and start,
    where its Relative profiles begin."""

    id: int | str
    started_at: datetime

    def __post_init__(self) -> None:
        to_seconds(self.started_at, "started_at")


class Bound(enum.Enum):
    """Which term of the composite is the limiting one."""

    STATION_MAX = "ChargePointMaxProfile"
    TX = "TxProfile"
    TX_DEFAULT = "TxDefaultProfile"
    HARDWARE = "hardware"
    CABLE = "cable"
    SITE = "site"  # local load management (``site.allocate``), combined by ``enforce``


_BOUND_OF = {
    Purpose.CHARGE_POINT_MAX: Bound.STATION_MAX,
    Purpose.TX: Bound.TX,
    Purpose.TX_DEFAULT: Bound.TX_DEFAULT,
}


@dataclass(frozen=True, slots=True)
class Limit:
    """The composite limit at one instant: amperes per phase on ``phases`` phases, what set
    it and, when a profile did, that profile's id. May be below 6 A (see ``offer``)."""

    amps: float
    phases: int
    bound: Bound
    profile_id: int | None = None


@dataclass(frozen=True, slots=True)
class CompositePeriod:
    """From ``start_s`` after the composite's start until the next period: at most ``limit``
    (in the composite's unit, floored to 0.1) on ``phases`` phases."""

    start_s: int
    limit: float
    phases: int


@dataclass(frozen=True, slots=True)
class CompositeSchedule:
    """GetCompositeSchedule's answer: ordered, non-overlapping periods that cover
    ``[start, start + duration_s)``; neighbours always differ."""

    connector: int
    start: datetime
    duration_s: int
    unit: RateUnit
    periods: tuple[CompositePeriod, ...]


def offer(limit_a: float) -> float | None:
    """The current to offer on the pilot for a composite limit, or None below 6 A: IEC 61851-1
    lets no EVSE offer less, so the caller switches PWM off (the EV pauses)."""
    if isinstance(limit_a, bool) or not isinstance(limit_a, int | float) or math.isnan(limit_a):
        raise ValueError(f"limit_a must be a number, got {limit_a!r}")
    return float(limit_a) if limit_a >= MIN_CURRENT_A else None


def _floor_tenth(value: float) -> float:
    # OCPP limits carry one decimal; floor so the wire never says more than allowed. The
    # epsilon keeps 2.3 (22.999... tenths in binary) at 2.3.
    return math.floor(value * 10 + 1e-6) / 10


_Active = tuple[ChargingProfile, SchedulePeriod]


@dataclass(frozen=True, slots=True)
class Schedule:
    """The installed profiles and the circuits of connectors 1..N (0 optional). An immutable
    value: rebuild it (``dataclasses.replace``) when a profile is set or cleared.

    Every instant is a timezone-aware datetime (any offset; the arithmetic is on UTC seconds,
    floored). Misuse (unknown connector, naive datetime, a profile on a connector without a
    circuit) raises ``ValueError``."""

    circuits: Mapping[int, Circuit]
    profiles: tuple[ChargingProfile, ...] = field(default=())

    def __post_init__(self) -> None:
        circuits = dict(self.circuits)
        if not any(isinstance(c, int) and c >= 1 for c in circuits):
            raise ValueError("at least one connector (>= 1) needs a circuit")
        for connector, circuit in circuits.items():
            if isinstance(connector, bool) or not isinstance(connector, int) or connector < 0:
                raise ValueError(f"connector must be an integer >= 0, got {connector!r}")
            if not isinstance(circuit, Circuit):
                raise ValueError(f"circuit of connector {connector} must be a Circuit")
        if 0 not in circuits:
            circuits[0] = max(circuits.values(), key=lambda c: c.max_a * c.phases)
        object.__setattr__(self, "circuits", circuits)
        if not isinstance(self.profiles, tuple):
            raise ValueError("profiles must be a tuple of ChargingProfile")
        for profile in self.profiles:
            if not isinstance(profile, ChargingProfile):
                raise ValueError(f"not a ChargingProfile: {profile!r}")
            if profile.connector not in circuits:
                raise ValueError(
                    f"profile {profile.id}: connector {profile.connector} has no circuit"
                )

    # -- queries --------------------------------------------------------------------------

    def limit(
        self,
        connector: int,
        now: datetime,
        *,
        transaction: Transaction | None = None,
        cable_a: float | None = None,
    ) -> Limit:
        """The composite limit of ``connector`` at ``now`` (amperes per phase)."""
        circuit = self._circuit(connector, cable_a)
        anchor = None if transaction is None else to_seconds(transaction.started_at)
        t = to_seconds(now, "now")
        return self._limit_at(connector, circuit, t, anchor, transaction, cable_a)

    def next_change(
        self, connector: int, now: datetime, *, transaction: Transaction | None = None
    ) -> datetime | None:
        """The first instant after ``now`` at which ``limit`` of ``connector`` can change
        (period start, validity edge, end of a duration, next recurrence), or None if it never
        will. Set one timer for it and ask ``limit`` again when it fires; re-ask after any
        change of profiles, transaction or cable."""
        self._circuit(connector, None)
        anchor = None if transaction is None else to_seconds(transaction.started_at)
        t = self._next(connector, to_seconds(now, "now"), anchor, transaction)
        return None if t is None else from_seconds(t)

    def composite_schedule(
        self,
        connector: int,
        start: datetime,
        duration_s: int,
        unit: RateUnit = RateUnit.AMPS,
        *,
        transaction: Transaction | None = None,
        cable_a: float | None = None,
    ) -> CompositeSchedule:
        """The composite over ``[start, start + duration_s)`` in ``unit`` (W = A x voltage x
        phases). Without a transaction, Relative profiles start at ``start`` (what a
        transaction starting then would get)."""
        circuit = self._circuit(connector, cable_a)
        if isinstance(duration_s, bool) or not isinstance(duration_s, int) or duration_s < 1:
            raise ValueError(f"duration_s must be an integer >= 1, got {duration_s!r}")
        if not isinstance(unit, RateUnit):
            raise ValueError(f"unit must be a RateUnit, got {unit!r}")
        t0 = to_seconds(start, "start")
        anchor = t0 if transaction is None else to_seconds(transaction.started_at)
        periods: list[CompositePeriod] = []
        t: int | None = t0
        while t is not None and t < t0 + duration_s:
            lim = self._limit_at(connector, circuit, t, anchor, transaction, cable_a)
            value = lim.amps
            if unit is RateUnit.WATTS:
                value = lim.amps * circuit.voltage_v * lim.phases
            value = _floor_tenth(value)
            if not periods or (periods[-1].limit, periods[-1].phases) != (value, lim.phases):
                periods.append(CompositePeriod(t - t0, value, lim.phases))
            t = self._next(connector, t, anchor, transaction)
        return CompositeSchedule(connector, from_seconds(t0), duration_s, unit, tuple(periods))

    # -- internals ------------------------------------------------------------------------

    def _circuit(self, connector: int, cable_a: float | None) -> Circuit:
        if isinstance(connector, bool) or connector not in self.circuits:
            raise ValueError(f"unknown connector {connector!r}")
        if cable_a is not None:
            _positive(cable_a, "cable_a")
        return self.circuits[connector]

    def _groups(
        self, connector: int, transaction: Transaction | None
    ) -> tuple[list[ChargingProfile], list[list[ChargingProfile]]]:
        """(station maximum profiles, connector profile groups in order of precedence)."""
        station = [p for p in self.profiles if p.purpose is Purpose.CHARGE_POINT_MAX]
        if connector == 0:
            return station, []
        tx = [
            p
            for p in self.profiles
            if p.purpose is Purpose.TX
            and p.connector == connector
            and transaction is not None
            and p.transaction_id in (None, transaction.id)
        ]
        defaults = [p for p in self.profiles if p.purpose is Purpose.TX_DEFAULT]
        own = [p for p in defaults if p.connector == connector]
        shared = [p for p in defaults if p.connector == 0]
        return station, [tx, own, shared]

    @staticmethod
    def _amps(period: SchedulePeriod, unit: RateUnit, circuit: Circuit, phases: int) -> float:
        if unit is RateUnit.AMPS:
            return period.limit
        return period.limit / (circuit.voltage_v * phases)

    @staticmethod
    def _top(group: Iterable[ChargingProfile], t: int, anchor: int | None) -> list[_Active]:
        """The profiles of ``group`` in force at ``t`` with the highest stack level (more than
        one only when the adapter kept equal stack levels: then all count, the least wins)."""
        active = [(p, q) for p in group if (q := period_at(p, t, anchor)) is not None]
        top = max((p.stack_level for p, _ in active), default=None)
        return [(p, q) for p, q in active if p.stack_level == top]

    def _limit_at(
        self,
        connector: int,
        circuit: Circuit,
        t: int,
        anchor: int | None,
        transaction: Transaction | None,
        cable_a: float | None,
    ) -> Limit:
        station_group, groups = self._groups(connector, transaction)
        in_force = self._top(station_group, t, anchor)
        for group in groups:
            found = self._top(group, t, anchor)
            if found:
                in_force += found
                break
        phases = min(
            [circuit.phases] + [q.number_phases for _, q in in_force if q.number_phases]
        )
        terms: list[Limit] = [
            Limit(
                self._amps(q, p.schedule.rate_unit, circuit, phases),
                phases,
                _BOUND_OF[p.purpose],
                p.id,
            )
            for p, q in in_force
        ]
        terms.append(Limit(float(circuit.max_a), phases, Bound.HARDWARE))
        if cable_a is not None:
            terms.append(Limit(float(cable_a), phases, Bound.CABLE))
        return min(terms, key=lambda term: term.amps)

    def _next(
        self, connector: int, t: int, anchor: int | None, transaction: Transaction | None
    ) -> int | None:
        station_group, groups = self._groups(connector, transaction)
        relevant = station_group + [p for group in groups for p in group]
        edges = [e for p in relevant if (e := next_boundary(p, t, anchor)) is not None]
        return min(edges) if edges else None
