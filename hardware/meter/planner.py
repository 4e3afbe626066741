"""Block planner: which read requests one poll sends. Pure functions, no I/O.

Cost model (Modbus over serial line v1.02, 2.5.1.1 RTU framing; docs/meters.md
"Choosing the blocks of a poll"): every character is 11 bits on the wire. A read of
``n`` registers costs

    8 request characters + 5 response framing characters (address, function, byte count,
    CRC) + 2 * n data characters + two 3.5-character silent intervals + the meter's turnaround

i.e. ``(20 + 2 n) * char_time + turnaround`` seconds. Reading through a gap of ``g`` unused
registers costs ``2 g`` characters; a second request costs ``20`` characters plus a turnaround.
So neighbouring ranges are merged exactly when that saves wire time, within the model's cap on
registers per request, and never across function codes.

The plan is optimal for that cost (dynamic programming over the sorted ranges of each function
code); on a tie the plan with less merging (fewer registers read) wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hardware.meter.regmap import Field

BITS_PER_CHAR = 11  # start + 8 data + parity (or 2nd stop) + stop
REQUEST_OVERHEAD_CHARS = 8 + 5 + 2 * 3.5  # request frame, response framing, two t3.5 gaps


def char_time_s(baudrate: int) -> float:
    """Seconds one RTU character takes at ``baudrate`` (1.146 ms at 9600 Bd)."""
    if baudrate <= 0:
        raise ValueError("baudrate must be positive")
    return BITS_PER_CHAR / baudrate


@dataclass(frozen=True, slots=True)
class Block:
    """One read request: ``count`` registers from ``start`` with ``function``."""

    function: int
    start: int
    count: int
    fields: tuple[Field, ...]

    @property
    def end(self) -> int:
        return self.start + self.count


def request_time_s(count: int, char_time: float, turnaround_s: float) -> float:
    """Wire time of one read request of ``count`` registers, answer included."""
    return (REQUEST_OVERHEAD_CHARS + 2 * count) * char_time + turnaround_s


def plan_time_s(blocks: Iterable[Block], char_time: float, turnaround_s: float) -> float:
    """Predicted wire time of a whole poll."""
    return sum(request_time_s(b.count, char_time, turnaround_s) for b in blocks)


def _ranges(fields: Sequence[Field]) -> list[tuple[int, int, list[Field]]]:
    """Sorted, overlap-free ranges (start, end, fields): overlapping fields share a range."""
    ranges: list[tuple[int, int, list[Field]]] = []
    for f in sorted(fields, key=lambda f: (f.address, f.end)):
        if ranges and f.address < ranges[-1][1]:
            start, end, members = ranges[-1]
            ranges[-1] = (start, max(end, f.end), [*members, f])
        else:
            ranges.append((f.address, f.end, [f]))
    return ranges


def _plan_one_function(
    function: int,
    fields: Sequence[Field],
    max_registers: int,
    char_time: float,
    turnaround_s: float,
) -> list[Block]:
    ranges = _ranges(fields)
    n = len(ranges)
    # best[i] = (cost, registers read, blocks) of the optimal plan for ranges[:i]
    best: list[tuple[float, int, list[tuple[int, int]]]] = [(0.0, 0, [])]
    for i in range(1, n + 1):
        candidate: tuple[float, int, list[tuple[int, int]]] | None = None
        for j in range(i - 1, -1, -1):  # last block spans ranges[j:i]
            count = ranges[i - 1][1] - ranges[j][0]
            if count > max_registers:
                break
            cost, regs, groups = best[j]
            option = (
                cost + request_time_s(count, char_time, turnaround_s),
                regs + count,
                [*groups, (j, i)],
            )
            # a merge must save time: compare with a small tolerance so float noise never
            # turns a tie into a merge
            if candidate is None or option[0] < candidate[0] - 1e-12:
                candidate = option
        if candidate is None:  # a single range wider than the cap: the loader forbids this
            raise ValueError(f"range at {ranges[i - 1][0]} exceeds {max_registers} registers")
        best.append(candidate)
    blocks = []
    for j, i in best[n][2]:
        members = tuple(f for r in ranges[j:i] for f in r[2])
        start, end = ranges[j][0], ranges[i - 1][1]
        blocks.append(Block(function, start, end - start, members))
    return blocks


def plan_blocks(
    fields: Sequence[Field],
    *,
    max_registers: int,
    char_time: float,
    turnaround_s: float,
) -> list[Block]:
    """The cheapest set of read requests covering every field (by function code, address).

    ``max_registers`` caps each request; a field wider than the cap raises ``ValueError``.
    """
    if max_registers < 1:
        raise ValueError("max_registers must be >= 1")
    blocks: list[Block] = []
    for function in sorted({f.function for f in fields}):
        same = [f for f in fields if f.function == function]
        blocks += _plan_one_function(function, same, max_registers, char_time, turnaround_s)
    return blocks


def single_block(fields: Sequence[Field]) -> list[Block]:
    """One request per function code from the lowest to the highest address, ignoring the cap:
    the naive plan the optimal one is compared with."""
    blocks = []
    for function in sorted({f.function for f in fields}):
        same = tuple(f for f in fields if f.function == function)
        start = min(f.address for f in same)
        end = max(f.end for f in same)
        blocks.append(Block(function, start, end - start, same))
    return blocks
