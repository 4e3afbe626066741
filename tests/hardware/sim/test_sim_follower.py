"""PinFollower: mock feedback inputs follow gpiozero outputs, and the injected faults."""

from __future__ import annotations

import asyncio

import pytest
from gpiozero import DigitalInputDevice, DigitalOutputDevice
from gpiozero.pins.mock import MockFactory

from hardware.sim.follower import PinFollower, PinRef, WatchedMockPin, follow_pulses


def test_feedback_follows_output_with_polarity() -> None:
    factory = MockFactory()
    follower = PinFollower(factory, [PinRef("GPIO5")], PinRef("GPIO6", active_high=False))
    out = DigitalOutputDevice("GPIO5", pin_factory=factory)
    mirror = DigitalInputDevice("GPIO6", pull_up=True, pin_factory=factory)
    follower.sync()
    assert factory.pin("GPIO6").state  # contact open, active-low: the pin reads high
    out.on()
    assert factory.pin("GPIO6").state == 0
    assert follower.feedback_active()
    out.off()
    assert not follower.feedback_active()
    follower.close()
    out.on()
    assert not follower.feedback_active()  # no longer following
    out.close()
    mirror.close()


def test_welded_mirror_stays_closed_until_cleared() -> None:
    factory = MockFactory()
    follower = PinFollower(factory, [PinRef(17)], PinRef(27))
    out = DigitalOutputDevice(17, pin_factory=factory)
    follower.sync()
    follower.welded = True
    out.on()
    assert follower.feedback_active()
    out.off()
    assert follower.feedback_active()  # welded
    follower.welded = False
    assert not follower.feedback_active()
    out.close()


def test_stuck_feedback_does_not_follow() -> None:
    factory = MockFactory()
    follower = PinFollower(factory, [PinRef(17)], PinRef(27))
    out = DigitalOutputDevice(17, pin_factory=factory)
    follower.stuck = True
    out.on()
    assert not follower.feedback_active()
    follower.stuck = False
    assert follower.feedback_active()
    out.close()


def test_motor_lock_pulses() -> None:
    factory = MockFactory()
    follower = PinFollower(factory, [PinRef(20), PinRef(21)], PinRef(26), follow_pulses)
    lock = DigitalOutputDevice(20, pin_factory=factory)
    unlock = DigitalOutputDevice(21, pin_factory=factory)
    lock.on()
    lock.off()
    assert follower.feedback_active()  # stays locked after the pulse
    unlock.on()
    unlock.off()
    assert not follower.feedback_active()
    lock.close()
    unlock.close()


async def test_delayed_feedback_arrives_on_the_loop() -> None:
    factory = MockFactory()
    loop = asyncio.get_running_loop()
    follower = PinFollower(factory, [PinRef(17)], PinRef(27), delay_s=0.01, loop=loop)
    out = DigitalOutputDevice(17, pin_factory=factory)
    changed = asyncio.Event()
    pin = factory.pin(27)
    assert isinstance(pin, WatchedMockPin)
    pin.listeners.append(changed.set)
    out.on()
    assert not follower.feedback_active()  # not yet
    await asyncio.wait_for(changed.wait(), 5)
    assert follower.feedback_active()
    out.close()


def test_pin_claimed_before_the_follower_is_refused() -> None:
    factory = MockFactory()
    out = DigitalOutputDevice(17, pin_factory=factory)
    with pytest.raises(ValueError, match="before its follower"):
        PinFollower(factory, [PinRef(17)], PinRef(27))
    out.close()


def test_delay_needs_a_loop() -> None:
    with pytest.raises(ValueError, match="loop"):
        PinFollower(MockFactory(), [PinRef(17)], PinRef(27), delay_s=0.1)
