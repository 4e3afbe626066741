"""``DurableEvents``: the ``EventSink`` of ``SecurityEvents`` for every OCPP version: each event
becomes a SecurityEventNotification in the store's outbound queue (A04.FR.02: kept across
restarts and offline periods), sent in order by the adapter's outbox once registered.

``DurableEvents(queue, clock, wake, loop, names=...)``: ``queue.enqueue`` is the store's,
``clock.stamp`` turns the event's monotonic time into the queued timestamp (resolved at send
time), ``wake`` tells the outbox (called on ``loop``, thread-safe). ``names`` renames the event
types for the wire (2.0.1 spells some differently); a name not in it is sent as it is.
``queue()`` runs on the events' writer thread (blocking store write).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from chargepoint.security.events import SecurityEvent

ACTION = "SecurityEventNotification"


class EventQueue(Protocol):
    def enqueue(self, action: str, payload: dict[str, Any], tx_local_id: int | None) -> int: ...


class Stamper(Protocol):
    def stamp(self, at: float | None = None) -> str: ...


class DurableEvents:
    def __init__(self, queue: EventQueue, clock: Stamper, wake: Callable[[], None],
                 loop: asyncio.AbstractEventLoop, *,
                 names: Mapping[str, str] | None = None) -> None:
        self._queue = queue
        self._clock = clock
        self._wake = wake
        self._loop = loop
        self._names = names or {}

    def queue(self, event: SecurityEvent) -> None:
        payload: dict[str, Any] = {"type": self._names.get(event.kind, event.kind),
                                   "timestamp": self._clock.stamp(event.at_mono)}
        if event.tech_info:
            payload["techInfo"] = event.tech_info
        self._queue.enqueue(ACTION, payload, None)
        with contextlib.suppress(RuntimeError):  # the loop is closed: sent after a restart
            self._loop.call_soon_threadsafe(self._wake)
