"""``AdapterServices``: what the 2.0.1 blocks use of ``Ocpp201Adapter``, as one base Protocol.

Each block's own services Protocol extends it with what it needs more (its handlers, outbox,
options ...), so the adapter's common members are declared once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, Protocol

from chargepoint.ocpp201.device_model import DeviceModel
from chargepoint.ocppj.timestamps import Clock
from chargepoint.ports import StationPort


class AdapterServices(Protocol):
    """The station, the device model, the clock, the registration, CALLs and tasks."""

    @property
    def port(self) -> StationPort: ...
    @property
    def model(self) -> DeviceModel: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def registered(self) -> asyncio.Event: ...

    async def request(self, action: str, payload: dict[str, Any]) -> dict[str, Any]: ...

    def spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]: ...
