"""A minimal OCPP 1.6J CSMS for the demo, built on the ``ocpp`` library's server side.

It accepts every BootNotification, authorizes every idTag, numbers transactions from 1 and
feeds every frame in both directions to a ``Timeline``. It listens on 127.0.0.1 only.
``DemoCsms`` is the server; its ``subprotocol`` and ``session_class`` say which version it
speaks (``chargepoint.demo.csms201.DemoCsms201`` is the 2.0.1 one).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from ocpp.routing import on as _on  # type: ignore[import-untyped]
from ocpp.v16 import ChargePoint as _OcppPeer  # type: ignore[import-untyped]
from ocpp.v16 import call_result
from ocpp.v16.datatypes import IdTagInfo  # type: ignore[import-untyped]
from ocpp.v16.enums import (  # type: ignore[import-untyped]
    Action,
    AuthorizationStatus,
    DataTransferStatus,
    RegistrationStatus,
)
from websockets.asyncio.server import Server, ServerConnection, serve

from chargepoint.demo.timeline import TO_CP, TO_CSMS, Timeline

SUBPROTOCOL = "ocpp1.6"
_F = TypeVar("_F", bound=Callable[..., Any])


def on(action: str) -> Callable[[_F], _F]:
    """``ocpp.routing.on`` with a type."""
    return cast(Callable[[_F], _F], _on(action))


def now_utc() -> str:
    """The CSMS's clock as an OCPP timestamp."""
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class Recorded:
    """Mixed into an ``ocpp`` library ChargePoint (either version): every frame both ways goes
    to the CSMS's timeline."""

    def __init__(self, ident: str, connection: ServerConnection, csms: DemoCsms) -> None:
        super().__init__(ident, connection)  # type: ignore[call-arg]
        self.csms = csms

    async def route_message(self, raw_msg: str) -> None:
        self.csms.timeline.frame(TO_CSMS, raw_msg)
        await super().route_message(raw_msg)  # type: ignore[misc]

    async def _send(self, message: str) -> None:
        self.csms.timeline.frame(TO_CP, message)
        await super()._send(message)  # type: ignore[misc]


class _StationSession(Recorded, _OcppPeer):  # type: ignore[misc]
    """The CSMS side of one station's connection."""

    @on(Action.boot_notification)
    def on_boot(self, **_: Any) -> call_result.BootNotification:
        return call_result.BootNotification(current_time=now_utc(),
                                            interval=self.csms.heartbeat_interval_s,
                                            status=RegistrationStatus.accepted)

    @on(Action.heartbeat)
    def on_heartbeat(self, **_: Any) -> call_result.Heartbeat:
        return call_result.Heartbeat(current_time=now_utc())

    @on(Action.status_notification)
    def on_status(self, **_: Any) -> call_result.StatusNotification:
        return call_result.StatusNotification()

    @on(Action.authorize)
    def on_authorize(self, id_tag: str, **_: Any) -> call_result.Authorize:
        return call_result.Authorize(id_tag_info=IdTagInfo(status=AuthorizationStatus.accepted))

    @on(Action.start_transaction)
    def on_start(self, id_tag: str, **_: Any) -> call_result.StartTransaction:
        return call_result.StartTransaction(
            transaction_id=next(self.csms.transaction_ids),
            id_tag_info=IdTagInfo(status=AuthorizationStatus.accepted))

    @on(Action.stop_transaction)
    def on_stop(self, **_: Any) -> call_result.StopTransaction:
        return call_result.StopTransaction(
            id_tag_info=IdTagInfo(status=AuthorizationStatus.accepted))

    @on(Action.meter_values)
    def on_meter_values(self, **_: Any) -> call_result.MeterValues:
        return call_result.MeterValues()

    @on(Action.data_transfer)
    def on_data_transfer(self, **_: Any) -> call_result.DataTransfer:
        return call_result.DataTransfer(status=DataTransferStatus.unknown_vendor_id)

    @on(Action.firmware_status_notification)
    def on_firmware_status(self, **_: Any) -> call_result.FirmwareStatusNotification:
        return call_result.FirmwareStatusNotification()

    @on(Action.diagnostics_status_notification)
    def on_diagnostics_status(self, **_: Any) -> call_result.DiagnosticsStatusNotification:
        return call_result.DiagnosticsStatusNotification()

    @on(Action.security_event_notification)
    def on_security_event(self, **_: Any) -> call_result.SecurityEventNotification:
        return call_result.SecurityEventNotification()


class DemoCsms:
    """``async with DemoCsms(timeline) as csms:`` then point a station at ``csms.url``."""

    subprotocol = SUBPROTOCOL
    session_class: type[Any] = _StationSession  # a Recorded ocpp ChargePoint

    def __init__(self, timeline: Timeline, *, heartbeat_interval_s: int = 300) -> None:
        self.timeline = timeline
        self.heartbeat_interval_s = heartbeat_interval_s
        self.transaction_ids = itertools.count(1)
        self.stations: dict[str, Any] = {}
        self._server: Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """The base URL; a station appends its identity as the last path segment."""
        return f"ws://127.0.0.1:{self.port}/ocpp"

    async def start(self) -> None:
        self._server = await serve(self._handler, "127.0.0.1", 0,
                                   subprotocols=[self.subprotocol])  # type: ignore[list-item]
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> DemoCsms:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _handler(self, connection: ServerConnection) -> None:
        path = connection.request.path if connection.request is not None else "/"
        ident = path.rstrip("/").rsplit("/", 1)[-1] or "unknown"
        session = self.session_class(ident, connection, self)
        self.stations[ident] = session
        try:
            await session.start()
        except Exception:  # the station went away (ConnectionClosed) or sent garbage
            pass
        finally:
            if self.stations.get(ident) is session:
                del self.stations[ident]
