"""Timer bookkeeping: the core asks for timers with actions and hears back with events.

Timer ids are ``"<kind>:<key>"``. A ``TimerExpired`` for an id that is not armed (cancelled,
or already fired) is stale and ignored: cancellation races with expiry in the I/O layer.
"""

from __future__ import annotations

from chargepoint.core.actions import Action, CancelTimer, StartTimer


class TimerBook:
    def __init__(self) -> None:
        self._armed: dict[str, float] = {}

    def start(self, timer_id: str, deadline: float, out: list[Action]) -> None:
        """Arm (or re-arm) ``timer_id``."""
        self._armed[timer_id] = deadline
        out.append(StartTimer(timer_id, deadline))

    def cancel(self, timer_id: str, out: list[Action]) -> None:
        """Disarm ``timer_id`` if armed (no action otherwise)."""
        if self._armed.pop(timer_id, None) is not None:
            out.append(CancelTimer(timer_id))

    def fire(self, timer_id: str) -> bool:
        """Consume an expiry; False when the timer was not armed (stale)."""
        return self._armed.pop(timer_id, None) is not None

    def armed(self, timer_id: str) -> bool:
        return timer_id in self._armed
