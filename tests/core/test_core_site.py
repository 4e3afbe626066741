"""Local load management's allocator (chargepoint.core.schedule.site), closed loop against a
model of the grid connection: the grid meter reads house load plus what the EVs draw, the EVs
draw what they are offered (up to their own maximum) on three phases."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chargepoint.core.schedule import (
    Circuit,
    Demand,
    Schedule,
    SiteLimits,
    SiteState,
    allocate,
    enforce,
    plausible,
)
from chargepoint.core.schedule.composite import Bound
from chargepoint.core.schedule.site import share

LIMITS = SiteLimits(max_current_a=32.0, fallback_current_a=6.0, rotate_s=60.0, margin_a=1.0,
                    hold_s=5.0)


class Bench:
    """The grid connection: house load per phase, EVs drawing min(offer, their max)."""

    def __init__(self, limits: SiteLimits, ev_max: Mapping[int, float]) -> None:
        self.limits = limits
        self.ev_max = dict(ev_max)
        self.wants = {c: True for c in ev_max}
        self.caps = {c: 32.0 for c in ev_max}
        self.state = SiteState()
        self.offers: dict[int, float] = {c: 0.0 for c in ev_max}
        self.changes = 0
        self.history: list[dict[int, float]] = []
        self.meter_ok = False

    def draw(self, c: int) -> float:
        return min(self.offers[c], self.ev_max[c]) if self.wants[c] else 0.0

    def step(self, now: float, house: Sequence[float], meter_ok: bool = True) -> dict[int, float]:
        grid = [h + sum(self.draw(c) for c in self.ev_max) for h in house]
        demands = {c: Demand(self.wants[c], self.caps[c], (self.draw(c),) * 3)
                   for c in self.ev_max}
        result = allocate(self.limits, self.state, now, grid if meter_ok else None, demands)
        if dict(result.offers) != self.offers:
            self.changes += 1
        self.state = result.state
        self.meter_ok = result.meter_ok
        self.offers = dict(result.offers)
        self.history.append(self.offers)
        return self.offers


def test_two_connectors_share_32_a_evenly() -> None:
    bench = Bench(LIMITS, {1: 32.0, 2: 32.0})
    offers = bench.step(0.0, [0.0, 0.0, 0.0])
    assert offers == {1: 15.5, 2: 15.5}  # 32 A less the 1 A margin, halved


def test_house_load_rise_cuts_at_once_and_fall_is_used_after_the_hold() -> None:
    bench = Bench(LIMITS, {1: 32.0, 2: 32.0})
    bench.step(0.0, [0.0] * 3)
    offers = bench.step(1.0, [10.0, 4.0, 2.0])  # rise: at the very next reading
    assert sum(offers.values()) + 10.0 <= 32.0
    assert offers == {1: 10.5, 2: 10.5}
    assert bench.step(2.0, [0.0] * 3) == {1: 10.5, 2: 10.5}  # fall: held
    assert bench.step(7.0, [0.0] * 3) == {1: 15.5, 2: 15.5}  # used after hold_s


def test_a_dip_of_the_house_load_shorter_than_hold_s_changes_nothing() -> None:
    bench = Bench(LIMITS, {1: 32.0, 2: 32.0})
    bench.step(0.0, [10.0] * 3)
    assert bench.step(10.0, [10.0] * 3) == {1: 10.5, 2: 10.5}
    assert bench.step(11.0, [2.0] * 3) == {1: 10.5, 2: 10.5}  # e.g. a stale connector meter
    assert bench.step(12.0, [10.0] * 3) == {1: 10.5, 2: 10.5}
    assert bench.changes == 1


def test_connector_that_cannot_get_6_a_pauses_and_resumes() -> None:
    bench = Bench(LIMITS, {1: 32.0, 2: 32.0})
    bench.step(0.0, [0.0] * 3)
    offers = bench.step(1.0, [20.0] * 3)  # 12 A left: 6 A each still fits
    assert offers == {1: 6.0, 2: 6.0}
    offers = bench.step(2.0, [22.0] * 3)  # 10 A: one pauses
    assert sorted(offers.values()) == [0.0, 9.0]
    assert bench.step(3.0, [15.0] * 3) == offers  # within hold_s nothing grows
    offers = bench.step(8.0, [15.0] * 3)
    assert offers == {1: 8.0, 2: 8.0}


def test_paused_connectors_take_turns_every_rotate_s() -> None:
    bench = Bench(LIMITS, {1: 32.0, 2: 32.0, 3: 32.0})
    running = []
    for t in range(0, 400):
        offers = bench.step(float(t), [17.0] * 3)  # 15 A: two run at 7 A
        assert sorted(offers.values()) == [0.0, 7.0, 7.0]
        running.append(frozenset(c for c, a in offers.items() if a))
    turns = [running[i] for i in range(0, 400, 60)]
    assert all(a != b for a, b in itertools.pairwise(turns))
    assert {c for turn in turns for c in turn} == {1, 2, 3}


def test_unreadable_meter_falls_back_and_recovers() -> None:
    bench = Bench(LIMITS, {1: 32.0, 2: 32.0})
    bench.step(0.0, [0.0] * 3)
    assert bench.step(1.0, [0.0] * 3, meter_ok=False) == {1: 6.0, 2: 6.0}
    assert bench.state.offers == {1: 6.0, 2: 6.0}
    bench.step(2.0, [0.0] * 3)
    assert bench.step(8.0, [0.0] * 3) == {1: 15.5, 2: 15.5}


@pytest.mark.parametrize("grid", [
    [float("nan"), 0.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 65.0, 0.0], [], [math.inf, 0.0, 0.0],
])
def test_garbage_readings_count_as_unreadable(grid: list[float]) -> None:
    demands = {1: Demand(True, 32.0)}
    result = allocate(LIMITS, SiteState(), 0.0, grid, demands)
    assert not result.meter_ok
    assert result.offers == {1: 6.0}


def test_a_jump_beyond_the_fuse_needs_the_next_reading_to_confirm_it() -> None:
    assert plausible([40.0] * 3, LIMITS, None)
    assert not plausible([40.0, 0.0, 0.0], LIMITS, [2.0, 0.0, 0.0])
    demands = {1: Demand(True, 32.0)}
    first = allocate(LIMITS, SiteState(), 0.0, [1.0] * 3, demands)
    assert first.offers == {1: 30.0}
    ours = {1: Demand(True, 32.0, (30.0,) * 3)}
    assert allocate(LIMITS, first.state, 1.0, [31.0] * 3, ours).meter_ok  # our EV started
    jump = allocate(LIMITS, first.state, 1.0, [40.0] * 3, demands)
    assert not jump.meter_ok
    confirmed = allocate(LIMITS, jump.state, 2.0, [40.0] * 3, demands)
    assert confirmed.meter_ok and confirmed.offers == {1: 0.0}


def test_fallback_below_6_a_pauses() -> None:
    limits = SiteLimits(max_current_a=32.0, fallback_current_a=0.0)
    result = allocate(limits, SiteState(), 0.0, None, {1: Demand(True, 32.0)})
    assert result.offers == {1: 0.0}


def test_capped_connector_leaves_the_rest_to_the_others() -> None:
    assert share(31.0, {1: 8.0, 2: 32.0}) == {1: 8.0, 2: 23.0}
    assert share(31.0, {1: 32.0, 2: 32.0, 3: 32.0}) == {1: 10.3, 2: 10.3, 3: 10.3}


def test_limits_reject_nonsense() -> None:
    with pytest.raises(ValueError):
        SiteLimits(max_current_a=5.0)
    with pytest.raises(ValueError):
        SiteLimits(max_current_a=32.0, rotate_s=float("nan"))


def test_enforce_takes_the_lower_of_profile_and_site() -> None:
    schedule = Schedule({1: Circuit(16.0), 2: Circuit(32.0)})
    now = datetime(2026, 1, 1, tzinfo=UTC)
    result = enforce(schedule, now, {}, site={1: 20.0, 2: 10.0})
    assert (result.limits[1].amps, result.limits[1].bound) == (16.0, Bound.HARDWARE)
    assert (result.limits[2].amps, result.limits[2].bound) == (10.0, Bound.SITE)
    assert enforce(schedule, now, {}, site={2: 0.0}).limits[2].amps == 0.0


# -- properties ---------------------------------------------------------------------------

_connectors = st.dictionaries(st.integers(1, 4), st.sampled_from([10.0, 16.0, 32.0]),
                              min_size=1, max_size=4)
_house = st.lists(st.tuples(st.floats(0, 40), st.floats(0, 40), st.floats(0, 40)),
                  min_size=1, max_size=60)


@settings(max_examples=150, deadline=None)
@given(_connectors, _house, st.lists(st.booleans(), min_size=60, max_size=60))
def test_never_above_the_fuse_never_between_0_and_6(
        ev_max: dict[int, float], house: list[tuple[float, float, float]],
        meter: list[bool]) -> None:
    bench = Bench(LIMITS, ev_max)
    for i, load in enumerate(house):
        offers = bench.step(float(i), load, meter_ok=meter[i] or i == 0)
        assert all(a == 0.0 or a >= 6.0 for a in offers.values())
        if bench.meter_ok:  # a trusted reading: the offers fit beside the house load
            headroom = max(0.0, LIMITS.max_current_a - max(load))
            assert sum(offers.values()) <= headroom + 1e-6
        else:  # unreadable, or a jump beyond the fuse the next reading must confirm
            assert set(offers.values()) <= {0.0, LIMITS.fallback_current_a}


@settings(max_examples=100, deadline=None)
@given(_connectors, st.floats(0, 30), st.lists(st.floats(-0.45, 0.45), min_size=300,
                                                max_size=300))
def test_no_oscillation_under_a_constant_noisy_load(
        ev_max: dict[int, float], house: float, noise: list[float]) -> None:
    limits = SiteLimits(max_current_a=32.0, rotate_s=1e9, margin_a=1.0, hold_s=5.0)
    bench = Bench(limits, ev_max)
    for i, wobble in enumerate(noise):  # peak to peak below the margin
        bench.step(float(i), [max(0.0, house + wobble)] * 3)
    assert bench.changes <= 3


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 4), st.floats(0, 20))
def test_fair_over_time(n: int, house: float) -> None:
    limits = SiteLimits(max_current_a=32.0, rotate_s=30.0, hold_s=5.0)
    bench = Bench(limits, {c: 32.0 for c in range(1, n + 1)})
    served = {c: 0.0 for c in range(1, n + 1)}
    for t in range(0, 3000):
        offers = bench.step(float(t), [house] * 3)
        for c, amps in offers.items():
            served[c] += amps
        running = [a for a in offers.values() if a]
        assert max(running, default=0.0) - min(running, default=0.0) <= 0.1 + 1e-9
    # over many turns everyone got about the same energy (within two turns' worth)
    assert max(served.values()) - min(served.values()) <= 2 * 30.0 * 32.0
