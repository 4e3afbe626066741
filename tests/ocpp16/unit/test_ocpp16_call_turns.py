"""One CALL in flight, the driver's first (chargepoint/ocppj/call_turns.py)."""

from __future__ import annotations

import asyncio

import pytest

from chargepoint.ocppj.call_turns import URGENT, CallTurns


async def _take(turns: CallTurns, name: str, urgent: bool, order: list[str],
                release: asyncio.Event) -> None:
    async with turns.turn(urgent):
        order.append(name)
        await release.wait()


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_urgent_waiters_go_before_earlier_normal_ones_each_line_in_order() -> None:
    turns, order, release = CallTurns(), [], asyncio.Event()
    first = asyncio.ensure_future(_take(turns, "busy", False, order, release))
    await _settle()
    waiting = [asyncio.ensure_future(_take(turns, name, urgent, order, release))
               for name, urgent in (("n1", False), ("n2", False), ("u1", True), ("u2", True))]
    await _settle()
    assert order == ["busy"] and turns.locked()
    release.set()
    await asyncio.gather(first, *waiting)
    assert order == ["busy", "u1", "u2", "n1", "n2"]
    assert not turns.locked()


async def test_one_holder_at_a_time() -> None:
    turns, inside, most = CallTurns(), 0, 0

    async def call(urgent: bool) -> None:
        nonlocal inside, most
        async with turns.turn(urgent):
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0)
            inside -= 1

    await asyncio.gather(*(call(n % 3 == 0) for n in range(50)))
    assert most == 1 and not turns.locked()


async def test_a_cancelled_waiter_leaves_the_line_and_the_turn_moves_on() -> None:
    turns, order, release = CallTurns(), [], asyncio.Event()
    first = asyncio.ensure_future(_take(turns, "busy", False, order, release))
    await _settle()
    gone = asyncio.ensure_future(_take(turns, "gone", True, order, release))
    after = asyncio.ensure_future(_take(turns, "after", False, order, release))
    await _settle()
    gone.cancel()
    release.set()
    await asyncio.gather(first, after)
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert order == ["busy", "after"] and not turns.locked()


async def test_cancelled_just_as_it_was_given_the_turn_passes_it_on() -> None:
    turns, order, release = CallTurns(), [], asyncio.Event()
    tasks: dict[str, asyncio.Future[None]] = {}

    async def holder() -> None:
        async with turns.turn():
            order.append("busy")
            await release.wait()
        tasks["unlucky"].cancel()  # handed the turn a moment ago, before it could run

    first = asyncio.ensure_future(holder())
    await _settle()
    tasks["unlucky"] = asyncio.ensure_future(_take(turns, "unlucky", False, order, release))
    after = asyncio.ensure_future(_take(turns, "after", False, order, release))
    await _settle()
    release.set()
    await asyncio.gather(first, after)
    with pytest.raises(asyncio.CancelledError):
        await tasks["unlucky"]
    assert order == ["busy", "after"] and not turns.locked()


def test_the_driver_facing_message_is_urgent() -> None:
    assert "Authorize" in URGENT
    assert not URGENT & {"StartTransaction", "StopTransaction", "MeterValues", "Heartbeat"}
