"""A test CSMS on 127.0.0.1 (port 0) built on the ``ocpp`` library's server side.

``Csms`` records every frame both ways (``frames``: list of ``Frame``), answers the station's
CALLs with configurable answers (``boot_status``, ``interval``, ``fail`` per action ...),
can go offline and come back on the same port, and can send any request to the station.
Await conditions with ``await csms.wait_for(action)`` rather than sleeping.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import ssl as ssl_module
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ocpp.exceptions import InternalError
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call_result
from websockets.asyncio.server import Server, ServerConnection, serve


@dataclass
class Frame:
    direction: str  # "in" (station -> CSMS) or "out"
    kind: int
    unique_id: str
    action: str | None
    payload: Any
    raw: str


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class _CsmsPeer(ChargePoint):  # the CSMS's view of one station
    def __init__(self, csms: Csms, ws: ServerConnection, station: str) -> None:
        super().__init__(station, ws, response_timeout=csms.call_timeout)
        self.csms = csms
        self.ws = ws

    async def route_message(self, raw_msg: str) -> None:
        self.csms._record("in", raw_msg)
        if self.csms.silent and raw_msg.startswith("[2"):
            self.csms.swallowed.add(json.loads(raw_msg)[1])
            return
        await super().route_message(raw_msg)

    async def _send(self, message: str) -> None:
        self.csms._record("out", message)
        await self.ws.send(message)

    def _maybe_fail(self, action: str) -> None:
        left = self.csms.fail.get(action, 0)
        if left:
            self.csms.fail[action] = left - 1
            raise InternalError(description=f"test failure for {action}")

    @on("BootNotification")
    def on_boot(self, **kw: Any) -> call_result.BootNotification:
        self._maybe_fail("BootNotification")
        return call_result.BootNotification(
            current_time=self.csms.clock(), interval=self.csms.interval,
            status=self.csms.boot_status)

    @on("Heartbeat")
    def on_heartbeat(self, **kw: Any) -> call_result.Heartbeat:
        self._maybe_fail("Heartbeat")
        return call_result.Heartbeat(current_time=self.csms.clock())

    @on("StatusNotification")
    def on_status(self, **kw: Any) -> call_result.StatusNotification:
        return call_result.StatusNotification()

    @on("Authorize")
    def on_authorize(self, id_tag: str, **kw: Any) -> call_result.Authorize:
        self._maybe_fail("Authorize")
        return call_result.Authorize(id_tag_info=self.csms.id_tag_info(id_tag))

    @on("StartTransaction")
    def on_start(self, id_tag: str, **kw: Any) -> call_result.StartTransaction:
        self._maybe_fail("StartTransaction")
        return call_result.StartTransaction(
            transaction_id=next(self.csms.tx_ids), id_tag_info=self.csms.id_tag_info(id_tag))

    @on("StopTransaction")
    def on_stop(self, **kw: Any) -> call_result.StopTransaction:
        self._maybe_fail("StopTransaction")
        tag = kw.get("id_tag")
        info = self.csms.id_tag_info(tag) if tag else None
        return call_result.StopTransaction(id_tag_info=info)

    @on("MeterValues")
    def on_meter(self, **kw: Any) -> call_result.MeterValues:
        self._maybe_fail("MeterValues")
        return call_result.MeterValues()

    @on("DataTransfer")
    def on_data(self, **kw: Any) -> call_result.DataTransfer:
        return call_result.DataTransfer(status="UnknownVendorId")

    @on("FirmwareStatusNotification")
    def on_fw(self, **kw: Any) -> call_result.FirmwareStatusNotification:
        return call_result.FirmwareStatusNotification()

    @on("DiagnosticsStatusNotification")
    def on_diag(self, **kw: Any) -> call_result.DiagnosticsStatusNotification:
        return call_result.DiagnosticsStatusNotification()

    # -- security whitepaper
    @on("SecurityEventNotification")
    def on_security_event(self, **kw: Any) -> call_result.SecurityEventNotification:
        return call_result.SecurityEventNotification()

    @on("SignCertificate")
    def on_sign_certificate(self, csr: str, **kw: Any) -> call_result.SignCertificate:
        return call_result.SignCertificate(status=self.csms.sign_status)

    @on("LogStatusNotification")
    def on_log_status(self, **kw: Any) -> call_result.LogStatusNotification:
        return call_result.LogStatusNotification()

    @on("SignedFirmwareStatusNotification")
    def on_signed_fw(self, **kw: Any) -> call_result.SignedFirmwareStatusNotification:
        return call_result.SignedFirmwareStatusNotification()


@dataclass
class Csms:
    boot_status: str = "Accepted"
    interval: int = 300
    tag_status: dict[str, str] = field(default_factory=dict)  # default Accepted
    fail: dict[str, int] = field(default_factory=dict)  # action -> CALLERRORs still to give
    silent: bool = False  # True: swallow the station's CALLs (no answer at all)
    frames: list[Frame] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    subprotocols: list[str | None] = field(default_factory=list)
    auth_headers: list[str | None] = field(default_factory=list)
    offer_subprotocol: bool = True
    port: int = 0
    ssl: ssl_module.SSLContext | None = None  # wss:// (security profiles 2 and 3)
    call_timeout: float = 5.0  # how long the CSMS waits for the station's answers
    parent: str | None = None  # parentIdTag in every idTagInfo
    swallowed: set[str] = field(default_factory=set)  # ids of CALLs never answered (silent)
    peer: _CsmsPeer | None = None
    clock: Callable[[], str] = now_iso  # currentTime of BootNotification / Heartbeat answers
    sign_status: str = "Accepted"  # SignCertificate.conf status
    peer_certs: list[bytes | None] = field(default_factory=list)  # client certificates (DER)

    def __post_init__(self) -> None:
        self.tx_ids = itertools.count(100)
        self._changed = asyncio.Condition()
        self._server: Server | None = None
        self._connected = asyncio.Event()

    def id_tag_info(self, id_tag: str) -> dict[str, Any]:
        info: dict[str, Any] = {"status": self.tag_status.get(id_tag, "Accepted")}
        if self.parent:
            info["parentIdTag"] = self.parent
        return info

    # -- lifecycle
    @property
    def url(self) -> str:
        scheme = "wss" if self.ssl is not None else "ws"
        return f"{scheme}://127.0.0.1:{self.port}/ocpp"

    async def start(self) -> None:
        protocols = ["ocpp1.6"] if self.offer_subprotocol else None
        self._server = await serve(self._handler, "127.0.0.1", self.port, ssl=self.ssl,
                                   subprotocols=protocols)  # type: ignore[arg-type]
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self, abrupt: bool = False) -> None:
        """Go offline: close the listening socket and every connection (``abrupt``: drop the
        TCP connections without a closing handshake, like a power cut of the CSMS)."""
        if self._server is not None:
            for ws in list(self._server.connections):
                if abrupt or not ws.transport.is_reading():
                    ws.transport.abort()
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        self.peer = None
        self._connected.clear()

    async def _handler(self, ws: ServerConnection) -> None:
        self.paths.append(ws.request.path if ws.request else "")
        self.subprotocols.append(ws.subprotocol)
        self.auth_headers.append(ws.request.headers.get("Authorization") if ws.request else None)
        tls = ws.transport.get_extra_info("ssl_object")
        self.peer_certs.append(tls.getpeercert(binary_form=True) if tls is not None else None)
        peer = _CsmsPeer(self, ws, (ws.request.path if ws.request else "").rsplit("/", 1)[-1])
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

    async def connected(self, timeout: float = 10) -> _CsmsPeer:
        await asyncio.wait_for(self._connected.wait(), timeout)
        assert self.peer is not None
        return self.peer

    # -- recording
    def _record(self, direction: str, raw: str) -> None:
        msg = json.loads(raw)
        action = msg[2] if msg[0] == 2 else None
        payload = msg[3] if msg[0] == 2 else (msg[2] if msg[0] == 3 else msg[2:])
        if msg[0] == 3 and direction == "out":
            action = self._action_of(msg[1])
        self.frames.append(Frame(direction, msg[0], str(msg[1]), action, payload, raw))
        asyncio.get_running_loop().create_task(self._notify())

    def _action_of(self, unique_id: str) -> str | None:
        for f in reversed(self.frames):
            if f.unique_id == unique_id and f.kind == 2:
                return f.action
        return None

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def calls(self, action: str | None = None) -> list[Frame]:
        """CALLs the station sent (optionally of one action), in order."""
        return [f for f in self.frames if f.direction == "in" and f.kind == 2
                and (action is None or f.action == action)]

    def errors_sent(self) -> list[Frame]:
        """CALLERRORs the CSMS sent (e.g. a schema-invalid CALL from the station)."""
        return [f for f in self.frames if f.direction == "out" and f.kind == 4]

    async def wait_until(self, pred: Callable[[], Any], timeout: float = 10) -> Any:
        async def waiter() -> Any:
            async with self._changed:
                while not (result := pred()):
                    await self._changed.wait()
                return result
        return await asyncio.wait_for(waiter(), timeout)

    async def wait_for(self, action: str, count: int = 1, timeout: float = 10) -> list[Frame]:
        """Wait until the station sent ``count`` CALLs of ``action``; return them."""
        return await self.wait_until(  # type: ignore[no-any-return]
            lambda: (c := self.calls(action)) and len(c) >= count and c, timeout)

    # -- CSMS-initiated requests
    async def send(self, payload: Any) -> Any:
        """Send a request (an ``ocpp.v16.call`` dataclass) and return the CALLRESULT."""
        peer = await self.connected()
        return await peer.call(payload, suppress=False)

    async def send_raw(self, text: str, unique_id: str, timeout: float = 5) -> Frame:
        """Send a raw frame; return the station's answer with ``unique_id``."""
        peer = await self.connected()
        await peer.ws.send(text)
        self._record_raw_out(text)
        return await self.wait_until(lambda: next(  # type: ignore[no-any-return]
            (f for f in self.frames if f.direction == "in" and f.kind in (3, 4)
             and f.unique_id == unique_id), None), timeout)

    def _record_raw_out(self, text: str) -> None:
        self.frames.append(Frame("out", 0, "", None, text, text))
