"""A station with the security whitepaper wired in (``setup_security``) for the tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from chargepoint.ocpp16.adapter import Ocpp16Adapter
from chargepoint.ocpp16.firmware_handlers import setup_firmware
from chargepoint.ocpp16.security_handlers import SecurityHandlers, setup_security
from chargepoint.security.events import SecurityEvent
from chargepoint.security.settings import SecuritySettings
from chargepoint.store import writebehind
from chargepoint.store.db import Store
from tests.ocpp16.csms import Csms, Frame
from tests.ocpp16.harness import FakeStationPort, Station, options


@dataclass
class SecureStation(Station):
    security: SecurityHandlers

    async def raised(self, kind: str, timeout: float = 10) -> None:
        """Wait until ``kind`` was raised (when no CSMS can be told, e.g. TLS refused)."""
        seen = asyncio.Event()

        def listener(event: SecurityEvent) -> None:
            if event.kind == kind:
                seen.set()

        events = self.security.events
        events.listeners.append(listener)
        try:
            if not any(e.kind == kind for e in events.raised):
                await asyncio.wait_for(seen.wait(), timeout)
        finally:
            events.listeners.remove(listener)

    def queued_events(self) -> list[str]:
        """Types of the SecurityEventNotifications in the durable queue (flushes first)."""
        self.security.events.flush()
        return [m.payload["type"] for m in _queue(self.store)
                if m.action == "SecurityEventNotification"]


def _queue(store: Store) -> list[Any]:
    out = []
    with store._read() as conn:  # tests only: the whole queue
        rows = conn.execute("SELECT action, payload FROM outbox ORDER BY seq").fetchall()
    for action, payload in rows:
        out.append(type("Q", (), {"action": action, "payload": json.loads(payload)}))
    return out


SecureFactory = Callable[..., Awaitable[SecureStation]]


async def start_secure(directory: Path, url: str, *, db: str = "state.db",
                       settings: dict[str, Any] | None = None, firmware: bool = False,
                       **overrides: Any) -> SecureStation:
    """``firmware``: the firmware handlers too (``setup_firmware``, a fake installer), their
    manufacturer roots being the ones InstallCertificate writes."""
    store = Store.open(directory / db)
    port = FakeStationPort(store, 1)
    adapter = Ocpp16Adapter(port, options(url, **overrides))
    security = await setup_security(adapter, SecuritySettings(
        directory=directory / "security", manufacturer_roots=directory / "fw-roots",
        **(settings or {})))
    if firmware:
        from tests.firmware.fw_helpers import FakeInstaller

        setup_firmware(adapter, releases_dir=directory / "releases", work_dir=directory / "work",
                       roots_dir=directory / "fw-roots", running_version="1.0.0",
                       station_id="CP-1", installer=FakeInstaller(),
                       security=security.events)
    task = asyncio.ensure_future(adapter.run())
    return SecureStation(adapter, port, store, task, security)


@pytest.fixture
async def secure_station(csms: Csms, tmp_path: Path) -> AsyncIterator[SecureFactory]:
    stations: list[SecureStation] = []

    async def factory(**kw: Any) -> SecureStation:
        station = await start_secure(tmp_path, kw.pop("url", csms.url), **kw)
        stations.append(station)
        return station

    yield factory
    for station in stations:
        await station.stop()
        writebehind.flush_all(10)
        station.security.events.close()
        station.store.close()


def event_types(csms: Csms) -> list[str]:
    return [f.payload["type"] for f in csms.calls("SecurityEventNotification")]


async def wait_event(csms: Csms, kind: str, timeout: float = 10) -> Frame:
    """The first SecurityEventNotification of ``kind`` the CSMS received."""
    return await csms.wait_until(lambda: next(  # type: ignore[no-any-return]
        (f for f in csms.calls("SecurityEventNotification") if f.payload["type"] == kind),
        None), timeout)
