"""What the technician's commands need of the runtime (``chargepoint rfid read``, ``status``)."""

from __future__ import annotations

import asyncio
from typing import Any

from chargepoint.inputs import InputTracker
from hardware.interfaces import ConnectorHardware, Token


class TokenDiversion:
    """``chargepoint rfid read``: the next card goes to the technician, not to the core."""

    def __init__(self) -> None:
        self._waiters: list[asyncio.Future[Token]] = []

    @property
    def awaited(self) -> bool:
        """Someone waits for the next card."""
        return any(not w.done() for w in self._waiters)

    def take(self, token: Token) -> bool:
        """Hand ``token`` to whoever waits for one; False: nobody does (a session card)."""
        waiters, self._waiters = self._waiters, []
        live = [w for w in waiters if not w.done()]
        for waiter in live:
            waiter.set_result(token)
        return bool(live)

    async def next_token(self, timeout_s: float) -> Token | None:
        """The next card presented within ``timeout_s`` (None: none)."""
        waiter: asyncio.Future[Token] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await asyncio.wait_for(waiter, timeout_s)
        except TimeoutError:
            return None
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)


def hardware_view(hw: ConnectorHardware, inputs: InputTracker) -> dict[str, Any]:
    """What the hardware of one connector says right now (for status and selftest)."""
    pilot = inputs.last(hw.connector, "pilot")
    return {
        "pilot": pilot.value if pilot else None,
        "contactor": "closed" if hw.contactor.mirror_closed() else "open",
        "lock": None if hw.lock is None else ("locked" if hw.lock.is_locked() else "unlocked"),
    }
