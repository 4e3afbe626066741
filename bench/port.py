"""A minimal ``chargepoint.ports.StationPort`` for running the OCPP adapter without a core.

Used where only the protocol side is measured (offline replay): every event is accepted and
answered with nothing, there is no meter, restarts are ignored.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from chargepoint.core.actions import Action
from chargepoint.core.events import Event
from chargepoint.core.view import ConnectorView
from chargepoint.store.api import StoreAPI
from hardware.interfaces import MeterReading


class QuietPort:
    """StationPort over ``store`` with ``connectors`` connectors and no core behind it."""

    def __init__(self, store: StoreAPI, connectors: int = 1) -> None:
        self._store = store
        self._connectors = connectors
        self.events = 0

    @property
    def store(self) -> StoreAPI:
        return self._store

    @property
    def connector_count(self) -> int:
        return self._connectors

    def submit(self, event: Event) -> list[Action]:
        self.events += 1
        return []

    def meter_reading(self, connector: int) -> MeterReading | None:
        return None

    async def fresh_meter_reading(self, connector: int) -> MeterReading | None:
        return None

    def request_restart(self, hard: bool) -> None:
        pass

    def now(self) -> float:
        return time.monotonic()

    def observe(self, callback: Callable[[Event | Action], None]) -> Callable[[], None]:
        return lambda: None  # no core: nothing to observe

    def offered_current(self, connector: int) -> float | None:
        return None

    def connector_view(self, connector: int) -> ConnectorView:
        raise NotImplementedError("no core: no connector views")

    async def durable(self) -> None:
        return None  # no core: no durable facts of its own to wait for
