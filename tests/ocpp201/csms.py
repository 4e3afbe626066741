"""A 2.0.1 test CSMS on 127.0.0.1 (port 0) built on ``ocpp.v201.ChargePoint`` (the library
validates every frame against the 2.0.1 schemas on its side too).

``Csms201`` records every frame both ways (``frames``), answers the station's CALLs
(``boot_status``, ``interval``, ``token_status``, ``token_groups``, ``sign_status``), can go
offline and come back on the same port, and sends requests to the station (``send``). With
``ssl`` it serves wss:// and records each connection's Basic auth header and client
certificate. Await with ``wait_for``, never sleep.
"""

from __future__ import annotations

import asyncio
import json
import ssl as ssl_module
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ocpp.exceptions import InternalError
from ocpp.routing import on
from ocpp.v201 import ChargePoint, call_result
from websockets.asyncio.server import Server, ServerConnection, serve


@dataclass
class Frame:
    direction: str  # "in" (station -> CSMS) or "out"
    kind: int
    unique_id: str
    action: str | None
    payload: Any


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class _Peer(ChargePoint):
    def __init__(self, csms: Csms201, ws: ServerConnection, station: str) -> None:
        super().__init__(station, ws, response_timeout=csms.call_timeout)
        self.csms = csms
        self.ws = ws

    async def route_message(self, raw_msg: str) -> None:
        self.csms.record("in", raw_msg)
        await super().route_message(raw_msg)

    async def _send(self, message: str) -> None:
        self.csms.record("out", message)
        await self.ws.send(message)

    @on("BootNotification")
    def on_boot(self, **kw: Any) -> call_result.BootNotification:
        return call_result.BootNotification(current_time=now_iso(), interval=self.csms.interval,
                                            status=self.csms.boot_status)

    @on("Heartbeat")
    def on_heartbeat(self, **kw: Any) -> call_result.Heartbeat:
        return call_result.Heartbeat(current_time=now_iso())

    @on("StatusNotification")
    def on_status(self, **kw: Any) -> call_result.StatusNotification:
        return call_result.StatusNotification()

    @on("Authorize")
    def on_authorize(self, id_token: dict[str, Any], **kw: Any) -> call_result.Authorize:
        status = self.csms.token_status.get(id_token["id_token"], "Accepted")
        info: dict[str, Any] = {"status": status}
        if (group := self.csms.token_groups.get(id_token["id_token"])) is not None:
            info["groupIdToken"] = {"idToken": group, "type": "Central"}
        return call_result.Authorize(id_token_info=info)

    @on("TransactionEvent")
    def on_transaction_event(self, **kw: Any) -> call_result.TransactionEvent:
        if self.csms.refuse_events > 0:  # answer with a CALLERROR (a failed attempt)
            self.csms.refuse_events -= 1
            raise InternalError(description="refused by the test")
        token = (kw.get("id_token") or {}).get("id_token")
        if token in self.csms.event_token_status:
            return call_result.TransactionEvent(
                id_token_info={"status": self.csms.event_token_status[token]})
        return call_result.TransactionEvent()

    @on("NotifyReport")
    def on_notify_report(self, **kw: Any) -> call_result.NotifyReport:
        return call_result.NotifyReport()

    @on("FirmwareStatusNotification")
    def on_firmware_status(self, **kw: Any) -> call_result.FirmwareStatusNotification:
        return call_result.FirmwareStatusNotification()

    @on("LogStatusNotification")
    def on_log_status(self, **kw: Any) -> call_result.LogStatusNotification:
        return call_result.LogStatusNotification()

    @on("ReservationStatusUpdate")
    def on_reservation_status_update(self, **kw: Any) -> call_result.ReservationStatusUpdate:
        return call_result.ReservationStatusUpdate()

    @on("ReportChargingProfiles")
    def on_report_charging_profiles(self, **kw: Any) -> call_result.ReportChargingProfiles:
        return call_result.ReportChargingProfiles()

    @on("SecurityEventNotification")
    def on_security_event(self, **kw: Any) -> call_result.SecurityEventNotification:
        return call_result.SecurityEventNotification()

    @on("SignCertificate")
    def on_sign_certificate(self, csr: str, **kw: Any) -> call_result.SignCertificate:
        return call_result.SignCertificate(status=self.csms.sign_status)

    @on("MeterValues")
    def on_meter_values(self, **kw: Any) -> call_result.MeterValues:
        return call_result.MeterValues()

    @on("NotifyEvent")
    def on_notify_event(self, **kw: Any) -> call_result.NotifyEvent:
        return call_result.NotifyEvent()

    @on("DataTransfer")
    def on_data_transfer(self, vendor_id: str, data: Any = None,
                         **kw: Any) -> call_result.DataTransfer:
        return call_result.DataTransfer(status=self.csms.data_transfer_status, data=data)


@dataclass
class Csms201:
    boot_status: str = "Accepted"
    interval: int = 300
    token_status: dict[str, str] = field(default_factory=dict)  # default Accepted
    refuse_events: int = 0  # TransactionEvents still to answer with a CALLERROR
    token_groups: dict[str, str] = field(default_factory=dict)  # Authorize's groupIdToken
    # idTokenInfo status in TransactionEventResponse for these idTokens (others: none)
    event_token_status: dict[str, str] = field(default_factory=dict)
    data_transfer_status: str = "Accepted"  # DataTransfer from the station (data echoed)
    call_timeout: float = 5.0  # how long ``send`` waits for the station's answer
    frames: list[Frame] = field(default_factory=list)
    subprotocols: list[str | None] = field(default_factory=list)
    port: int = 0
    peer: _Peer | None = None
    ssl: ssl_module.SSLContext | None = None  # wss:// (security profiles 2 and 3)
    auth_headers: list[str | None] = field(default_factory=list)  # per connection
    peer_certs: list[bytes | None] = field(default_factory=list)  # client certificates (DER)
    sign_status: str = "Accepted"  # SignCertificateResponse status

    def __post_init__(self) -> None:
        self._changed = asyncio.Condition()
        self._server: Server | None = None
        self._connected = asyncio.Event()

    @property
    def url(self) -> str:
        return f"{'wss' if self.ssl is not None else 'ws'}://127.0.0.1:{self.port}/ocpp"

    async def start(self) -> None:
        self._server = await serve(self._handler, "127.0.0.1", self.port, ssl=self.ssl,
                                   subprotocols=["ocpp2.0.1"])  # type: ignore[list-item]
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            for ws in list(self._server.connections):
                ws.transport.abort()
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        self.peer = None
        self._connected.clear()

    async def _handler(self, ws: ServerConnection) -> None:
        self.subprotocols.append(ws.subprotocol)
        self.auth_headers.append(ws.request.headers.get("Authorization") if ws.request else None)
        tls = ws.transport.get_extra_info("ssl_object")
        self.peer_certs.append(tls.getpeercert(binary_form=True) if tls is not None else None)
        peer = _Peer(self, ws, (ws.request.path if ws.request else "").rsplit("/", 1)[-1])
        self.peer = peer
        self._connected.set()
        await self._notify()
        try:
            await peer.start()
        except Exception:
            pass
        finally:
            if self.peer is peer:
                self.peer = None
                self._connected.clear()

    def record(self, direction: str, raw: str) -> None:
        msg = json.loads(raw)
        action = msg[2] if msg[0] == 2 else None
        payload = msg[3] if msg[0] == 2 else msg[2] if msg[0] == 3 else msg[2:]
        self.frames.append(Frame(direction, msg[0], str(msg[1]), action, payload))
        asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def calls(self, action: str | None = None) -> list[Frame]:
        return [f for f in self.frames if f.direction == "in" and f.kind == 2
                and (action is None or f.action == action)]

    def events(self) -> list[dict[str, Any]]:
        """The TransactionEvent payloads the station sent, in order."""
        return [f.payload for f in self.calls("TransactionEvent")]

    def errors_sent(self) -> list[Frame]:
        return [f for f in self.frames if f.direction == "out" and f.kind == 4]

    async def wait_until(self, pred: Callable[[], Any], timeout: float = 10) -> Any:
        async def waiter() -> Any:
            async with self._changed:
                while not (result := pred()):
                    await self._changed.wait()
                return result
        return await asyncio.wait_for(waiter(), timeout)

    async def wait_for(self, action: str, count: int = 1, timeout: float = 10) -> list[Frame]:
        return await self.wait_until(  # type: ignore[no-any-return]
            lambda: (c := self.calls(action)) and len(c) >= count and c, timeout)

    async def connected(self, timeout: float = 10) -> _Peer:
        await asyncio.wait_for(self._connected.wait(), timeout)
        assert self.peer is not None
        return self.peer

    async def send(self, request: Any) -> Any:
        """Send a request (an ``ocpp.v201.call`` dataclass); return the CALLRESULT."""
        peer = await self.connected()
        return await peer.call(request, suppress=False)
