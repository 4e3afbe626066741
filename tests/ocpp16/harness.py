"""Test doubles for the OCPP 1.6 adapter: a recording ``StationPort`` and a station runner."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chargepoint.core.actions import Action, Reply
from chargepoint.core.events import Event
from chargepoint.core.view import ConnectorView
from chargepoint.ocpp16.adapter import Ocpp16Adapter
from chargepoint.ocpp16.options import Ocpp16Options
from chargepoint.store.db import Store
from hardware.interfaces import MeterReading


@dataclass
class FakeStationPort:
    """Records submitted events; answers request events with canned ``Reply`` statuses."""

    store: Store
    connector_count: int = 1
    replies: dict[str, str] = field(default_factory=dict)  # event class name -> Reply status
    events: list[Event] = field(default_factory=list)
    restarts: list[bool] = field(default_factory=list)
    readings: dict[int, MeterReading] = field(default_factory=dict)
    observers: list[Callable[[Event | Action], None]] = field(default_factory=list)
    offered: dict[int, float] = field(default_factory=dict)
    durable_waits: int = 0  # answers that waited for the station's durable writes
    fresh_reads: list[int] = field(default_factory=list)  # fresh_meter_reading calls

    def __post_init__(self) -> None:
        self.changed = asyncio.Event()

    def observe(self, callback: Callable[[Event | Action], None]) -> Callable[[], None]:
        self.observers.append(callback)
        return lambda: self.observers.remove(callback)

    def offered_current(self, connector: int) -> float | None:
        return self.offered.get(connector)

    def connector_view(self, connector: int) -> ConnectorView:
        raise NotImplementedError("the 1.6 adapter does not read connector views")

    def submit(self, event: Event) -> list[Action]:
        self.events.append(event)
        self.changed.set()
        status = self.replies.get(type(event).__name__)
        return [Reply(status)] if status is not None else []

    def meter_reading(self, connector: int) -> MeterReading | None:
        return self.readings.get(connector)

    async def fresh_meter_reading(self, connector: int) -> MeterReading | None:
        self.fresh_reads.append(connector)
        return self.readings.get(connector)

    def request_restart(self, hard: bool) -> None:
        self.restarts.append(hard)
        self.changed.set()

    def now(self) -> float:
        return time.monotonic()

    async def durable(self) -> None:
        self.durable_waits += 1

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    async def wait_for(self, kind: type, count: int = 1, timeout: float = 10) -> list[Any]:
        async def waiter() -> list[Any]:
            while len(found := self.of(kind)) < count:
                self.changed.clear()
                await self.changed.wait()
            return found
        return await asyncio.wait_for(waiter(), timeout)


@dataclass
class Station:
    adapter: Ocpp16Adapter
    port: FakeStationPort
    store: Store
    task: asyncio.Task[None]

    async def stop(self) -> None:
        await self.adapter.close()
        self.task.cancel()
        await asyncio.wait({self.task})


def options(url: str, **overrides: Any) -> Ocpp16Options:
    base: dict[str, Any] = dict(
        url=url, station_id="CP-1", vendor="TestVendor", model="TestModel", serial="SN1",
        firmware_version="1.2.3", meter_type="SDM630", meter_serial="M1",
        reconnect_min_s=0.05, reconnect_max_s=0.2, reconnect_jitter=0.5,
        response_timeout_s=2.0, boot_id="test-boot",
        initial_config={"TransactionMessageRetryInterval": "0", "MeterValueSampleInterval": "0",
                        "ClockAlignedDataInterval": "0", "WebSocketPingInterval": "0"})
    config = overrides.pop("config", {})
    base.update(overrides)
    base["initial_config"] = {**base["initial_config"], **config}
    return Ocpp16Options(**base)


async def start_station(db: Path, url: str, *, connectors: int = 1,
                        replies: dict[str, str] | None = None, **overrides: Any) -> Station:
    store = Store.open(db)
    port = FakeStationPort(store, connectors, dict(replies or {}))
    adapter = Ocpp16Adapter(port, options(url, **overrides))
    task = asyncio.ensure_future(adapter.run())
    return Station(adapter, port, store, task)
