"""Feedback contacts for relays on a gpiozero ``MockFactory``: an input pin that follows outputs.

On the bench the real relay classes (``hardware.relays``) drive mock output pins and read mock
input pins. A ``PinFollower`` plays the wiring and the mechanics in between: whenever an output
pin changes, the feedback input pin is driven to what the rule says (at once, or ``delay_s``
later on the asyncio loop), unless a fault is injected:

- ``stuck``: the feedback does not follow at all (a jammed lock, a broken auxiliary contact);
- ``welded``: once the feedback reads active it stays active (welded main contacts).

Contract: create the follower BEFORE the gpiozero devices that use its pins (it claims them with
a watching pin class), then call ``sync()`` once the devices exist (their pull-up set-up
overwrites the input level).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from gpiozero.pins.mock import MockFactory, MockPin

Rule = Callable[[tuple[bool, ...]], bool | None]


class WatchedMockPin(MockPin):  # type: ignore[misc]  # gpiozero is untyped
    """A ``MockPin`` that calls its listeners after every change of state (any thread)."""

    def __init__(self, factory: Any, info: Any) -> None:
        self.listeners: list[Callable[[], None]] = []
        super().__init__(factory, info)

    def _change_state(self, value: Any) -> bool:
        changed = bool(super()._change_state(value))
        if changed:
            for listener in list(self.listeners):
                listener()
        return changed


@dataclass(frozen=True, slots=True)
class PinRef:
    """A GPIO pin name (e.g. ``"GPIO17"`` or ``17``) and its polarity."""

    name: str | int
    active_high: bool = True


def follow_first(outputs: tuple[bool, ...]) -> bool | None:
    """Rule for a contactor or a solenoid lock: the feedback mirrors the single output."""
    return outputs[0]


def follow_pulses(outputs: tuple[bool, ...]) -> bool | None:
    """Rule for a motor lock with (lock, unlock) outputs: a lock pulse locks, an unlock pulse
    unlocks, no pulse (or both, a wiring error) leaves the lock where it is."""
    lock, unlock = outputs[0], outputs[1]
    if lock != unlock:
        return lock
    return None


def watched_pin(factory: MockFactory, ref: PinRef) -> WatchedMockPin:
    """Claim ``ref`` on ``factory`` as a watching pin. Raises ValueError if something else
    created that pin first."""
    pin = factory.pin(ref.name, pin_class=WatchedMockPin)
    if not isinstance(pin, WatchedMockPin):
        raise ValueError(f"pin {ref.name} was created before its follower")
    return pin


class PinFollower:
    """Drives ``feedback`` from ``outputs`` through ``rule`` (logical levels, polarity applied).

    ``delay_s > 0`` needs ``loop`` (the feedback changes on that loop ``delay_s`` after the
    output; calls from other threads are handed over safely).
    """

    def __init__(
        self,
        factory: MockFactory,
        outputs: Sequence[PinRef],
        feedback: PinRef,
        rule: Rule = follow_first,
        *,
        delay_s: float = 0.0,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        if delay_s < 0:
            raise ValueError(f"delay must not be negative, got {delay_s!r}")
        if delay_s > 0 and loop is None:
            raise ValueError("a feedback delay needs the asyncio loop")
        self._outputs = [(watched_pin(factory, ref), ref.active_high) for ref in outputs]
        self._feedback_ref = feedback
        self._feedback = watched_pin(factory, feedback)
        self._rule = rule
        self._delay_s = delay_s
        self._loop = loop
        self._stuck = False
        self._welded = False
        self._closed = False
        self._intended: bool | None = None  # where the last command put the mechanics
        self._pending = 0  # delayed changes scheduled but not yet applied
        self._pending_lock = threading.Lock()
        self._idle: asyncio.Event | None = None
        for pin, _ in self._outputs:
            pin.listeners.append(self._on_output_change)

    # -- faults -----------------------------------------------------------------------------

    @property
    def stuck(self) -> bool:
        return self._stuck

    @stuck.setter
    def stuck(self, value: bool) -> None:
        self._stuck = value
        if not value:
            self.sync()

    @property
    def welded(self) -> bool:
        return self._welded

    @welded.setter
    def welded(self, value: bool) -> None:
        self._welded = value
        if not value:
            self.sync()

    # -- levels -----------------------------------------------------------------------------

    def outputs_active(self) -> tuple[bool, ...]:
        """The logical level of every output pin (True: energised / commanded active)."""
        return tuple(bool(pin.state) == high for pin, high in self._outputs)

    def feedback_active(self) -> bool:
        """The logical level of the feedback pin (True: closed / locked)."""
        return bool(self._feedback.state) == self._feedback_ref.active_high

    def watch_feedback(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every change of the feedback pin (from the thread that
        changed it)."""
        self._feedback.listeners.append(listener)

    def sync(self) -> None:
        """Drive the feedback to what the outputs say now, or (when they say nothing, e.g.
        between motor pulses) to where the last command put it. No delay; respects faults."""
        target = self._rule(self.outputs_active())
        self._apply(self._intended if target is None else target)

    def close(self) -> None:
        """Stop following (pending delayed changes are dropped)."""
        for pin, _ in self._outputs:
            if self._on_output_change in pin.listeners:
                pin.listeners.remove(self._on_output_change)
        self._closed = True
        if self._idle is not None:
            self._idle.set()

    def _on_output_change(self) -> None:
        target = self._rule(self.outputs_active())
        if target is None:
            return
        self._intended = target
        if self._delay_s == 0 or self._loop is None:
            self._apply(target)
            return
        with self._pending_lock:
            self._pending += 1
        self._loop.call_soon_threadsafe(
            self._loop.call_later, self._delay_s, self._apply_delayed, target
        )

    def _apply_delayed(self, target: bool) -> None:
        try:
            self._apply(target)
        finally:
            with self._pending_lock:
                self._pending -= 1
                idle = self._pending == 0
            if idle and self._idle is not None:
                self._idle.set()

    async def wait_idle(self) -> None:
        """Return once every output change so far has reached the feedback (or been ignored
        because of a fault). Only meaningful with a delay; call on the follower's loop."""
        while True:
            with self._pending_lock:
                if self._pending == 0 or self._closed:
                    return
            if self._idle is None:
                self._idle = asyncio.Event()
            self._idle.clear()
            await self._idle.wait()

    def _apply(self, target: bool | None) -> None:
        if target is None or self._stuck or self._closed:
            return
        if self._welded and self.feedback_active() and not target:
            return  # welded contacts: the mirror never opens again
        level = target == self._feedback_ref.active_high
        if self._feedback.function != "input":
            return  # the feedback device was closed
        if level:
            self._feedback.drive_high()
        else:
            self._feedback.drive_low()
