"""GetCompositeSchedule: the composite over a window, in A or W, merged and ordered; and the
OCTT 1.6 case 066 situation (ChargePointMax + TxDefault + TxProfile)."""

from __future__ import annotations

from datetime import datetime

import pytest

from chargepoint.core.schedule import (
    CompositePeriod,
    CompositeSchedule,
    Kind,
    Purpose,
    RateUnit,
    Recurrency,
    Schedule,
    Transaction,
)

from .schedule_support import at, profile, schedule


def _periods(composite: CompositeSchedule) -> list[tuple[int, float, int]]:
    return [(p.start_s, p.limit, p.phases) for p in composite.periods]


def octt_066() -> tuple[Schedule, Transaction]:
    """Connector 1 of a 3 x 230 V, 32 A station, a transaction started at 12:00 UTC:

    - ChargePointMaxProfile, connector 0: 20 A, from 12:10 10 A (Absolute)
    - TxDefaultProfile, connector 1: 16 A, from 12:05 12 A (Absolute)
    - TxProfile for the transaction: 4,140 W, after 200 s 11,040 W, for 400 s (Relative)
    """
    start = at(12)
    tx = Transaction(1, start)
    sch = schedule(
        profile(
            1,
            purpose=Purpose.CHARGE_POINT_MAX,
            start=start,
            periods=((0, 20.0), (600, 10.0)),
        ),
        profile(2, start=start, periods=((0, 16.0), (300, 12.0))),
        profile(
            3,
            purpose=Purpose.TX,
            kind=Kind.RELATIVE,
            tx=1,
            unit=RateUnit.WATTS,
            periods=((0, 4_140.0), (200, 11_040.0)),
            duration=400,
        ),
    )
    return sch, tx


def test_octt_066_composite_in_amps() -> None:
    sch, tx = octt_066()
    composite = sch.composite_schedule(1, at(12), 900, RateUnit.AMPS, transaction=tx)
    assert composite.start == at(12) and composite.duration_s == 900
    assert _periods(composite) == [
        (0, 6.0, 3),  # TxProfile 4.14 kW
        (200, 16.0, 3),  # TxProfile 11.04 kW
        (400, 12.0, 3),  # TxProfile over: TxDefault's second period
        (600, 10.0, 3),  # ChargePointMax drops below TxDefault
    ]


def test_octt_066_composite_in_watts() -> None:
    sch, tx = octt_066()
    composite = sch.composite_schedule(1, at(12), 900, RateUnit.WATTS, transaction=tx)
    assert composite.unit is RateUnit.WATTS
    assert _periods(composite) == [
        (0, 4_140.0, 3),
        (200, 11_040.0, 3),
        (400, 8_280.0, 3),
        (600, 6_900.0, 3),
    ]


def test_octt_066_connector_zero_is_the_station_maximum() -> None:
    sch, _ = octt_066()
    composite = sch.composite_schedule(0, at(12), 900)
    assert _periods(composite) == [(0, 20.0, 3), (600, 10.0, 3)]


def test_octt_066_without_the_transaction_is_the_tx_default() -> None:
    sch, _ = octt_066()
    composite = sch.composite_schedule(1, at(12), 900)
    assert _periods(composite) == [(0, 16.0, 3), (300, 12.0, 3), (600, 10.0, 3)]


def test_window_cuts_the_composite_and_offsets_are_from_its_start() -> None:
    sch = schedule(profile(periods=((0, 16.0), (600, 10.0), (1200, 6.0))))
    composite = sch.composite_schedule(1, at(seconds=300), 600)
    assert _periods(composite) == [(0, 16.0, 3), (300, 10.0, 3)]


def test_equal_neighbours_merge() -> None:
    sch = schedule(
        profile(1, periods=((0, 16.0), (600, 16.0), (1200, 8.0))),
        profile(2, purpose=Purpose.CHARGE_POINT_MAX, periods=((0, 32.0), (300, 20.0))),
    )
    assert _periods(sch.composite_schedule(1, at(0), 3600)) == [(0, 16.0, 3), (1200, 8.0, 3)]


def test_phase_change_is_a_new_period_even_at_the_same_amps() -> None:
    sch = schedule(profile(periods=((0, 16.0), (600, 16.0, 1))))
    assert _periods(sch.composite_schedule(1, at(0), 1200)) == [(0, 16.0, 3), (600, 16.0, 1)]
    watts = sch.composite_schedule(1, at(0), 1200, RateUnit.WATTS)
    assert _periods(watts) == [(0, 11_040.0, 3), (600, 3_680.0, 1)]


def test_watts_are_floored_to_a_tenth() -> None:
    # 10 kW on 3 x 230 V is 14.4927... A: the wire says 14.4 A, and back 10,000 W exactly.
    sch = schedule(profile(unit=RateUnit.WATTS, periods=((0, 10_000.0),)))
    assert _periods(sch.composite_schedule(1, at(0), 60)) == [(0, 14.4, 3)]
    assert _periods(sch.composite_schedule(1, at(0), 60, RateUnit.WATTS)) == [(0, 10_000.0, 3)]


def test_cable_and_hardware_cap_the_composite() -> None:
    sch = schedule(profile(periods=((0, 40.0), (600, 10.0))), max_a=32.0)
    got = sch.composite_schedule(1, at(0), 1200, cable_a=20.0)
    assert _periods(got) == [(0, 20.0, 3), (600, 10.0, 3)]


def test_relative_without_transaction_starts_with_the_window() -> None:
    sch = schedule(profile(kind=Kind.RELATIVE, periods=((0, 16.0), (900, 8.0))))
    assert _periods(sch.composite_schedule(1, at(7), 1800)) == [(0, 16.0, 3), (900, 8.0, 3)]


def test_recurring_over_two_days() -> None:
    sch = schedule(
        profile(
            kind=Kind.RECURRING,
            recurrency=Recurrency.DAILY,
            start=at(22),
            periods=((0, 10.0), (8 * 3600, 32.0)),
            duration=10 * 3600,
        ),
        max_a=40.0,
    )
    got = sch.composite_schedule(1, at(12), 2 * 86_400)
    h = 3600
    assert _periods(got) == [
        (0, 40.0, 3),  # nothing before the first night
        (10 * h, 10.0, 3),  # 22:00
        (18 * h, 32.0, 3),  # 06:00
        (20 * h, 40.0, 3),  # 08:00: the duration is over
        (34 * h, 10.0, 3),  # 22:00 the next night
        (42 * h, 32.0, 3),
        (44 * h, 40.0, 3),
    ]


def test_no_profile_is_one_period_of_hardware() -> None:
    got = schedule(max_a=25.0).composite_schedule(2, at(0), 86_400)
    assert got.periods == (CompositePeriod(0, 25.0, 3),)


@pytest.mark.parametrize(
    ("start", "duration", "unit", "message"),
    [
        (at(0), 0, RateUnit.AMPS, "duration_s"),
        (at(0), 1.5, RateUnit.AMPS, "duration_s"),
        (at(0), 60, "W", "unit"),
        (datetime(2026, 3, 29), 60, RateUnit.AMPS, "timezone-aware"),
    ],
)
def test_composite_misuse(start: datetime, duration: int, unit: RateUnit, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        schedule().composite_schedule(1, start, duration, unit)


def test_print_octt_066(capsys: pytest.CaptureFixture[str]) -> None:
    """Prints the 066 composite (``pytest -s -k print_octt_066``) for the report."""
    sch, tx = octt_066()
    for unit in RateUnit:
        c = sch.composite_schedule(1, at(12), 900, unit, transaction=tx)
        print(
            f"connector {c.connector} from {c.start.isoformat()}"
            f" for {c.duration_s} s in {unit.value}:"
        )
        for p in c.periods:
            print(f"  startPeriod {p.start_s:>4}  limit {p.limit:>8}  numberPhases {p.phases}")
    assert "startPeriod  600" in capsys.readouterr().out
