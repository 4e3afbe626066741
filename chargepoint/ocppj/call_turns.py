"""Whose CALL goes next: one CALL in flight at a time (OCPP-J), a driver's first.

OCPP-J allows one outstanding CALL per direction, so every message the station sends waits
for the one before it to be answered. A plain FIFO lets a CSMS bury the driver: a storm of
TriggerMessage follow-ups (or a long offline replay) queues up ahead of the Authorize of a
driver standing at the station with a card. ``CallTurns`` serves *urgent* callers (the
driver-facing messages, ``URGENT``) before the others; each class keeps its own arrival
order, so transaction messages are never reordered among themselves.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

URGENT = frozenset({"Authorize"})  # someone is waiting at the station for the answer


class CallTurns:
    """A lock with two waiting lines; ``turn(urgent)`` holds it for one CALL."""

    def __init__(self) -> None:
        self._busy = False
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._normal: deque[asyncio.Future[None]] = deque()

    def locked(self) -> bool:
        """True while a CALL holds the turn."""
        return self._busy

    @asynccontextmanager
    async def turn(self, urgent: bool = False) -> AsyncIterator[None]:
        if self._busy or self._urgent or self._normal:
            line = self._urgent if urgent else self._normal
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            line.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._hand_over()  # we were given the turn as we were cancelled
                else:
                    line.remove(waiter)
                raise
        else:
            self._busy = True
        try:
            yield
        finally:
            self._hand_over()

    def _hand_over(self) -> None:
        """Pass the turn to the next waiter (urgent line first), or free it."""
        for line in (self._urgent, self._normal):
            while line:
                waiter = line.popleft()
                if not waiter.done():
                    waiter.set_result(None)  # stays busy: the turn changes hands
                    return
        self._busy = False
