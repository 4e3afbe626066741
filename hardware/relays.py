"""Contactor, connector lock, RCD and power-fail inputs on Raspberry Pi GPIOs (gpiozero).

Every device compares what it was commanded with what its feedback contact reports. A
disagreement that lasts longer than the configured limit is returned by ``check(now)`` as a
``RelayMismatch``; ``since`` is the moment the disagreement started (normally the command).
A disagreement that appears later on its own (a mirror contact that drops while the contactor
is held closed, a contactor found welded at boot) is timed from the first ``check`` that saw it.

The caller passes monotonic ``now`` values; nothing here reads a clock or blocks. Every method
returns in microseconds (gpiozero pin reads and writes), as ``hardware.interfaces`` requires.
The one timed output, the motor lock's pulse, is ended by a gpiozero background blink (so it
ends even if nobody calls again) and, as a second guard, by ``check(now)``.

Polarity: ``active_high=True`` means a high pin is "on" (output) or "closed/locked/tripped"
(input). Feedback inputs use the internal pull resistor on the inactive side (see
``hardware.gpio``); the fail-safe inputs (RCD, power fail) pull towards their *active* level.
"""

from __future__ import annotations

from typing import Any

from gpiozero import DigitalInputDevice

from hardware.gpio import input_pin, output_pin
from hardware.interfaces import MismatchKind, RelayKind, RelayMismatch


class _MismatchClock:
    """When did command and feedback start to disagree? Pure; fed by the device's ``check``."""

    __slots__ = ("_start",)

    def __init__(self) -> None:
        self._start: float | None = None

    def commanded(self, now: float) -> None:
        """A new command: any disagreement from now on is timed from the command."""
        self._start = now

    def overdue(self, agree: bool, now: float, limit_s: float) -> float | None:
        """The start of a disagreement older than ``limit_s`` (inclusive), else ``None``."""
        if agree:
            self._start = None
            return None
        if self._start is None:
            self._start = now
        # 1 ns of slack: 5.3 - 5.0 is 0.2999... in binary floating point.
        return self._start if now - self._start >= limit_s - 1e-9 else None


def _check_limit(name: str, value: float) -> float:
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return value


class GpioContactor:
    """Main contactor driven by one output, confirmed by its mirror (auxiliary) contact.

    ``check(now)`` returns ``FAILED_TO_CLOSE`` when the mirror has not closed ``close_limit_s``
    after ``close()``, and ``WELDED`` when it has not opened ``open_limit_s`` after ``open()``
    (IEC 61851-1 / architecture: a welded contactor latches a PowerSwitchFailure in the core).
    """

    def __init__(
        self,
        out_pin: int,
        mirror_pin: int,
        *,
        active_high: bool = True,
        mirror_active_high: bool = True,
        close_limit_s: float = 0.3,
        open_limit_s: float = 0.3,
        pin_factory: Any = None,
    ) -> None:
        self._close_limit_s = _check_limit("close_limit_s", close_limit_s)
        self._open_limit_s = _check_limit("open_limit_s", open_limit_s)
        self._out = output_pin(out_pin, active_high=active_high, pin_factory=pin_factory)
        self._mirror = input_pin(
            mirror_pin, active_high=mirror_active_high, pin_factory=pin_factory
        )
        self._closed = False
        self._clock = _MismatchClock()

    def close(self, now: float) -> None:
        """Energise the coil. Only the core's safety interlock may decide to call this."""
        self._out.on()
        self._closed = True
        self._clock.commanded(now)

    def open(self, now: float) -> None:
        """De-energise the coil."""
        self._out.off()
        self._closed = False
        self._clock.commanded(now)

    @property
    def commanded_closed(self) -> bool:
        return self._closed

    def mirror_closed(self) -> bool:
        return bool(self._mirror.is_active)

    def check(self, now: float) -> RelayMismatch | None:
        """A mismatch older than its limit, or ``None``; call on every control tick."""
        limit = self._close_limit_s if self._closed else self._open_limit_s
        since = self._clock.overdue(self.mirror_closed() == self._closed, now, limit)
        if since is None:
            return None
        kind = MismatchKind.FAILED_TO_CLOSE if self._closed else MismatchKind.WELDED
        return RelayMismatch(RelayKind.CONTACTOR, kind, since)

    def release(self) -> None:
        """Open the coil and free the pins (on shutdown). Idempotent."""
        if self._out.closed:
            return
        self._out.off()
        self._out.close()
        self._mirror.close()


class _LockBase:
    """Shared feedback logic of the two lock kinds."""

    def __init__(
        self, feedback_pin: int, feedback_active_high: bool, limit_s: float, pin_factory: Any
    ) -> None:
        self._limit_s = _check_limit("limit_s", limit_s)
        self._feedback = input_pin(
            feedback_pin, active_high=feedback_active_high, pin_factory=pin_factory
        )
        self._locked = False
        self._clock = _MismatchClock()

    @property
    def commanded_locked(self) -> bool:
        return self._locked

    def is_locked(self) -> bool:
        """The feedback input: True when the lock reports locked."""
        return bool(self._feedback.is_active)

    def check(self, now: float) -> RelayMismatch | None:
        """``LOCK_FAILED`` / ``UNLOCK_FAILED`` when feedback has not followed within the limit."""
        since = self._clock.overdue(self.is_locked() == self._locked, now, self._limit_s)
        if since is None:
            return None
        kind = MismatchKind.LOCK_FAILED if self._locked else MismatchKind.UNLOCK_FAILED
        return RelayMismatch(RelayKind.LOCK, kind, since)


class MotorLock(_LockBase):
    """A motor lock (e.g. Type 2 socket actuators) driven through an H-bridge with two inputs.

    ``lock()`` pulses ``lock_pin`` for ``pulse_s``, ``unlock()`` pulses ``unlock_pin``; the two
    are never on together (the other one is switched off first: no shoot-through). The pulse
    ends on its own (gpiozero background blink, ``n=1``); ``check(now)`` also ends a pulse that
    is overdue, in case the blink thread could not run.
    """

    def __init__(
        self,
        lock_pin: int,
        unlock_pin: int,
        feedback_pin: int,
        pulse_s: float = 0.6,
        limit_s: float = 1.0,
        *,
        active_high: bool = True,
        feedback_active_high: bool = True,
        pin_factory: Any = None,
    ) -> None:
        super().__init__(feedback_pin, feedback_active_high, limit_s, pin_factory)
        self._pulse_s = _check_limit("pulse_s", pulse_s)
        self._lock_out = output_pin(lock_pin, active_high=active_high, pin_factory=pin_factory)
        self._unlock_out = output_pin(
            unlock_pin, active_high=active_high, pin_factory=pin_factory
        )
        self._pulse_end: float | None = None

    def lock(self, now: float) -> None:
        self._pulse(self._lock_out, self._unlock_out, now)
        self._locked = True

    def unlock(self, now: float) -> None:
        self._pulse(self._unlock_out, self._lock_out, now)
        self._locked = False

    def _pulse(self, on: Any, other: Any, now: float) -> None:
        other.off()
        on.blink(on_time=self._pulse_s, off_time=0, n=1, background=True)
        self._pulse_end = now + self._pulse_s
        self._clock.commanded(now)

    @property
    def pulsing(self) -> bool:
        """True while a lock or unlock output is on."""
        return bool(self._lock_out.is_active or self._unlock_out.is_active)

    def check(self, now: float) -> RelayMismatch | None:
        if self._pulse_end is not None and now >= self._pulse_end:
            self._lock_out.off()
            self._unlock_out.off()
            self._pulse_end = None
        return super().check(now)

    def release(self) -> None:
        """Both outputs off and the pins freed (on shutdown). Idempotent."""
        for dev in (self._lock_out, self._unlock_out):
            if not dev.closed:
                dev.off()
                dev.close()
        self._feedback.close()


class SolenoidLock(_LockBase):
    """A solenoid lock: the output is held on while locked, off to unlock."""

    def __init__(
        self,
        pin: int,
        feedback_pin: int,
        *,
        limit_s: float = 1.0,
        active_high: bool = True,
        feedback_active_high: bool = True,
        pin_factory: Any = None,
    ) -> None:
        super().__init__(feedback_pin, feedback_active_high, limit_s, pin_factory)
        self._out = output_pin(pin, active_high=active_high, pin_factory=pin_factory)

    def lock(self, now: float) -> None:
        self._out.on()
        self._locked = True
        self._clock.commanded(now)

    def unlock(self, now: float) -> None:
        self._out.off()
        self._locked = False
        self._clock.commanded(now)

    def release(self) -> None:
        """Output off and the pins freed (on shutdown). Idempotent."""
        if not self._out.closed:
            self._out.off()
            self._out.close()
        self._feedback.close()


class FailSafeInput:
    """A digital input whose *active* level means "something is wrong" (trip, mains failed).

    ``active_high`` gives the pin level that means active. ``pull_up`` selects the internal
    pull resistor; by default it pulls *towards the active level*, so that a contact (or an
    open-collector output) that holds the pin at the healthy level while all is well reads as
    active when it opens or its wire breaks (fail-safe).
    """

    def __init__(
        self,
        pin: int,
        active_high: bool = True,
        *,
        pull_up: bool | None = None,
        pin_factory: Any = None,
    ) -> None:
        self._active_high = active_high
        pull = active_high if pull_up is None else pull_up
        self._in = DigitalInputDevice(pin, pull_up=pull, pin_factory=pin_factory)

    def _active(self) -> bool:
        return bool(self._in.pin.state) == self._active_high

    def release(self) -> None:
        self._in.close()


class RcdInput(FailSafeInput):
    """Trip contact of an RCD / RCM (e.g. a 6 mA DC residual current monitor).

    ``active_high`` is the level that means *tripped*; a trip or a broken wire reads as
    tripped. E.g. ``active_high=True``: healthy contact closed to GND, pull-up.
    """

    def tripped(self) -> bool:
        return self._active()


class PowerFailInput(FailSafeInput):
    """Mains supervision input (``hardware.interfaces.PowerSupervisor``): a UPS HAT's "on
    battery" / power-loss output, or a mains-sense optocoupler.

    ``active_high`` is the level that means *mains failed*. The default pull goes towards that
    level, so a broken wire reads as a mains failure: the controller then stops its sessions
    with reason PowerLoss once and says so in the log, rather than missing a real outage in
    silence. E.g. an optocoupler whose transistor pulls the pin to GND while mains is present:
    ``active_high=True`` (pull-up). The level must be steady: smooth an optocoupler fed from
    AC (it would otherwise drop out at every zero crossing).
    """

    def mains_ok(self) -> bool:
        return not self._active()
