"""Block planner: the wire-time cost model of meters.md, the cap, function codes, optimality."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hardware.meter.planner import (
    Block,
    char_time_s,
    plan_blocks,
    plan_time_s,
    request_time_s,
    single_block,
)
from hardware.meter.regmap import Field, load_model

CT_9600 = char_time_s(9600)


def _f(address: int, count: int = 2, function: int = 4, name: str = "power") -> Field:
    dtype = {1: "uint16", 2: "float32", 4: "float64"}[count]
    return Field(name, function, address, dtype, "msw")


def _spans(blocks: list[Block]) -> list[tuple[int, int, int]]:
    return [(b.function, b.start, b.count) for b in blocks]


def test_char_time_at_9600_baud() -> None:
    assert pytest.approx(1.146e-3, rel=1e-3) == CT_9600


def test_sdm630_all_quantities_three_blocks_vs_one() -> None:
    """meters.md: one 76-register block ~197 ms of wire time, three tight blocks ~128 ms."""
    m = load_model("sdm630")
    plan = plan_blocks(m.fields, max_registers=m.max_registers, char_time=CT_9600, turnaround_s=0)
    assert _spans(plan) == [(4, 0x00, 18), (4, 0x34, 2), (4, 0x46, 6)]
    assert plan_time_s(plan, CT_9600, 0) == pytest.approx(0.1283, abs=5e-4)
    one = single_block(m.fields)
    assert _spans(one) == [(4, 0x00, 76)]
    assert plan_time_s(one, CT_9600, 0) == pytest.approx(0.1971, abs=5e-4)
    # every field is inside exactly one block
    planned = sorted(f.quantity for b in plan for f in b.fields)
    assert planned == sorted(f.quantity for f in m.fields)


def test_sdm630_turnaround_shifts_the_balance() -> None:
    """With 35 ms turnaround one block and three blocks break even (meters.md); the planner
    finds the cheaper middle plan, and with a huge turnaround reads one block."""
    m = load_model("sdm630")
    one = single_block(m.fields)
    three = plan_blocks(m.fields, max_registers=80, char_time=CT_9600, turnaround_s=0)
    assert plan_time_s(one, CT_9600, 0.035) == pytest.approx(
        plan_time_s(three, CT_9600, 0.035), abs=2e-3
    )
    plan = plan_blocks(m.fields, max_registers=80, char_time=CT_9600, turnaround_s=0.035)
    assert _spans(plan) == [(4, 0x00, 18), (4, 0x34, 24)]
    assert plan_time_s(plan, CT_9600, 0.035) < plan_time_s(one, CT_9600, 0.035)
    slow = plan_blocks(m.fields, max_registers=80, char_time=CT_9600, turnaround_s=0.5)
    assert _spans(slow) == [(4, 0x00, 76)]


@pytest.mark.parametrize(("gap", "merged"), [(8, True), (9, True), (10, False), (11, False)])
def test_gap_is_read_through_only_when_cheaper(gap: int, merged: bool) -> None:
    """A second request costs 20 characters, reading a gap 2 per register: break-even at 10
    (a tie does not merge)."""
    fields = [_f(0), _f(2 + gap)]
    plan = plan_blocks(fields, max_registers=125, char_time=CT_9600, turnaround_s=0)
    assert len(plan) == (1 if merged else 2)


def test_cap_is_respected() -> None:
    m = load_model("sdm72")
    plan = plan_blocks(m.fields, max_registers=10, char_time=CT_9600, turnaround_s=0.01)
    assert all(b.count <= 10 for b in plan)
    assert _spans(plan)[:2] == [(4, 0x00, 10), (4, 0x0A, 8)]


def test_function_codes_never_mix() -> None:
    fields = [_f(0, function=3), _f(2, function=4), _f(4, function=3)]
    plan = plan_blocks(fields, max_registers=125, char_time=CT_9600, turnaround_s=0)
    assert _spans(plan) == [(3, 0, 6), (4, 2, 2)]


def test_overlapping_fields_share_a_range() -> None:
    fields = [_f(0x0C, name="power"), _f(0x0C, name="power_l1")]
    plan = plan_blocks(fields, max_registers=125, char_time=CT_9600, turnaround_s=0)
    assert _spans(plan) == [(4, 0x0C, 2)]
    assert {f.quantity for f in plan[0].fields} == {"power", "power_l1"}


def test_field_wider_than_cap_is_misuse() -> None:
    with pytest.raises(ValueError):
        plan_blocks([_f(0, count=4)], max_registers=2, char_time=CT_9600, turnaround_s=0)


def _brute_force(ranges: list[tuple[int, int]], cap: int, turnaround: float) -> float:
    """Cheapest partition of sorted disjoint ranges into consecutive groups (exhaustive)."""
    n = len(ranges)
    best = float("inf")
    for cuts in itertools.product([False, True], repeat=n - 1):
        groups, start = [], 0
        for i, cut in enumerate(cuts, 1):
            if cut:
                groups.append((start, i))
                start = i
        groups.append((start, n))
        counts = [ranges[j - 1][1] - ranges[i][0] for i, j in groups]
        if max(counts) <= cap:
            best = min(best, sum(request_time_s(c, CT_9600, turnaround) for c in counts))
    return best


@settings(max_examples=60, deadline=None)
@given(
    gaps=st.lists(st.integers(min_value=0, max_value=30), min_size=1, max_size=7),
    cap=st.integers(min_value=4, max_value=60),
    turnaround=st.sampled_from([0.0, 0.01, 0.035]),
)
def test_plan_is_optimal(gaps: list[int], cap: int, turnaround: float) -> None:
    fields, address = [], 0
    for gap in gaps:
        address += gap
        fields.append(_f(address))
        address += 2
    plan = plan_blocks(fields, max_registers=cap, char_time=CT_9600, turnaround_s=turnaround)
    assert all(b.count <= cap for b in plan)
    covered = {a for b in plan for a in range(b.start, b.end)}
    assert all(a in covered for f in fields for a in range(f.address, f.end))
    ranges = [(f.address, f.end) for f in fields]  # disjoint: one range per field
    expected = _brute_force(ranges, cap, turnaround)
    assert plan_time_s(plan, CT_9600, turnaround) == pytest.approx(expected, abs=1e-9)
