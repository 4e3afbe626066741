"""Contactor, locks and RCD input over gpiozero's MockFactory (the test drives the inputs)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from gpiozero.pins.mock import MockFactory

from hardware.interfaces import (
    ConnectorLock,
    Contactor,
    MismatchKind,
    RelayKind,
    RelayMismatch,
    ResidualCurrentMonitor,
)
from hardware.relays import GpioContactor, MotorLock, RcdInput, SolenoidLock

OUT, MIRROR, LOCK, UNLOCK, FEEDBACK, RCD = 17, 27, 22, 23, 24, 25


@pytest.fixture
def factory() -> Iterator[MockFactory]:
    f = MockFactory()
    yield f
    f.reset()


def test_contactor_follows_mirror_without_mismatch(factory: MockFactory) -> None:
    c = GpioContactor(OUT, MIRROR, pin_factory=factory)
    assert isinstance(c, Contactor)
    out, mirror = factory.pin(OUT), factory.pin(MIRROR)
    assert out.state is False and not c.commanded_closed
    c.close(10.0)
    assert out.state is True and c.commanded_closed
    mirror.drive_high()
    assert c.mirror_closed()
    assert c.check(10.0) is None and c.check(100.0) is None
    c.open(200.0)
    assert out.state is False
    mirror.drive_low()
    assert c.check(200.1) is None and c.check(500.0) is None


def test_contactor_failed_to_close_exactly_at_limit(factory: MockFactory) -> None:
    c = GpioContactor(OUT, MIRROR, close_limit_s=0.3, pin_factory=factory)
    c.close(5.0)
    assert c.check(5.0) is None
    assert c.check(5.299) is None
    assert c.check(5.3) == RelayMismatch(RelayKind.CONTACTOR, MismatchKind.FAILED_TO_CLOSE, 5.0)


def test_contactor_welded_after_open_limit(factory: MockFactory) -> None:
    c = GpioContactor(OUT, MIRROR, open_limit_s=0.2, close_limit_s=1.0, pin_factory=factory)
    mirror = factory.pin(MIRROR)
    c.close(0.0)
    mirror.drive_high()
    assert c.check(0.05) is None
    c.open(1.0)
    assert c.check(1.19) is None
    assert c.check(1.2) == RelayMismatch(RelayKind.CONTACTOR, MismatchKind.WELDED, 1.0)
    mirror.drive_low()  # a technician freed it
    assert c.check(1.3) is None


def test_contactor_welded_found_at_boot_is_timed_from_first_check(factory: MockFactory) -> None:
    c = GpioContactor(OUT, MIRROR, pin_factory=factory)
    factory.pin(MIRROR).drive_high()  # welded before the process started
    assert c.check(50.0) is None
    assert c.check(50.29) is None
    mismatch = c.check(50.3)
    assert mismatch is not None and mismatch.kind is MismatchKind.WELDED
    assert mismatch.since == 50.0


def test_contactor_mirror_dropping_while_closed(factory: MockFactory) -> None:
    c = GpioContactor(OUT, MIRROR, pin_factory=factory)
    mirror = factory.pin(MIRROR)
    c.close(0.0)
    mirror.drive_high()
    assert c.check(0.1) is None
    mirror.drive_low()
    assert c.check(10.0) is None  # first seen now
    m = c.check(10.3)
    assert m is not None and m.kind is MismatchKind.FAILED_TO_CLOSE and m.since == 10.0


def test_contactor_active_low_polarity(factory: MockFactory) -> None:
    c = GpioContactor(OUT, MIRROR, active_high=False, mirror_active_high=False,
                      pin_factory=factory)
    out, mirror = factory.pin(OUT), factory.pin(MIRROR)
    assert out.state is True  # inactive = high for an active-low driver
    assert not c.mirror_closed()  # pull-up, contact open
    c.close(0.0)
    assert out.state is False
    mirror.drive_low()
    assert c.mirror_closed()
    assert c.check(1.0) is None


def test_contactor_rejects_bad_limit(factory: MockFactory) -> None:
    with pytest.raises(ValueError):
        GpioContactor(OUT, MIRROR, close_limit_s=0, pin_factory=factory)


def _wait_low(pin: object, timeout: float = 5.0) -> bool:
    # The pulse is ended by gpiozero's blink thread in real time; poll its effect.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pin.state:  # type: ignore[attr-defined]
            return True
        time.sleep(0.005)
    return False


def test_motor_lock_pulse_ends_by_itself(factory: MockFactory) -> None:
    lock = MotorLock(LOCK, UNLOCK, FEEDBACK, pulse_s=0.05, limit_s=1.0, pin_factory=factory)
    assert isinstance(lock, ConnectorLock)
    lock_pin, unlock_pin = factory.pin(LOCK), factory.pin(UNLOCK)
    lock.lock(0.0)
    assert lock.commanded_locked
    assert lock_pin.state is True and unlock_pin.state is False
    assert _wait_low(lock_pin)
    assert not lock.pulsing
    assert unlock_pin.state is False


def test_motor_lock_check_ends_an_overdue_pulse(factory: MockFactory) -> None:
    lock = MotorLock(LOCK, UNLOCK, FEEDBACK, pulse_s=30.0, limit_s=60.0, pin_factory=factory)
    lock.unlock(100.0)
    assert factory.pin(UNLOCK).state is True
    lock.check(129.0)
    assert factory.pin(UNLOCK).state is True
    lock.check(130.0)
    assert factory.pin(UNLOCK).state is False and not lock.pulsing


def test_motor_lock_never_drives_both_sides(factory: MockFactory) -> None:
    lock = MotorLock(LOCK, UNLOCK, FEEDBACK, pulse_s=30.0, limit_s=60.0, pin_factory=factory)
    lock.lock(0.0)
    lock.unlock(0.1)
    assert factory.pin(LOCK).state is False and factory.pin(UNLOCK).state is True
    lock.check(31.0)


def test_motor_lock_failures_within_limit(factory: MockFactory) -> None:
    lock = MotorLock(LOCK, UNLOCK, FEEDBACK, pulse_s=0.02, limit_s=1.0, pin_factory=factory)
    fb = factory.pin(FEEDBACK)
    lock.lock(0.0)
    assert lock.check(0.999) is None
    assert lock.check(1.0) == RelayMismatch(RelayKind.LOCK, MismatchKind.LOCK_FAILED, 0.0)
    fb.drive_high()
    assert lock.is_locked() and lock.check(1.1) is None
    lock.unlock(2.0)
    assert lock.check(2.5) is None
    assert lock.check(3.0) == RelayMismatch(RelayKind.LOCK, MismatchKind.UNLOCK_FAILED, 2.0)
    fb.drive_low()
    assert lock.check(3.1) is None
    assert _wait_low(factory.pin(UNLOCK))


def test_solenoid_lock(factory: MockFactory) -> None:
    lock = SolenoidLock(LOCK, FEEDBACK, limit_s=0.5, feedback_active_high=False,
                        pin_factory=factory)
    assert isinstance(lock, ConnectorLock)
    out, fb = factory.pin(LOCK), factory.pin(FEEDBACK)
    lock.lock(0.0)
    assert out.state is True
    assert lock.check(0.49) is None
    m = lock.check(0.5)
    assert m is not None and m.kind is MismatchKind.LOCK_FAILED
    fb.drive_low()  # active-low feedback: locked
    assert lock.is_locked() and lock.check(0.6) is None
    lock.unlock(1.0)
    assert out.state is False
    fb.drive_high()
    assert lock.check(5.0) is None


@pytest.mark.parametrize(
    ("active_high", "pull_up", "healthy_level", "tripped_level"),
    [(True, None, False, True), (False, None, True, False), (True, True, False, True)],
)
def test_rcd_input(
    factory: MockFactory,
    active_high: bool,
    pull_up: bool | None,
    healthy_level: bool,
    tripped_level: bool,
) -> None:
    rcd = RcdInput(RCD, active_high, pull_up=pull_up, pin_factory=factory)
    assert isinstance(rcd, ResidualCurrentMonitor)
    pin = factory.pin(RCD)
    (pin.drive_high if healthy_level else pin.drive_low)()
    assert not rcd.tripped()
    (pin.drive_high if tripped_level else pin.drive_low)()
    assert rcd.tripped()


@pytest.mark.parametrize("active_high", [True, False])
def test_rcd_default_pull_reads_broken_wire_as_tripped(factory: MockFactory,
                                                       active_high: bool) -> None:
    # The healthy contact holds the pin at the healthy level; a cut wire floats to the pull.
    rcd = RcdInput(RCD, active_high, pin_factory=factory)
    assert rcd.tripped()  # nothing drives the pin: the internal pull wins
    pin = factory.pin(RCD)
    (pin.drive_low if active_high else pin.drive_high)()
    assert not rcd.tripped()


def test_blink_thread_is_not_leaked(factory: MockFactory) -> None:
    before = threading.active_count()
    lock = MotorLock(LOCK, UNLOCK, FEEDBACK, pulse_s=0.01, limit_s=1.0, pin_factory=factory)
    lock.lock(0.0)
    assert _wait_low(factory.pin(LOCK))
    lock.release()
    deadline = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.005)
    assert threading.active_count() <= before
