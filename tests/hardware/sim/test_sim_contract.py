"""Contract tests: the same assertions for the bench's relays and for bare real devices.

"bare" is a real ``hardware.relays`` device on a MockFactory whose feedback pin the test drives
by hand, as a technician's wiring would; "board" is the bench's ``SimBoard`` (the same classes,
feedback played by ``PinFollower``), without and with a feedback delay.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory

from hardware.interfaces import ConnectorLock, Contactor, MismatchKind, RelayKind
from hardware.relays import GpioContactor, MotorLock, SolenoidLock
from hardware.sim.board import SimBoard
from hardware.sim.follower import WatchedMockPin

LIMIT = 0.3  # GpioContactor's default open/close limit
LOCK_LIMIT = 1.0


@dataclass
class Rig:
    """A device under contract test, how to let its feedback settle, and how to break it."""

    device: Any
    settle: Callable[[], Any]  # async: the feedback has followed the last command
    break_feedback: Callable[[], None]  # from now on the feedback no longer follows
    feedback_pin: Any


async def _await_pin(pin: Any, done: Callable[[], bool]) -> None:
    """Wait (on the pin's change listeners) until ``done()``; the board drives the pin."""
    if done():
        return
    assert isinstance(pin, WatchedMockPin)
    loop = asyncio.get_running_loop()
    changed = asyncio.Event()

    def listener() -> None:
        loop.call_soon_threadsafe(changed.set)

    pin.listeners.append(listener)
    try:
        while not done():
            await asyncio.wait_for(changed.wait(), 5)
            changed.clear()
    finally:
        pin.listeners.remove(listener)


def _drive(pin: Any, level: bool) -> None:
    if level:
        pin.drive_high()
    else:
        pin.drive_low()


@pytest.fixture(params=["bare", "board", "board_delayed"])
async def contactor_rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    factory = MockFactory()
    if request.param == "bare":
        dev = GpioContactor(5, 6, mirror_active_high=False, pin_factory=factory)
        pin = factory.pin(6)
        broken = [False]

        async def settle() -> None:
            if not broken[0]:
                _drive(pin, not dev.commanded_closed)  # active low mirror

        def brk() -> None:
            broken[0] = True

        yield Rig(dev, settle, brk, pin)
        dev.release()
        return
    delay = 0.01 if request.param == "board_delayed" else 0.0
    board = SimBoard(factory, 1, feedback_delay_s=delay, loop=asyncio.get_running_loop())
    pin = factory.pin(board.pins.mirror)
    dev = board.contactor
    welded = [False]

    async def settle_board() -> None:
        await board.settled()
        if not welded[0]:
            await _await_pin(pin, lambda: dev.mirror_closed() == dev.commanded_closed)

    def weld() -> None:
        welded[0] = True
        board.inject("welded", True)

    yield Rig(dev, settle_board, weld, pin)
    board.close()


async def test_contactor_starts_open_and_agrees(contactor_rig: Rig) -> None:
    c = contactor_rig.device
    assert isinstance(c, Contactor)
    assert not c.commanded_closed
    assert not c.mirror_closed()
    assert c.check(100.0) is None


async def test_contactor_close_then_open_with_feedback(contactor_rig: Rig) -> None:
    c = contactor_rig.device
    c.close(10.0)
    assert c.commanded_closed
    await contactor_rig.settle()
    assert c.mirror_closed()
    assert c.check(10.0 + 5 * LIMIT) is None
    c.open(20.0)
    assert not c.commanded_closed
    await contactor_rig.settle()
    assert not c.mirror_closed()
    assert c.check(20.0 + 5 * LIMIT) is None


async def test_contactor_welded_is_reported_after_the_limit(contactor_rig: Rig) -> None:
    c = contactor_rig.device
    c.close(10.0)
    await contactor_rig.settle()
    contactor_rig.break_feedback()
    c.open(20.0)
    await contactor_rig.settle()
    assert c.mirror_closed()  # the contacts stay closed
    assert c.check(20.0 + LIMIT / 2) is None  # within the limit
    mismatch = c.check(20.0 + LIMIT)
    assert mismatch is not None
    assert (mismatch.relay, mismatch.kind, mismatch.since) == (
        RelayKind.CONTACTOR,
        MismatchKind.WELDED,
        20.0,
    )


@pytest.fixture(params=["bare_motor", "bare_solenoid", "board_motor", "board_solenoid"])
async def lock_rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    factory = MockFactory()
    kind = "motor" if request.param.endswith("motor") else "solenoid"
    if request.param.startswith("bare"):
        dev: Any
        if kind == "motor":
            dev = MotorLock(20, 21, 26, pulse_s=0.05, pin_factory=factory)
        else:
            dev = SolenoidLock(20, 26, pin_factory=factory)
        pin = factory.pin(26)
        broken = [False]

        async def settle() -> None:
            if not broken[0]:
                _drive(pin, dev.commanded_locked)

        def brk() -> None:
            broken[0] = True

        yield Rig(dev, settle, brk, pin)
        dev.release()
        return
    board = SimBoard(factory, 2, lock_kind=kind, lock_pulse_s=0.05)
    assert board.lock is not None
    lock = board.lock
    pin = factory.pin(board.pins.lock_feedback)
    stuck = [False]

    async def settle_board() -> None:
        await board.settled()
        if not stuck[0]:
            await _await_pin(pin, lambda: lock.is_locked() == lock.commanded_locked)

    def jam() -> None:
        stuck[0] = True
        board.inject("lock", True)

    yield Rig(lock, settle_board, jam, pin)
    board.close()


async def test_lock_starts_unlocked(lock_rig: Rig) -> None:
    lk = lock_rig.device
    assert isinstance(lk, ConnectorLock)
    assert not lk.commanded_locked
    assert not lk.is_locked()
    assert lk.check(100.0) is None


async def test_lock_and_unlock_follow(lock_rig: Rig) -> None:
    lk = lock_rig.device
    lk.lock(10.0)
    assert lk.commanded_locked
    await lock_rig.settle()
    assert lk.is_locked()
    assert lk.check(10.0 + 2 * LOCK_LIMIT) is None
    lk.unlock(20.0)
    await lock_rig.settle()
    assert not lk.is_locked()
    assert lk.check(20.0 + 2 * LOCK_LIMIT) is None


async def test_lock_feedback_that_does_not_follow_is_lock_failed(lock_rig: Rig) -> None:
    lk = lock_rig.device
    lock_rig.break_feedback()
    lk.lock(10.0)
    await lock_rig.settle()
    assert not lk.is_locked()
    assert lk.check(10.0 + LOCK_LIMIT / 2) is None
    mismatch = lk.check(10.0 + LOCK_LIMIT)
    assert mismatch is not None
    assert (mismatch.relay, mismatch.kind, mismatch.since) == (
        RelayKind.LOCK,
        MismatchKind.LOCK_FAILED,
        10.0,
    )
