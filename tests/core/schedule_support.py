"""Builders for the smart-charging tests: short profiles on a fixed UTC day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chargepoint.core.schedule import (
    ChargingProfile,
    ChargingSchedule,
    Circuit,
    Kind,
    Purpose,
    RateUnit,
    Recurrency,
    Schedule,
    SchedulePeriod,
)

# 2026-03-29 is the EU's switch to summer time: nothing here may notice.
T0 = datetime(2026, 3, 29, 0, 0, tzinfo=UTC)


def at(hours: float = 0, *, days: int = 0, seconds: int = 0) -> datetime:
    """``T0`` plus the given offset."""
    return T0 + timedelta(days=days, hours=hours, seconds=seconds)


def profile(
    pid: int = 1,
    *,
    connector: int = 1,
    stack: int = 0,
    purpose: Purpose = Purpose.TX_DEFAULT,
    kind: Kind = Kind.ABSOLUTE,
    periods: tuple[tuple[int, float] | tuple[int, float, int], ...] = ((0, 16.0),),
    unit: RateUnit = RateUnit.AMPS,
    start: datetime | None = T0,
    duration: int | None = None,
    recurrency: Recurrency | None = None,
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
    tx: int | str | None = None,
    installed_at: datetime | None = None,
) -> ChargingProfile:
    """A profile; ``start`` is dropped for Relative ones."""
    if purpose is Purpose.CHARGE_POINT_MAX:
        connector = 0
    return ChargingProfile(
        id=pid,
        connector=connector,
        stack_level=stack,
        purpose=purpose,
        kind=kind,
        schedule=ChargingSchedule(
            rate_unit=unit,
            periods=tuple(SchedulePeriod(*p) for p in periods),
            start_schedule=None if kind is Kind.RELATIVE else start,
            duration_s=duration,
        ),
        recurrency=recurrency,
        valid_from=valid_from,
        valid_to=valid_to,
        transaction_id=tx,
        installed_at=installed_at,
    )


def schedule(*profiles: ChargingProfile, max_a: float = 32.0, phases: int = 3) -> Schedule:
    """Two connectors on 3 x 230 V circuits of ``max_a``."""
    circuit = Circuit(max_a, phases, 230.0)
    return Schedule({1: circuit, 2: circuit}, tuple(profiles))
