"""The composite limit at an instant and the next instant it can change: stack levels,
validity, Absolute / Relative / Recurring, purposes, W -> A, hardware and cable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from chargepoint.core.schedule import (
    Bound,
    ChargingProfile,
    Circuit,
    Kind,
    Purpose,
    RateUnit,
    Recurrency,
    Schedule,
    Transaction,
    offer,
)

from .schedule_support import T0, at, profile, schedule

TX = Transaction(1, at(10))


def amps(sch: Schedule, when: datetime, connector: int = 1, **kw: object) -> float:
    return sch.limit(connector, when, **kw).amps  # type: ignore[arg-type]


# -- stack levels and validity ----------------------------------------------------------------


def test_no_profile_leaves_the_hardware_and_the_cable() -> None:
    sch = schedule(max_a=32.0)
    assert sch.limit(1, at(1)).bound is Bound.HARDWARE
    lim = sch.limit(1, at(1), cable_a=20.0)
    assert (lim.amps, lim.bound, lim.phases) == (20.0, Bound.CABLE, 3)


def test_highest_stack_level_wins_even_when_higher() -> None:
    sch = schedule(
        profile(1, stack=0, periods=((0, 10.0),)), profile(2, stack=3, periods=((0, 20.0),))
    )
    lim = sch.limit(1, at(1))
    assert (lim.amps, lim.profile_id, lim.bound) == (20.0, 2, Bound.TX_DEFAULT)


def test_equal_stack_levels_resolve_to_the_lower_limit() -> None:
    sch = schedule(profile(1, periods=((0, 20.0),)), profile(2, periods=((0, 10.0),)))
    assert sch.limit(1, at(1)).profile_id == 2


def test_equal_stack_levels_in_watts_compare_on_the_same_phases() -> None:
    # found by the property test: 24 W "on 2 phases" is 0.2 A on a single-phase circuit,
    # more than the other profile's 18.1 W = 0.15 A
    sch = Schedule(
        {1: Circuit(6.0, 1, 120.0)},
        (
            profile(1, purpose=Purpose.CHARGE_POINT_MAX, unit=RateUnit.WATTS, periods=((0, 18.1),)),
            profile(
                2, purpose=Purpose.CHARGE_POINT_MAX, unit=RateUnit.WATTS, periods=((0, 24.0, 2),)
            ),
        ),
    )
    lim = sch.limit(1, at(1))
    assert (lim.profile_id, lim.phases) == (1, 1)
    assert lim.amps == pytest.approx(18.1 / 120)


@pytest.mark.parametrize(
    ("hours", "expected"),
    [
        (0.5, 10.0),  # before valid_from: only stack 0
        (1.0, 20.0),  # valid_from is inclusive
        (2.5, 20.0),
        (3.0, 10.0),  # valid_to is exclusive
        (5.0, 10.0),
    ],
)
def test_validity_window(hours: float, expected: float) -> None:
    sch = schedule(
        profile(1, stack=0, periods=((0, 10.0),)),
        profile(2, stack=1, periods=((0, 20.0),), valid_from=at(1), valid_to=at(3)),
    )
    assert amps(sch, at(hours)) == expected


@pytest.mark.parametrize(
    ("hours", "expected"), [(0.5, 10.0), (1.0, 20.0), (1.99, 20.0), (2.0, 10.0)]
)
def test_after_its_duration_a_profile_gives_way_to_the_lower_stack(
    hours: float, expected: float
) -> None:
    sch = schedule(
        profile(1, stack=0, periods=((0, 10.0),)),
        profile(2, stack=5, periods=((0, 20.0),), start=at(1), duration=3600),
    )
    assert amps(sch, at(hours)) == expected


def test_periods_follow_start_period() -> None:
    sch = schedule(profile(periods=((0, 16.0), (600, 10.0), (1200, 6.0))))
    got = [amps(sch, at(seconds=s)) for s in (-1, 0, 599, 600, 1199, 1200, 99_999)]
    assert got == [32.0, 16.0, 16.0, 10.0, 10.0, 6.0, 6.0]


# -- kinds ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "seconds_after_t0", "expected"),
    [
        # Absolute: anchored at start_schedule = T0
        (Kind.ABSOLUTE, 10 * 3600, 6.0),
        (Kind.ABSOLUTE, 10 * 3600 + 1800, 6.0),
        # Relative: anchored at the transaction's start (T0 + 10 h)
        (Kind.RELATIVE, 10 * 3600, 16.0),
        (Kind.RELATIVE, 10 * 3600 + 1799, 16.0),
        (Kind.RELATIVE, 10 * 3600 + 1800, 6.0),
    ],
)
def test_absolute_versus_relative(kind: Kind, seconds_after_t0: int, expected: float) -> None:
    sch = schedule(profile(purpose=Purpose.TX, kind=kind, periods=((0, 16.0), (1800, 6.0))))
    assert amps(sch, at(seconds=seconds_after_t0), transaction=TX) == expected


def test_relative_without_a_transaction_is_its_first_period() -> None:
    sch = schedule(profile(kind=Kind.RELATIVE, periods=((0, 16.0), (1800, 6.0))))
    assert amps(sch, at(5)) == 16.0
    assert sch.next_change(1, at(5)) is None


def test_relative_with_duration_ends_after_that_long_into_the_transaction() -> None:
    sch = schedule(profile(kind=Kind.RELATIVE, periods=((0, 8.0),), duration=600))
    assert amps(sch, at(seconds=10 * 3600 + 599), transaction=TX) == 8.0
    assert amps(sch, at(seconds=10 * 3600 + 600), transaction=TX) == 32.0


def test_absolute_without_start_schedule_starts_at_valid_from_else_installed_at() -> None:
    by_validity = schedule(profile(start=None, valid_from=at(2), periods=((0, 16.0), (60, 8.0))))
    assert [amps(by_validity, at(2, seconds=s)) for s in (-1, 0, 60)] == [32.0, 16.0, 8.0]
    by_install = schedule(profile(start=None, installed_at=at(3), periods=((0, 16.0), (60, 8.0))))
    assert [amps(by_install, at(3, seconds=s)) for s in (-1, 0, 60)] == [32.0, 16.0, 8.0]


def _night(recurrency: Recurrency, duration: int | None = None) -> Schedule:
    # 22:00 UTC on T0: 10 A, from midnight 16 A, from 06:00 on 32 A -> ends at 08:00 (10 h)
    return schedule(
        profile(
            kind=Kind.RECURRING,
            recurrency=recurrency,
            start=at(22),
            periods=((0, 10.0), (7200, 16.0), (8 * 3600, 20.0)),
            duration=duration,
        ),
        max_a=40.0,
    )


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (at(21), 40.0),  # before the first occurrence nothing recurs
        (at(22), 10.0),
        (at(23, seconds=3599), 10.0),
        (at(0, days=1), 16.0),  # over the day boundary
        (at(6, days=1), 20.0),
        (at(21, days=1, seconds=3599), 20.0),  # last period lasts until the next occurrence
        (at(22, days=1), 10.0),  # wrapped
        (at(1, days=30), 16.0),
    ],
)
def test_daily_recurrence_wraps_over_midnight(when: datetime, expected: float) -> None:
    assert amps(_night(Recurrency.DAILY), when) == expected


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (at(1, days=1), 16.0),
        (at(12, days=1), 20.0),
        (at(23, days=6), 20.0),  # still the first week
        (at(22, days=7), 10.0),  # one week later: wrapped
        (at(1, days=8), 16.0),
        (at(22, days=7 * 52), 10.0),
    ],
)
def test_weekly_recurrence_wraps_over_the_week(when: datetime, expected: float) -> None:
    assert amps(_night(Recurrency.WEEKLY), when) == expected


def test_recurring_duration_cuts_each_occurrence() -> None:
    sch = _night(Recurrency.DAILY, duration=4 * 3600)  # 22:00..02:00 each night
    assert [amps(sch, at(h, days=1)) for h in (1, 2, 12, 22)] == [16.0, 40.0, 40.0, 10.0]


def test_recurring_duration_longer_than_the_cycle_is_cut_at_the_next_occurrence() -> None:
    sch = _night(Recurrency.DAILY, duration=3 * 86_400)
    assert amps(sch, at(22, days=1)) == 10.0


def test_no_local_time_a_daily_profile_keeps_utc_midnight_over_dst() -> None:
    # 2026-03-29 01:00 UTC: Europe's clocks jump; a UTC-midnight schedule must not move.
    sch = schedule(
        profile(
            kind=Kind.RECURRING,
            recurrency=Recurrency.DAILY,
            start=datetime(2026, 3, 27, tzinfo=UTC),
            periods=((0, 10.0), (3600, 16.0)),
        )
    )
    berlin = ZoneInfo("Europe/Berlin")
    for day in (27, 28, 29, 30):
        midnight = datetime(2026, 3, day, tzinfo=UTC)
        assert sch.next_change(1, midnight) == midnight + timedelta(hours=1)
        assert amps(sch, midnight.astimezone(berlin)) == 10.0
        assert amps(sch, (midnight + timedelta(hours=1)).astimezone(berlin)) == 16.0


# -- purposes ---------------------------------------------------------------------------------


def _purposes() -> Schedule:
    return schedule(
        profile(1, purpose=Purpose.CHARGE_POINT_MAX, periods=((0, 24.0),)),
        profile(2, connector=0, periods=((0, 20.0),)),  # TxDefault for every connector
        profile(3, connector=2, periods=((0, 13.0),)),  # TxDefault for connector 2
        profile(4, purpose=Purpose.TX, tx=1, periods=((0, 30.0),)),
        profile(5, purpose=Purpose.TX, connector=2, tx=9, periods=((0, 8.0),)),
    )


@pytest.mark.parametrize(
    ("connector", "transaction", "expected", "bound"),
    [
        (1, None, 20.0, Bound.TX_DEFAULT),  # connector 0's TxDefault
        (1, TX, 24.0, Bound.STATION_MAX),  # TxProfile 30 A capped by the station max
        (1, Transaction(2, at(10)), 20.0, Bound.TX_DEFAULT),  # TxProfile for another tx
        (2, None, 13.0, Bound.TX_DEFAULT),  # its own TxDefault beats connector 0's
        (2, Transaction(9, at(10)), 8.0, Bound.TX),
        (0, None, 24.0, Bound.STATION_MAX),  # the grid connection
    ],
)
def test_purposes_combine(
    connector: int, transaction: Transaction | None, expected: float, bound: Bound
) -> None:
    lim = _purposes().limit(connector, at(11), transaction=transaction)
    assert (lim.amps, lim.bound) == (expected, bound)


def test_tx_profile_without_transaction_id_applies_to_the_running_one_only() -> None:
    sch = schedule(profile(purpose=Purpose.TX, periods=((0, 8.0),)))
    assert amps(sch, at(11)) == 32.0
    assert amps(sch, at(11), transaction=Transaction("any", at(10))) == 8.0


def test_tx_default_takes_over_when_the_tx_profile_ends() -> None:
    sch = schedule(
        profile(1, periods=((0, 12.0),)),
        profile(2, purpose=Purpose.TX, kind=Kind.RELATIVE, periods=((0, 20.0),), duration=60),
    )
    assert amps(sch, at(10), transaction=TX) == 20.0
    assert amps(sch, at(10, seconds=60), transaction=TX) == 12.0


# -- units and phases -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("watts", "number_phases", "circuit_phases", "expected_a", "expected_phases"),
    [
        (11_040.0, None, 3, 16.0, 3),  # 11.04 kW / (3 x 230 V)
        (7_360.0, 1, 3, 32.0, 1),  # one phase: 7.36 kW / 230 V
        (3_680.0, None, 1, 16.0, 1),  # a single-phase circuit
        (6_900.0, 3, 1, 30.0, 1),  # a period cannot add phases the circuit lacks
        (4_140.0, 2, 3, 9.0, 2),
    ],
)
def test_watts_become_amps_per_phase(
    watts: float,
    number_phases: int | None,
    circuit_phases: int,
    expected_a: float,
    expected_phases: int,
) -> None:
    period = (0, watts) if number_phases is None else (0, watts, number_phases)
    sch = schedule(
        profile(unit=RateUnit.WATTS, periods=(period,)), max_a=63.0, phases=circuit_phases
    )
    lim = sch.limit(1, at(1))
    assert lim.amps == pytest.approx(expected_a)
    assert lim.phases == expected_phases


def test_number_phases_of_the_station_max_applies_to_the_connector_profile_in_watts() -> None:
    sch = schedule(
        profile(1, purpose=Purpose.CHARGE_POINT_MAX, periods=((0, 32.0, 1),)),
        profile(2, unit=RateUnit.WATTS, periods=((0, 4_600.0),)),
    )
    lim = sch.limit(1, at(1))
    assert lim.amps == pytest.approx(20.0)
    assert (lim.phases, lim.bound) == (1, Bound.TX_DEFAULT)


def test_circuit_of_connector_zero_defaults_to_the_largest() -> None:
    sch = Schedule({1: Circuit(16.0), 2: Circuit(32.0)})
    assert sch.limit(0, at(1)).amps == 32.0
    assert Schedule({1: Circuit(16.0), 0: Circuit(50.0)}).limit(0, at(1)).amps == 50.0


# -- next_change ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("profiles", "now", "expected"),
    [
        ((profile(periods=((0, 16.0), (600, 8.0))),), at(0), at(seconds=600)),
        ((profile(periods=((0, 16.0), (600, 8.0))),), at(1), None),
        ((profile(start=at(2)),), at(1), at(2)),  # the schedule starts
        ((profile(duration=90),), at(0), at(seconds=90)),  # the duration ends
        ((profile(valid_from=at(3), start=at(0)),), at(1), at(3)),
        ((profile(valid_to=at(4)),), at(1), at(4)),
        ((profile(valid_to=at(4)),), at(4), None),
        (
            (profile(kind=Kind.RECURRING, recurrency=Recurrency.DAILY, start=at(22), duration=60),),
            at(22, seconds=60),
            at(22, days=1),  # the next occurrence
        ),
        (
            (profile(kind=Kind.RECURRING, recurrency=Recurrency.WEEKLY, start=at(22)),),
            at(23),
            at(22, days=7),
        ),
        ((profile(kind=Kind.RELATIVE, periods=((0, 16.0), (900, 8.0))),), at(10), None),
        ((profile(connector=2, duration=60),), at(0), None),  # another connector's
        (
            (profile(1, duration=60), profile(2, purpose=Purpose.CHARGE_POINT_MAX, duration=30)),
            at(0),
            at(seconds=30),
        ),
    ],
)
def test_next_change(
    profiles: tuple[ChargingProfile, ...], now: datetime, expected: datetime | None
) -> None:
    assert schedule(*profiles).next_change(1, now) == expected


def test_next_change_of_a_relative_profile_follows_the_transaction() -> None:
    sch = schedule(profile(kind=Kind.RELATIVE, periods=((0, 16.0), (900, 8.0))))
    assert sch.next_change(1, at(10, seconds=5), transaction=TX) == at(10, seconds=900)


def test_next_change_is_utc() -> None:
    got = schedule(profile(duration=60)).next_change(1, at(0).astimezone(ZoneInfo("Asia/Tokyo")))
    assert got == at(seconds=60) and got is not None and got.utcoffset() == timedelta(0)


# -- offer and misuse -------------------------------------------------------------------------


@pytest.mark.parametrize(("limit", "expected"), [(0.0, None), (5.9, None), (6.0, 6.0), (32, 32.0)])
def test_offer_nothing_below_six_amps(limit: float, expected: float | None) -> None:
    assert offer(limit) == expected


def test_misuse_raises() -> None:
    sch = schedule()
    with pytest.raises(ValueError, match="unknown connector"):
        sch.limit(3, at(1))
    with pytest.raises(ValueError, match="timezone-aware"):
        sch.limit(1, datetime(2026, 3, 29))
    with pytest.raises(ValueError, match="cable_a"):
        sch.limit(1, at(1), cable_a=0.0)
    with pytest.raises(ValueError, match="no circuit"):
        Schedule({1: Circuit(16.0)}, (profile(connector=2),))
    with pytest.raises(ValueError, match="at least one connector"):
        Schedule({0: Circuit(16.0)})
    with pytest.raises(ValueError, match="max_a"):
        Circuit(0.0)
    with pytest.raises(ValueError, match="limit_a"):
        offer(float("nan"))
    assert T0.tzinfo is UTC
