"""The relay board of one simulated connector: the REAL relay classes on a gpiozero MockFactory.

``SimBoard`` wires ``hardware.relays`` devices (contactor with mirror, motor or solenoid lock
with feedback, RCD input) to mock pins, and ``PinFollower``s play the mechanics so the
feedback inputs follow the outputs. Faults are injected with ``inject(kind, on)``.

Pins (BCM) of connector n (1-based): base = 2 + 6 * (n - 1); contactor out base, mirror
base+1, lock base+2, unlock base+3, lock feedback base+4, RCD base+5. GPIO0/1 (HAT EEPROM) are
left free, so a board has room for 4 connectors.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gpiozero.pins.mock import MockFactory

from hardware.relays import GpioContactor, MotorLock, RcdInput, SolenoidLock
from hardware.sim.follower import PinFollower, PinRef, follow_first, follow_pulses

INJECTABLE = ("welded", "lock", "rcd")


@dataclass(frozen=True, slots=True)
class BoardPins:
    """BCM pin numbers and polarities of one connector's relay board."""

    contactor: int
    mirror: int
    lock: int
    unlock: int
    lock_feedback: int
    rcd: int
    contactor_active_high: bool = True
    mirror_active_high: bool = False  # auxiliary contact to GND, internal pull-up
    lock_active_high: bool = True
    lock_feedback_active_high: bool = True
    rcd_active_high: bool = True  # fail-safe: healthy contact holds the pin low (pull-up)

    @classmethod
    def for_connector(cls, connector: int) -> BoardPins:
        if not 1 <= connector <= SimBoard.MAX_CONNECTORS:
            raise ValueError(f"connector must be 1..{SimBoard.MAX_CONNECTORS}, got {connector!r}")
        base = 2 + 6 * (connector - 1)
        return cls(base, base + 1, base + 2, base + 3, base + 4, base + 5)


class SimBoard:
    """Contactor, lock and RCD of one connector on ``factory``; ``close()`` frees the pins.

    ``lock_kind`` is ``"motor"`` (two pulse outputs) or ``"solenoid"`` (one held output).
    ``feedback_delay_s > 0`` makes mirror and lock feedback follow that much later on ``loop``.
    """

    MAX_CONNECTORS = 4

    def __init__(
        self,
        factory: MockFactory,
        connector: int,
        *,
        has_lock: bool = True,
        lock_kind: str = "motor",
        feedback_delay_s: float = 0.0,
        loop: asyncio.AbstractEventLoop | None = None,
        lock_pulse_s: float = 0.2,
    ) -> None:
        if lock_kind not in ("motor", "solenoid"):
            raise ValueError(f"lock_kind must be 'motor' or 'solenoid', got {lock_kind!r}")
        p = self.pins = BoardPins.for_connector(connector)
        self._followers: list[PinFollower] = []
        self._devices: list[Any] = []
        self._rcd_tripped = False
        try:
            # Followers first: they claim the pins with a watching pin class.
            self._contactor_follower = self._follow(
                factory,
                [PinRef(p.contactor, p.contactor_active_high)],
                PinRef(p.mirror, p.mirror_active_high),
                follow_first,
                feedback_delay_s,
                loop,
            )
            self.contactor = GpioContactor(
                p.contactor,
                p.mirror,
                active_high=p.contactor_active_high,
                mirror_active_high=p.mirror_active_high,
                pin_factory=factory,
            )
            self._devices.append(self.contactor)
            self._lock_follower: PinFollower | None = None
            self.lock: MotorLock | SolenoidLock | None = None
            if has_lock:
                self._build_lock(factory, lock_kind, feedback_delay_s, loop, lock_pulse_s)
            self.rcd = RcdInput(p.rcd, p.rcd_active_high, pull_up=True, pin_factory=factory)
            self._devices.append(self.rcd)
            self._rcd_pin = factory.pin(p.rcd)
            self._drive_rcd()
            for follower in self._followers:
                follower.sync()  # the inputs' pull set-up overwrote the levels
        except BaseException:
            self.close()
            raise

    def _follow(
        self,
        factory: MockFactory,
        outputs: list[PinRef],
        feedback: PinRef,
        rule: Any,
        delay_s: float,
        loop: asyncio.AbstractEventLoop | None,
    ) -> PinFollower:
        follower = PinFollower(factory, outputs, feedback, rule, delay_s=delay_s, loop=loop)
        self._followers.append(follower)
        return follower

    def _build_lock(
        self,
        factory: MockFactory,
        kind: str,
        delay_s: float,
        loop: asyncio.AbstractEventLoop | None,
        pulse_s: float,
    ) -> None:
        p = self.pins
        feedback = PinRef(p.lock_feedback, p.lock_feedback_active_high)
        lock_ref = PinRef(p.lock, p.lock_active_high)
        if kind == "motor":
            outs = [lock_ref, PinRef(p.unlock, p.lock_active_high)]
            self._lock_follower = self._follow(
                factory, outs, feedback, follow_pulses, delay_s, loop
            )
            self.lock = MotorLock(
                p.lock,
                p.unlock,
                p.lock_feedback,
                pulse_s=pulse_s,
                active_high=p.lock_active_high,
                feedback_active_high=p.lock_feedback_active_high,
                pin_factory=factory,
            )
        else:
            self._lock_follower = self._follow(
                factory, [lock_ref], feedback, follow_first, delay_s, loop
            )
            self.lock = SolenoidLock(
                p.lock,
                p.lock_feedback,
                active_high=p.lock_active_high,
                feedback_active_high=p.lock_feedback_active_high,
                pin_factory=factory,
            )
        self._devices.append(self.lock)

    def contacts_closed(self) -> bool:
        """Whether the main contacts conduct (what the mirror reports, welded included)."""
        return self._contactor_follower.feedback_active()

    def watch_contacts(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` whenever the main contacts open or close (from the thread that
        switched them: the caller hands over to its own)."""
        self._contactor_follower.watch_feedback(listener)

    async def settled(self) -> None:
        """Return once every output change so far reached its feedback (or was swallowed by
        an injected fault). Needed only with a feedback delay."""
        for follower in list(self._followers):
            await follower.wait_idle()

    def inject(self, kind: str, on: bool) -> None:
        """Set or clear one fault: ``welded``, ``lock`` or ``rcd``. Raises ValueError."""
        if kind == "welded":
            self._contactor_follower.welded = on
        elif kind == "lock":
            if self._lock_follower is None:
                raise ValueError("this connector has no lock")
            self._lock_follower.stuck = on
        elif kind == "rcd":
            self._rcd_tripped = on
            self._drive_rcd()
        else:
            raise ValueError(f"unknown board fault {kind!r}: one of {', '.join(INJECTABLE)}")

    def _drive_rcd(self) -> None:
        high = self._rcd_tripped == self.pins.rcd_active_high
        if high:
            self._rcd_pin.drive_high()
        else:
            self._rcd_pin.drive_low()

    def describe_contactor(self) -> dict[str, str]:
        return {
            "commanded": "closed" if self.contactor.commanded_closed else "open",
            "mirror": "closed" if self.contactor.mirror_closed() else "open",
        }

    def describe_lock(self) -> dict[str, str] | None:
        if self.lock is None:
            return None
        return {
            "commanded": "locked" if self.lock.commanded_locked else "unlocked",
            "feedback": "locked" if self.lock.is_locked() else "unlocked",
        }

    def close(self) -> None:
        """Stop the followers and release every device (outputs off). Idempotent."""
        for follower in self._followers:
            follower.close()
        self._followers.clear()
        for device in reversed(self._devices):
            device.release()
        self._devices.clear()
