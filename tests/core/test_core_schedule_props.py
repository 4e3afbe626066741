"""Properties of the composite schedule, against a deliberately naive oracle: never above a
profile in force, the hardware or the cable; periods ordered, non-overlapping and covering
the window; recurrences wrap by whole UTC days and weeks; no local time anywhere."""

from __future__ import annotations

import itertools
import math
import os
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

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
    Transaction,
)
from chargepoint.core.schedule.profile import from_seconds, to_seconds

from .schedule_support import T0

DAY = 86_400
# A third of the stateful core tests' knob: these run four properties.
EXAMPLES = settings(
    max_examples=max(1, int(os.environ.get("CHARGEPOINT_HYPOTHESIS_EXAMPLES", "300")) // 3),
    deadline=None,
)
ZONES = [ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York"), ZoneInfo("Australia/Lord_Howe")]

offsets = st.integers(-3 * DAY, 12 * DAY)
DURATIONS = st.sampled_from([600, 4 * 3600, 20 * 3600, 2 * DAY])


def when(offset: int) -> datetime:
    return T0 + timedelta(seconds=offset)


@st.composite
def charging_profiles(draw: st.DrawFn, pid: int, kind: Kind | None = None) -> ChargingProfile:
    purpose = draw(st.sampled_from(Purpose))
    if purpose is Purpose.CHARGE_POINT_MAX:
        connector = 0
    else:
        connector = draw(st.sampled_from([1, 2] if purpose is Purpose.TX else [0, 1, 2]))
    kind = kind or draw(st.sampled_from(Kind))
    unit = draw(st.sampled_from(RateUnit))
    top = 630 if unit is RateUnit.AMPS else 440_000
    # typical values first (hypothesis would otherwise favour 1 s schedules), then any
    some_start = st.one_of(st.sampled_from([1800, 6 * 3600, 23 * 3600]), st.integers(1, 2 * DAY))
    starts = sorted(draw(st.sets(some_start, max_size=3)) | {0})
    periods = tuple(
        SchedulePeriod(
            s, draw(st.integers(0, top)) / 10, draw(st.one_of(st.none(), st.integers(1, 3)))
        )
        for s in starts
    )
    start = None if kind is Kind.RELATIVE else when(draw(offsets))
    if kind is Kind.ABSOLUTE and draw(st.booleans()):
        start = None
    valid_from = draw(st.one_of(st.none(), offsets.map(when)))
    valid_to = draw(st.one_of(st.none(), offsets.map(when)))
    if valid_from is not None and valid_to is not None and valid_to <= valid_from:
        valid_from, valid_to = valid_to - timedelta(seconds=1), valid_from
    return ChargingProfile(
        id=pid,
        connector=connector,
        stack_level=draw(st.integers(0, 3)),
        purpose=purpose,
        kind=kind,
        schedule=ChargingSchedule(
            unit, periods, start, draw(st.one_of(st.none(), DURATIONS, st.integers(1, 3 * DAY)))
        ),
        recurrency=draw(st.sampled_from(Recurrency)) if kind is Kind.RECURRING else None,
        valid_from=valid_from,
        valid_to=valid_to,
        transaction_id=draw(st.sampled_from([None, 1, 2])) if purpose is Purpose.TX else None,
        installed_at=when(draw(offsets)),
    )


@st.composite
def situations(draw: st.DrawFn) -> tuple[Schedule, int, Transaction | None, float | None]:
    """(schedule, connector, transaction, cable rating)."""
    n = draw(st.integers(0, 5))
    profiles = tuple(draw(charging_profiles(pid)) for pid in range(n))
    circuit = Circuit(
        draw(st.integers(60, 800)) / 10,
        draw(st.sampled_from([1, 3])),
        draw(st.sampled_from([120.0, 230.0, 240.0])),
    )
    sch = Schedule({1: circuit, 2: circuit}, profiles)
    tx = draw(
        st.one_of(st.none(), st.builds(Transaction, st.sampled_from([1, 2]), offsets.map(when)))
    )
    cable = draw(st.one_of(st.none(), st.sampled_from([13.0, 20.0, 32.0, 63.0])))
    return sch, draw(st.sampled_from([0, 1, 1, 2])), tx, cable


# -- the oracle: the rules of docs/smart-charging.md, written the slow way --------------------


def oracle_period(p: ChargingProfile, t: int, anchor: int | None) -> SchedulePeriod | None:
    if p.valid_from is not None and t < to_seconds(p.valid_from):
        return None
    if p.valid_to is not None and t >= to_seconds(p.valid_to):
        return None
    length = p.schedule.duration_s
    if p.kind is Kind.RELATIVE:
        base = t if anchor is None else anchor
    else:
        first = p.schedule.start_schedule or p.valid_from or p.installed_at
        assert first is not None
        base = to_seconds(first)
        if p.kind is Kind.RECURRING and t >= base:
            assert p.recurrency is not None
            cycle = DAY if p.recurrency is Recurrency.DAILY else 7 * DAY
            while base + cycle <= t:
                base += cycle
            length = cycle if length is None else min(length, cycle)
    if t < base or (length is not None and t >= base + length):
        return None
    return [q for q in p.schedule.periods if q.start_period_s <= t - base][-1]


def oracle_terms(
    sch: Schedule,
    connector: int,
    t: int,
    anchor: int | None,
    tx: Transaction | None,
    cable: float | None,
) -> list[float]:
    """Amps of every term of the composite that is in force at ``t``."""
    circuit = sch.circuits[connector]

    def winner(group: list[ChargingProfile]) -> list[tuple[ChargingProfile, SchedulePeriod]]:
        live = [(p, q) for p in group if (q := oracle_period(p, t, anchor)) is not None]
        top = max((p.stack_level for p, _ in live), default=None)
        return [(p, q) for p, q in live if p.stack_level == top]

    station = winner([p for p in sch.profiles if p.purpose is Purpose.CHARGE_POINT_MAX])
    chosen = list(station)
    if connector:
        for group in (
            [
                p
                for p in sch.profiles
                if p.purpose is Purpose.TX
                and p.connector == connector
                and tx is not None
                and p.transaction_id in (None, tx.id)
            ],
            [
                p
                for p in sch.profiles
                if p.purpose is Purpose.TX_DEFAULT and p.connector == connector
            ],
            [p for p in sch.profiles if p.purpose is Purpose.TX_DEFAULT and p.connector == 0],
        ):
            if found := winner(group):
                chosen.extend(found)
                break
    phases = min([circuit.phases] + [q.number_phases or 3 for _, q in chosen])
    terms = [circuit.max_a] + ([cable] if cable is not None else [])
    for p, q in chosen:
        if p.schedule.rate_unit is RateUnit.AMPS:
            terms.append(q.limit)
        else:
            terms.append(q.limit / (circuit.voltage_v * min(phases, q.number_phases or 3)))
    return terms


def oracle_boundaries(p: ChargingProfile, hi: int, anchor: int | None) -> set[int]:
    """Every instant up to ``hi`` at which ``p`` may start, stop or change period."""
    edges = {to_seconds(d) for d in (p.valid_from, p.valid_to) if d is not None}
    starts = [q.start_period_s for q in p.schedule.periods]
    length = p.schedule.duration_s
    if p.kind is Kind.RELATIVE:
        bases = [] if anchor is None else [anchor]
    else:
        first = p.schedule.start_schedule or p.valid_from or p.installed_at
        assert first is not None
        bases = [to_seconds(first)]
        if p.kind is Kind.RECURRING:
            cycle = DAY if p.recurrency is Recurrency.DAILY else 7 * DAY
            while bases[-1] + cycle <= hi:
                bases.append(bases[-1] + cycle)
    for base in bases:
        edges |= {base + s for s in starts}
        if length is not None:
            edges.add(base + length)
    return edges


# -- properties --------------------------------------------------------------------------------


@EXAMPLES
@given(situations(), offsets, st.integers(1, 4 * DAY), st.sampled_from(RateUnit), st.data())
def test_composite_is_ordered_covers_the_window_and_respects_every_term(
    situation: tuple[Schedule, int, Transaction | None, float | None],
    start: int,
    duration: int,
    unit: RateUnit,
    data: st.DataObject,
) -> None:
    sch, connector, tx, cable = situation
    composite = sch.composite_schedule(
        connector, when(start), duration, unit, transaction=tx, cable_a=cable
    )
    periods = composite.periods
    assert periods and periods[0].start_s == 0 and periods[-1].start_s < duration
    assert all(a.start_s < b.start_s for a, b in itertools.pairwise(periods))
    assert all((a.limit, a.phases) != (b.limit, b.phases) for a, b in itertools.pairwise(periods))
    t0 = to_seconds(when(start))
    anchor = t0 if tx is None else to_seconds(tx.started_at)
    circuit = sch.circuits[connector]
    samples = {p.start_s for p in periods} | {p.start_s - 1 for p in periods[1:]} | {duration - 1}
    samples |= set(data.draw(st.lists(st.integers(0, duration - 1), max_size=5)))
    for offset in samples:
        period = [p for p in periods if p.start_s <= offset][-1]
        reported = period.limit
        if unit is RateUnit.WATTS:
            reported /= circuit.voltage_v * period.phases
        terms = oracle_terms(sch, connector, t0 + offset, anchor, tx, cable)
        assert all(reported <= term + 1e-6 for term in terms), (offset, reported, terms)
        # ... and no lower than needed: the least term, floored to 0.1 in the wire's unit
        scale = 1.0 if unit is RateUnit.AMPS else circuit.voltage_v * period.phases
        assert reported >= min(terms) - (0.1 + 1e-6) / scale


@EXAMPLES
@given(situations(), offsets, st.data())
def test_limit_is_the_least_term_and_holds_until_next_change(
    situation: tuple[Schedule, int, Transaction | None, float | None],
    now: int,
    data: st.DataObject,
) -> None:
    sch, connector, tx, cable = situation
    limit = sch.limit(connector, when(now), transaction=tx, cable_a=cable)
    anchor = None if tx is None else to_seconds(tx.started_at)
    t_now = to_seconds(when(now))
    assert math.isclose(limit.amps, min(oracle_terms(sch, connector, t_now, anchor, tx, cable)))
    change = sch.next_change(connector, when(now), transaction=tx)
    # no change before next_change (or ever): look right after now, right before the change,
    # and at random instants in between (up to 40 days when nothing changes any more)
    end = t_now + 40 * DAY if change is None else to_seconds(change)
    assert end > t_now
    inside = st.integers(t_now, end - 1)
    for t in {t_now + 1, end - 1, *data.draw(st.lists(inside, min_size=3, max_size=3))}:
        if t < end:
            assert sch.limit(connector, from_seconds(t), transaction=tx, cable_a=cable) == limit
    # complete check: the limit is piecewise constant between the oracle's boundaries
    for p in sch.profiles:
        for t in oracle_boundaries(p, end, anchor):
            if t_now < t < end:
                got = sch.limit(connector, from_seconds(t), transaction=tx, cable_a=cable)
                assert got == limit, (from_seconds(t), got, limit)


@EXAMPLES
@given(
    charging_profiles(1, Kind.RECURRING).filter(lambda p: p.valid_from is None),
    st.integers(0, 14 * DAY),
    st.integers(1, 60),
)
def test_recurrence_wraps_by_whole_utc_days_and_weeks(
    profile: ChargingProfile, offset: int, cycles: int
) -> None:
    profile = ChargingProfile(
        profile.id,
        1,
        profile.stack_level,
        Purpose.TX_DEFAULT,
        Kind.RECURRING,
        profile.schedule,
        profile.recurrency,
    )
    assert profile.recurrency is not None and profile.schedule.start_schedule is not None
    sch = Schedule({1: Circuit(80.0)}, (profile,))
    t = profile.schedule.start_schedule + timedelta(seconds=offset)
    cycle = timedelta(days=1 if profile.recurrency is Recurrency.DAILY else 7)
    assert sch.limit(1, t) == sch.limit(1, t + cycles * cycle)
    # the occurrence before the first one does not exist
    assert sch.limit(1, profile.schedule.start_schedule - timedelta(seconds=1)).amps == 80.0


@EXAMPLES
@given(situations(), offsets, st.sampled_from(ZONES))
def test_no_local_time_anywhere(
    situation: tuple[Schedule, int, Transaction | None, float | None], now: int, zone: ZoneInfo
) -> None:
    sch, connector, tx, cable = situation
    utc, local = when(now), when(now).astimezone(zone)
    assert sch.limit(connector, utc, transaction=tx) == sch.limit(connector, local, transaction=tx)
    assert sch.next_change(connector, utc, transaction=tx) == sch.next_change(
        connector, local, transaction=tx
    )
    a = sch.composite_schedule(connector, utc, 3 * DAY, transaction=tx, cable_a=cable)
    b = sch.composite_schedule(connector, local, 3 * DAY, transaction=tx, cable_a=cable)
    assert (
        a == b and b.start.utcoffset() == timedelta(0) and from_seconds(now + to_seconds(T0)) == utc
    )
