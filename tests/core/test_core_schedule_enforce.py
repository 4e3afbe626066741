"""``enforce``: what the station's one smart-charging timer acts on (every connector's limit,
the earliest change), and the wrap-around properties that timer relies on: recurring
profiles across midnight and the week's end, UTC arithmetic through DST switches."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chargepoint.core.schedule import (
    Circuit,
    Kind,
    Recurrency,
    Schedule,
    Transaction,
    enforce,
)
from chargepoint.core.schedule.profile import from_seconds, to_seconds

from .schedule_support import T0, at, profile
from .test_core_schedule_props import EXAMPLES, ZONES, oracle_terms, situations, when

DAY = 86_400
WEEK = 7 * DAY
offsets = st.integers(-3 * DAY, 12 * DAY)


@EXAMPLES
@given(situations(), offsets, st.data())
def test_enforce_gives_each_connector_its_limit_and_wakes_at_the_first_change(
    situation: tuple[Schedule, int, Transaction | None, float | None],
    now: int,
    data: st.DataObject,
) -> None:
    sch, _, tx, _ = situation
    running = {} if tx is None else {1: tx}
    result = enforce(sch, when(now), running)
    assert set(result.limits) == {1, 2}
    t = to_seconds(when(now))
    for connector, limit in result.limits.items():
        terms = oracle_terms(sch, connector, t, None if connector not in running else to_seconds(
            running[connector].started_at), running.get(connector), None)
        assert limit.amps <= min(terms) + 1e-9  # never above any applicable limit
        assert limit == sch.limit(connector, when(now), transaction=running.get(connector))
    changes = [sch.next_change(c, when(now), transaction=running.get(c)) for c in (1, 2)]
    assert result.wake_at == min((c for c in changes if c is not None), default=None)
    if result.wake_at is not None:
        # nothing changes on any connector before the timer fires
        end = to_seconds(result.wake_at)
        for s in {t + 1, end - 1, *data.draw(st.lists(st.integers(t, end - 1), max_size=3))}:
            if t <= s < end:
                later = enforce(sch, from_seconds(s), running)
                assert later.limits == result.limits


def test_enforce_without_profiles_is_the_hardware_and_never_wakes() -> None:
    sch = Schedule({1: Circuit(32.0), 2: Circuit(16.0, 1)})
    result = enforce(sch, T0, {})
    assert {c: lim.amps for c, lim in result.limits.items()} == {1: 32.0, 2: 16.0}
    assert result.wake_at is None


def test_enforce_rejects_a_naive_instant() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        enforce(Schedule({1: Circuit(32.0)}), datetime(2026, 1, 1), {})


@EXAMPLES
@given(st.integers(0, DAY - 1), st.integers(60, DAY), st.integers(0, 40), st.integers(0, DAY - 1))
def test_daily_profile_wraps_over_midnight(start_s: int, length: int, days: int,
                                           into: int) -> None:
    """A Daily profile starting at any second of the day, lasting up to a day, is in force
    from its start for ``length`` seconds on every day, across midnight too."""
    p = profile(kind=Kind.RECURRING, recurrency=Recurrency.DAILY, start=T0 + timedelta(
        seconds=start_s), duration=length, periods=((0, 8.0),))
    sch = Schedule({1: Circuit(32.0)}, (p,))
    t = T0 + timedelta(seconds=start_s + days * DAY + into)
    expected = 8.0 if into < length else 32.0
    assert sch.limit(1, t).amps == expected
    change = sch.next_change(1, t)
    assert change is not None
    boundary = start_s + days * DAY + (length if into < length else DAY)
    assert to_seconds(change) - to_seconds(T0) == boundary


@EXAMPLES
@given(st.integers(0, 20), st.integers(0, WEEK - 1))
def test_weekly_profile_wraps_over_the_week_end(weeks: int, into: int) -> None:
    """Sunday 20:00 UTC for 10 h (into Monday), every week: the composite over a whole week
    shows exactly that occurrence, wherever in the cycle the window starts."""
    sunday_20 = T0 + timedelta(hours=20)  # 2026-03-29 is a Sunday
    p = profile(kind=Kind.RECURRING, recurrency=Recurrency.WEEKLY, start=sunday_20,
                duration=10 * 3600, periods=((0, 10.0), (8 * 3600, 6.0)))
    sch = Schedule({1: Circuit(32.0)}, (p,))
    start = sunday_20 + timedelta(weeks=weeks, seconds=into)
    composite = sch.composite_schedule(1, start, WEEK)
    # rebuild the week from the composite and compare with the profile's rule at every edge
    t0 = to_seconds(start)
    for period in composite.periods:
        offset = (t0 + period.start_s - to_seconds(sunday_20)) % WEEK
        expected = 10.0 if offset < 8 * 3600 else 6.0 if offset < 10 * 3600 else 32.0
        assert period.limit == expected, (period, offset)
    assert len(composite.periods) in (3, 4)  # one occurrence, maybe cut by the window's ends
    assert all(a.start_s < b.start_s for a, b in itertools.pairwise(composite.periods))


@pytest.mark.parametrize("zone", ZONES, ids=str)
def test_daily_boundaries_stay_24h_apart_through_dst(zone: ZoneInfo) -> None:
    """2026-03-29 (EU) / 2026-03-08 (US) / 2026-04-05 (Lord Howe, 30 min): a Daily profile at
    06:00 UTC keeps 86,400 s between occurrences, asked in any zone."""
    p = profile(kind=Kind.RECURRING, recurrency=Recurrency.DAILY, start=at(6) - timedelta(
        days=30), duration=3600, periods=((0, 7.0),))
    sch = Schedule({1: Circuit(32.0)}, (p,))
    start = (T0 - timedelta(days=25)).astimezone(zone)
    composite = sch.composite_schedule(1, start, 14 * DAY)
    drops = [q.start_s for q in composite.periods if q.limit == 7.0]
    assert len(drops) == 14
    assert {b - a for a, b in itertools.pairwise(drops)} == {DAY}
    assert all(from_seconds(to_seconds(start) + s).hour == 6 for s in drops)
