"""Charging profiles validate in their constructors: misuse raises ValueError."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from chargepoint.core.schedule import (
    ChargingProfile,
    ChargingSchedule,
    Kind,
    Purpose,
    RateUnit,
    Recurrency,
    SchedulePeriod,
)
from chargepoint.core.schedule.profile import from_seconds, to_seconds

from .schedule_support import T0, at, profile

NAIVE = datetime(2026, 3, 29, 12, 0)


def test_a_valid_profile_is_a_frozen_value() -> None:
    p = profile(periods=((0, 16.0), (3600, 10.0, 1)), duration=7200)
    assert p == profile(periods=((0, 16.0), (3600, 10.0, 1)), duration=7200)
    with pytest.raises(AttributeError):
        p.stack_level = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start_period_s": -1, "limit": 6.0}, "start_period_s"),
        ({"start_period_s": 0, "limit": -0.1}, "limit"),
        ({"start_period_s": 0, "limit": math.nan}, "limit"),
        ({"start_period_s": 0, "limit": math.inf}, "limit"),
        ({"start_period_s": 0, "limit": True}, "limit"),
        ({"start_period_s": 0, "limit": 6.0, "number_phases": 0}, "number_phases"),
        ({"start_period_s": 0, "limit": 6.0, "number_phases": 4}, "number_phases"),
        ({"start_period_s": 1.5, "limit": 6.0}, "start_period_s"),
    ],
)
def test_bad_period(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SchedulePeriod(**kwargs)


def _sched(**kwargs: Any) -> ChargingSchedule:
    base: dict[str, Any] = {"rate_unit": RateUnit.AMPS, "periods": (SchedulePeriod(0, 6.0),)}
    base.update(kwargs)
    return ChargingSchedule(**base)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"periods": ()}, "non-empty"),
        ({"periods": [SchedulePeriod(0, 6.0)]}, "tuple"),
        ({"periods": (SchedulePeriod(60, 6.0),)}, "start at 0"),
        ({"periods": (SchedulePeriod(0, 6.0), SchedulePeriod(0, 8.0))}, "increase"),
        (
            {"periods": (SchedulePeriod(0, 6.0), SchedulePeriod(90, 8.0), SchedulePeriod(60, 7.0))},
            "increase",
        ),
        ({"duration_s": 0}, "duration_s"),
        ({"start_schedule": NAIVE}, "timezone-aware"),
        ({"min_charging_rate": -1.0}, "min_charging_rate"),
        ({"rate_unit": "A"}, "RateUnit"),
    ],
)
def test_bad_schedule(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _sched(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"purpose": Purpose.CHARGE_POINT_MAX, "connector": 1}, "connector 0 only"),
        ({"purpose": Purpose.TX, "connector": 0}, "connector > 0"),
        ({"purpose": Purpose.TX_DEFAULT, "transaction_id": 7}, "only a TxProfile"),
        ({"purpose": Purpose.TX, "transaction_id": True}, "transaction_id"),
        ({"kind": Kind.RECURRING}, "recurrency"),
        ({"kind": Kind.RECURRING, "recurrency": Recurrency.DAILY, "schedule": _sched()}, "start"),
        ({"recurrency": Recurrency.WEEKLY}, "only for Recurring"),
        ({"kind": Kind.RELATIVE}, "no start_schedule"),
        ({"schedule": _sched()}, "installed_at"),
        ({"valid_from": at(2), "valid_to": at(1)}, "after valid_from"),
        ({"valid_from": at(2), "valid_to": at(2)}, "after valid_from"),
        ({"valid_to": NAIVE}, "timezone-aware"),
        ({"installed_at": NAIVE}, "timezone-aware"),
        ({"stack_level": -1}, "stack_level"),
        ({"connector": -1}, "connector"),
        ({"schedule": "16 A"}, "ChargingSchedule"),
    ],
)
def test_bad_profile(kwargs: dict[str, Any], message: str) -> None:
    base: dict[str, Any] = {
        "id": 1,
        "connector": 1,
        "stack_level": 0,
        "purpose": Purpose.TX_DEFAULT,
        "kind": Kind.ABSOLUTE,
        "schedule": _sched(start_schedule=T0),
    }
    base.update(kwargs)
    with pytest.raises(ValueError, match=message):
        ChargingProfile(**base)


def test_absolute_without_start_is_fine_with_valid_from_or_installed_at() -> None:
    profile(start=None, valid_from=at(1))
    profile(start=None, installed_at=at(1))


@pytest.mark.parametrize("tx", [7, "b9f7c3e0-tx"])
def test_transaction_id_is_opaque(tx: int | str) -> None:
    assert profile(purpose=Purpose.TX, tx=tx).transaction_id == tx


def test_seconds_are_utc_whatever_the_offset() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert to_seconds(datetime(2026, 3, 29, 14, 0, tzinfo=plus_two)) == to_seconds(at(12))
    assert to_seconds(at(12) + timedelta(microseconds=999_999)) == to_seconds(at(12))
    assert to_seconds(from_seconds(-1)) == -1
    assert from_seconds(to_seconds(at(12))) == at(12)
    with pytest.raises(ValueError, match="timezone-aware"):
        to_seconds(NAIVE)
