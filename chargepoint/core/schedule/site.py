"""Local load management: share what the grid connection has left among the connectors.

Pure, like the rest of the package: the caller passes a monotonic ``now``, the grid meter's
reading per phase (or None while it cannot be read) and what each connector wants; ``allocate``
returns the current each connector may be offered and the state to pass in next time. The
offer the core gets is the minimum of this and the connector's composite limit
(``enforce(..., site=...)``). See docs/site.md.

How one step decides (all currents in amperes per phase):

1. House load per phase = grid reading - what our EVs draw on that phase (never below 0),
   taken as the highest of the readings of the last ``hold_s`` seconds: a rise counts at
   once, a fall once it lasted ``hold_s`` (the connector meters lag the grid meter; for a
   moment after an offer changed the house looks smaller than it is).
   Budget = ``max_current_a`` - the largest house load of any phase (every connector is
   assumed to load every phase: conservative for 1-phase EVs).
2. Connectors that want energy (EV asks, limit >= 6 A) are kept in a queue; the first ``k``
   run, the others are paused (offer 0: PWM off, SuspendedEVSE). ``k`` is the most that get
   6 A each. It drops at once when the budget no longer carries 6 A each; it grows only after
   ``hold_s`` without a change and when the budget less ``margin_a`` carries 6 A each.
3. While some are paused, every ``rotate_s`` the running ones go to the back of the queue.
4. Running connectors share the budget less ``margin_a`` evenly (water-filling: a connector
   capped lower by its limit leaves the rest to the others).
5. Offers change at once when they add up to more than the budget (house load rose) or the
   set of running connectors changes; they rise only when one of them would gain at least
   ``margin_a`` and ``hold_s`` passed since the last change. Because a change always leaves
   ``margin_a`` unused, a reading that wobbles by less than ``margin_a`` changes nothing.
6. Grid meter unreadable: every wanting connector gets ``fallback_current_a`` (capped by
   its limit; 0 below 6 A), as docs/site.md says, until a plausible reading comes back.

``plausible`` tells garbage readings (negative, NaN, far beyond the fuse, a jump of the house
load bigger than the fuse not confirmed by the next reading) from real ones: garbage counts
as unreadable, never as headroom. (The jump is judged on the house load, so our own EVs
starting together never look like one.)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..duty import MIN_CURRENT_A

# A reading above this many times max_current_a on any phase is not a grid current: a main
# fuse would have blown long before (gG fuses trip within an hour at 1.45 x In).
IMPLAUSIBLE_FACTOR = 2.0
_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class SiteLimits:
    """The ``[site]`` settings the allocator needs (seconds on the monotonic clock)."""

    max_current_a: float
    fallback_current_a: float = 6.0
    rotate_s: float = 600.0
    margin_a: float = 1.0
    hold_s: float = 5.0

    def __post_init__(self) -> None:
        for name in ("max_current_a", "fallback_current_a", "rotate_s", "margin_a", "hold_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not (
                    math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if self.max_current_a < MIN_CURRENT_A:
            raise ValueError(f"max_current_a must be >= {MIN_CURRENT_A}, "
                             f"got {self.max_current_a!r}")


@dataclass(frozen=True, slots=True)
class Demand:
    """One connector as the allocator sees it: does its EV ask for energy, the most it may
    be offered (its composite limit, hardware and cable) and what it draws now per phase
    (from its meter; empty: nothing)."""

    wants: bool
    cap_a: float
    drawn_a: Sequence[float] = ()


@dataclass(frozen=True, slots=True)
class SiteState:
    """What one step remembers for the next: the queue of wanting connectors (running ones
    first), how many run, the offers made, when they last changed and when the current turn
    of the paused ones began. Start with ``SiteState()``."""

    queue: tuple[int, ...] = ()
    running: int = 0
    offers: Mapping[int, float] = field(default_factory=dict)
    changed_at: float = -math.inf
    turn_at: float = -math.inf
    last_house: tuple[float, ...] | None = None
    recent: tuple[tuple[float, tuple[float, ...]], ...] = ()  # (when, house load) of hold_s


@dataclass(frozen=True, slots=True)
class Allocation:
    """The result of one step: the offer per connector (0: paused / not wanting), the house
    load and budget it was based on (None while the grid meter is unreadable) and the next
    state."""

    offers: Mapping[int, float]
    house_a: tuple[float, ...] | None
    available_a: float | None
    meter_ok: bool
    state: SiteState


def plausible(reading: Sequence[float] | None, limits: SiteLimits,
              previous: Sequence[float] | None) -> bool:
    """Can ``reading`` (current per phase) be trusted? Not when it is missing, empty, NaN,
    negative, beyond ``IMPLAUSIBLE_FACTOR`` x the fuse, or when a phase jumped by more than
    the fuse since the ``previous`` one (a real step is confirmed by the next reading, which
    is then compared with this one)."""
    if reading is None or not reading:
        return False
    ceiling = limits.max_current_a * IMPLAUSIBLE_FACTOR
    for value in reading:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if not math.isfinite(value) or value < 0 or value > ceiling:
            return False
    if previous is None or len(previous) != len(reading) or not all(
            math.isfinite(b) for b in previous):
        return True
    return all(abs(a - b) <= limits.max_current_a
               for a, b in zip(reading, previous, strict=True))


def house_load(grid_a: Sequence[float], demands: Mapping[int, Demand]) -> tuple[float, ...]:
    """Per phase: the grid reading less what our EVs draw on that phase, at least 0."""
    house = []
    for phase, grid in enumerate(grid_a):
        ours = sum(d.drawn_a[phase] for d in demands.values() if phase < len(d.drawn_a))
        house.append(max(0.0, grid - ours))
    return tuple(house)


def share(budget_a: float, caps: Mapping[int, float]) -> dict[int, float]:
    """Water-filling: ``budget_a`` split evenly among ``caps``' connectors, none above its
    cap, what a capped one leaves going to the others. Floored to 0.1 A."""
    result: dict[int, float] = {}
    left = max(0.0, budget_a)
    pending = sorted(caps, key=lambda c: (caps[c], c))
    while pending:
        even = left / len(pending)
        c = pending[0]
        if caps[c] <= even:
            result[c] = caps[c]
            left -= caps[c]
            pending.pop(0)
            continue
        for c in pending:
            result[c] = even
        break
    return {c: math.floor(a * 10 + 1e-6) / 10 for c, a in result.items()}


def allocate(limits: SiteLimits, state: SiteState, now: float,
             grid_a: Sequence[float] | None, demands: Mapping[int, Demand]) -> Allocation:
    """One step of load management (see the module docstring). ``grid_a`` is the grid
    meter's current per phase, None when it did not answer."""
    wanting = [c for c in sorted(demands)
               if demands[c].wants and demands[c].cap_a >= MIN_CURRENT_A]
    queue = tuple(c for c in state.queue if c in wanting) + tuple(
        c for c in wanting if c not in state.queue)
    raw = None if grid_a is None else tuple(grid_a)
    house: tuple[float, ...] | None = None
    if plausible(raw, limits, None):
        assert raw is not None
        house = house_load(raw, demands)
    if house is None or not plausible(house, limits, state.last_house):
        return _fallback(limits, state, now, queue, demands, house)
    kept = [(t, h) for t, h in state.recent if now - t < limits.hold_s and len(h) == len(house)]
    recent = (*kept, (now, house))
    house = tuple(max(h[p] for _, h in recent) for p in range(len(house)))
    budget = limits.max_current_a - max(house)
    prev_running = tuple(c for c in state.queue[:state.running] if c in wanting)
    # queue: the ones running before first, then the others in their turn order
    queue = prev_running + tuple(c for c in queue if c not in prev_running)
    n = len(queue)
    k_prev = len(prev_running)
    k_fit = min(n, _fits(budget))
    k_raise = min(n, _fits(budget - limits.margin_a))
    held = now - state.changed_at >= limits.hold_s
    if k_prev > k_fit:
        k = k_fit
    elif k_prev < k_raise and held:
        k = k_raise
    else:
        k = k_prev
    turn_at = state.turn_at
    if k >= n or state.running >= len(state.queue):  # nobody waited: a turn starts now
        turn_at = now
    elif now - turn_at >= limits.rotate_s and k > 0:
        queue = queue[k:] + queue[:k]
        turn_at = now
    running = queue[:k]
    pool = budget - limits.margin_a
    if k and pool / k < MIN_CURRENT_A:
        pool = budget  # k still fits without the margin: keep running, use what there is
    target = share(pool, {c: demands[c].cap_a for c in running})
    prev = {c: state.offers.get(c, 0.0) for c in running}
    overload = sum(prev.values()) > budget + _EPS or any(
        prev[c] > demands[c].cap_a + _EPS for c in running)
    regrouped = running != prev_running
    rise = held and any(target[c] >= prev[c] + max(limits.margin_a, 0.1) for c in running)
    offers = target if (overload or regrouped or rise) else prev
    offers = {c: offers.get(c, 0.0) for c in sorted(demands)}
    changed_at = state.changed_at
    if any(abs(offers[c] - state.offers.get(c, 0.0)) > _EPS for c in demands):
        changed_at = now
    new_state = SiteState(queue, k, offers, changed_at, turn_at, recent[-1][1], recent)
    return Allocation(offers, house, budget, True, new_state)


def _fits(budget_a: float) -> int:
    """How many connectors ``budget_a`` gives 6 A each."""
    return max(0, math.floor(budget_a / MIN_CURRENT_A + _EPS))


def _fallback(limits: SiteLimits, state: SiteState, now: float, queue: tuple[int, ...],
              demands: Mapping[int, Demand], house: tuple[float, ...] | None) -> Allocation:
    offers: dict[int, float] = {}
    for c in sorted(demands):
        amps = min(limits.fallback_current_a, demands[c].cap_a) if c in queue else 0.0
        offers[c] = amps if amps >= MIN_CURRENT_A else 0.0
    running = sum(1 for c in queue if offers[c] > 0)
    queue = tuple(c for c in queue if offers[c] > 0) + tuple(c for c in queue if offers[c] == 0)
    changed_at = state.changed_at
    if any(abs(offers[c] - state.offers.get(c, 0.0)) > _EPS for c in demands):
        changed_at = now
    # a jump is confirmed by the next reading: it is compared with this one
    last_house = state.last_house if house is None else house
    new_state = SiteState(queue, running, offers, changed_at, now, last_house)
    return Allocation(offers, None, None, False, new_state)
