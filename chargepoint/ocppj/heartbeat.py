"""The Heartbeat of an OCPP-J connection, the same for every OCPP version (1.6 section 4.6,
2.0.1 B04): a Heartbeat only when nothing else was exchanged for the heartbeat interval."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from chargepoint.ocppj.rpc_errors import CallFailed

LOG = logging.getLogger("chargepoint.ocpp")


class Exchanging(Protocol):
    @property
    def last_exchange(self) -> float:
        """Monotonic time of the last frame sent or received."""


async def heartbeat_loop(client: Exchanging, interval_s: Callable[[], int],
                         wake: asyncio.Event, heartbeat: Callable[[], Awaitable[None]]) -> None:
    """Run for one connection: ``interval_s()`` read afresh each time (0: none), ``wake`` set
    when it changed."""
    while True:
        wake.clear()
        interval = interval_s()
        delay = client.last_exchange + interval - time.monotonic()
        if interval <= 0 or delay > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), delay if interval > 0 else None)
            continue
        try:
            await heartbeat()
        except (CallFailed, TimeoutError) as exc:
            LOG.warning("Heartbeat failed: %s", exc)
