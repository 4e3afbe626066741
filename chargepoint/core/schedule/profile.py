"""Charging profiles as plain values: what OCPP 1.6 (3.13 Smart Charging; types ChargingProfile,
ChargingSchedule, ChargingSchedulePeriod) and OCPP 2.0.1 (K01 SetChargingProfile,
ChargingProfileType) both say, in one vocabulary.

Rules enforced here (misuse raises ``ValueError`` in the constructor, so a profile that exists
is one the evaluator can use; an adapter turns the error into ``Rejected``):

- Datetimes are timezone-aware. The whole package works on the UTC time line in **whole
  seconds** (sub-second parts are floored), with no local time and no calendar arithmetic:
  a day is 86,400 s and a week 604,800 s, so DST never shifts a schedule.
- Periods: at least one, the first starts at 0 s, start times strictly increase
  (ChargingSchedulePeriod: "startPeriod ... also defines the stop time of the previous
  period"), limits finite and >= 0, ``number_phases`` 1..3 when given.
- ``ChargePointMaxProfile`` lives on connector 0 only, ``TxProfile`` on a connector > 0 only,
  and only a ``TxProfile`` names a transaction (1.6 SetChargingProfile.req and
  ChargingProfile.transactionId; the same rules in 2.0.1 K01).
- ``Recurring`` needs a recurrency and a start_schedule; a recurrency on another kind is an
  error. ``Relative`` has no start_schedule: it starts with the transaction
  (1.6 ChargingProfileKindType; 2.0.1 K01).
- ``Absolute`` without start_schedule starts at valid_from, else at ``installed_at`` (the
  instant the adapter accepted it); one of the two must be there. See docs/smart-charging.md.
"""

from __future__ import annotations

import enum
import itertools
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DAY_S = 86_400
WEEK_S = 7 * DAY_S


def to_seconds(when: datetime, what: str = "time") -> int:
    """Whole UTC seconds since the epoch (floored). Raises ``ValueError`` for a naive datetime."""
    if not isinstance(when, datetime) or when.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, got {when!r}")
    return (when - EPOCH) // timedelta(seconds=1)


def from_seconds(seconds: int) -> datetime:
    """The UTC datetime of ``seconds`` since the epoch."""
    return EPOCH + timedelta(seconds=seconds)


class Purpose(enum.Enum):
    """ChargingProfilePurpose (2.0.1 calls the first one ChargingStationMaxProfile)."""

    CHARGE_POINT_MAX = "ChargePointMaxProfile"
    TX_DEFAULT = "TxDefaultProfile"
    TX = "TxProfile"


class Kind(enum.Enum):
    """ChargingProfileKind: where the schedule's time line starts."""

    ABSOLUTE = "Absolute"
    RECURRING = "Recurring"
    RELATIVE = "Relative"


class Recurrency(enum.Enum):
    """RecurrencyKind, with the length of one cycle in seconds."""

    DAILY = "Daily"
    WEEKLY = "Weekly"

    @property
    def cycle_s(self) -> int:
        return DAY_S if self is Recurrency.DAILY else WEEK_S


class RateUnit(enum.Enum):
    """ChargingRateUnit: amperes per phase or watts in total."""

    AMPS = "A"
    WATTS = "W"


def _check_number(value: float, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what} must be a number, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{what} must be finite and >= 0, got {value!r}")


def _check_int(value: int, what: str, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{what} must be an integer >= {minimum}, got {value!r}")


@dataclass(frozen=True, slots=True)
class SchedulePeriod:
    """ChargingSchedulePeriod: from ``start_period_s`` after the schedule's start until the
    next period's start, charge at most ``limit`` (in the schedule's unit) on
    ``number_phases`` phases (None: the connector's own phase count)."""

    start_period_s: int
    limit: float
    number_phases: int | None = None

    def __post_init__(self) -> None:
        _check_int(self.start_period_s, "start_period_s", 0)
        _check_number(self.limit, "limit")
        if self.number_phases is not None and self.number_phases not in (1, 2, 3):
            raise ValueError(f"number_phases must be 1, 2 or 3, got {self.number_phases!r}")


@dataclass(frozen=True, slots=True)
class ChargingSchedule:
    """ChargingSchedule. ``duration_s`` None: the last period lasts until the profile ends
    (for a recurring profile: until the next cycle starts)."""

    rate_unit: RateUnit
    periods: tuple[SchedulePeriod, ...]
    start_schedule: datetime | None = None
    duration_s: int | None = None
    min_charging_rate: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.rate_unit, RateUnit):
            raise ValueError(f"rate_unit must be a RateUnit, got {self.rate_unit!r}")
        if not isinstance(self.periods, tuple) or not self.periods:
            raise ValueError("periods must be a non-empty tuple of SchedulePeriod")
        if not all(isinstance(p, SchedulePeriod) for p in self.periods):
            raise ValueError("periods must be a non-empty tuple of SchedulePeriod")
        if self.periods[0].start_period_s != 0:
            raise ValueError("the first period must start at 0 s")
        starts = [p.start_period_s for p in self.periods]
        if any(b <= a for a, b in itertools.pairwise(starts)):
            raise ValueError(f"period starts must strictly increase, got {starts}")
        if self.start_schedule is not None:
            to_seconds(self.start_schedule, "start_schedule")
        if self.duration_s is not None:
            _check_int(self.duration_s, "duration_s", 1)
        if self.min_charging_rate is not None:
            _check_number(self.min_charging_rate, "min_charging_rate")


@dataclass(frozen=True, slots=True)
class ChargingProfile:
    """One installed charging profile. ``connector`` is where it was set (0: the whole
    station). ``transaction_id`` is opaque (1.6: int, 2.0.1: str); a ``TxProfile`` without one
    applies to whatever transaction runs on its connector (the adapter binds or deletes it).
    ``installed_at`` is when the adapter accepted the profile; only an ``Absolute`` profile
    without start_schedule and valid_from needs it."""

    id: int
    connector: int
    stack_level: int
    purpose: Purpose
    kind: Kind
    schedule: ChargingSchedule
    recurrency: Recurrency | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    transaction_id: int | str | None = None
    installed_at: datetime | None = None

    def __post_init__(self) -> None:
        _check_int(self.id, "id", -(2**63))
        _check_int(self.connector, "connector", 0)
        _check_int(self.stack_level, "stack_level", 0)
        if not isinstance(self.purpose, Purpose) or not isinstance(self.kind, Kind):
            raise ValueError("purpose must be a Purpose and kind a Kind")
        if not isinstance(self.schedule, ChargingSchedule):
            raise ValueError("schedule must be a ChargingSchedule")
        self._check_placement()
        self._check_kind()
        frm = None if self.valid_from is None else to_seconds(self.valid_from, "valid_from")
        to = None if self.valid_to is None else to_seconds(self.valid_to, "valid_to")
        if frm is not None and to is not None and to <= frm:
            raise ValueError("valid_to must be after valid_from")
        if self.installed_at is not None:
            to_seconds(self.installed_at, "installed_at")

    def _check_placement(self) -> None:
        if self.purpose is Purpose.CHARGE_POINT_MAX and self.connector != 0:
            raise ValueError("a ChargePointMaxProfile is set on connector 0 only")
        if self.purpose is Purpose.TX and self.connector == 0:
            raise ValueError("a TxProfile is set on a connector > 0 only")
        if self.transaction_id is not None:
            if self.purpose is not Purpose.TX:
                raise ValueError("only a TxProfile names a transaction")
            if isinstance(self.transaction_id, bool) or not isinstance(
                self.transaction_id, int | str
            ):
                raise ValueError(f"transaction_id must be int or str: {self.transaction_id!r}")

    def _check_kind(self) -> None:
        start = self.schedule.start_schedule
        if self.kind is Kind.RECURRING:
            if not isinstance(self.recurrency, Recurrency):
                raise ValueError("a Recurring profile needs a recurrency (Daily or Weekly)")
            if start is None:
                raise ValueError("a Recurring profile needs a start_schedule")
        elif self.recurrency is not None:
            raise ValueError(f"recurrency is only for Recurring profiles, not {self.kind.value}")
        if self.kind is Kind.RELATIVE and start is not None:
            raise ValueError("a Relative profile has no start_schedule: it starts with charging")
        if (
            self.kind is Kind.ABSOLUTE
            and start is None
            and self.valid_from is None
            and self.installed_at is None
        ):
            raise ValueError(
                "an Absolute profile without start_schedule and valid_from needs installed_at"
            )
