"""The bench's CSMS: a raw OCPP-J WebSocket server on 127.0.0.1 (port 0), OCPP 1.6 or 2.0.1.

Raw frames instead of the ``ocpp`` library's server side, so that the CSMS itself adds as
little as possible to what is measured. It answers every CALL of a station at once with a
valid canned result, records when each station's first BootNotification arrived
(``boot_at``: ``time.monotonic()``, comparable across processes on Linux), and sends CALLs to
a station: ``call()`` one at a time, ``load()`` at a fixed rate (open loop, bounded in flight)
recording each request's round trip.

Contract: ``Csms(interval=, version="1.6" | "2.0.1")`` (the one subprotocol it accepts and
the canned answers it gives); ``await start()``, then stations connect to ``url`` + "/" + id;
``await stop()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass(slots=True)
class LoadResult:
    """What ``load()`` saw: round trips (s) of answered requests and the rest."""

    latencies_s: list[float] = field(default_factory=list)
    sent: int = 0
    errors: int = 0  # CALLERROR answers
    skipped: int = 0  # not sent: too many requests already in flight (station too slow)
    unanswered: int = 0
    elapsed_s: float = 0.0

    @property
    def achieved_rate(self) -> float:
        return self.sent / self.elapsed_s if self.elapsed_s else 0.0


def _result_16(csms: Csms, action: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The canned 1.6 answer of a station CALL other than BootNotification / Heartbeat."""
    if action == "Authorize":
        return {"idTagInfo": {"status": "Accepted"}}
    if action == "StartTransaction":
        return {"transactionId": next(csms.tx_ids), "idTagInfo": {"status": "Accepted"}}
    if action == "StopTransaction":
        return {"idTagInfo": {"status": "Accepted"}} if "idTag" in payload else {}
    if action == "DataTransfer":
        return {"status": "UnknownVendorId"}
    return {}  # StatusNotification, MeterValues, Firmware/DiagnosticsStatusNotification


def _result_201(action: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The canned 2.0.1 answer of a station CALL other than BootNotification / Heartbeat:
    StatusNotification, NotifyReport ... take an empty answer."""
    if action == "Authorize" or (action == "TransactionEvent" and "idToken" in payload):
        return {"idTokenInfo": {"status": "Accepted"}}
    if action == "DataTransfer":
        return {"status": "UnknownVendorId"}
    return {}


SUBPROTOCOLS = {"1.6": Subprotocol("ocpp1.6"), "2.0.1": Subprotocol("ocpp2.0.1")}


class _Peer:
    """One connected station."""

    def __init__(self, csms: Csms, ws: ServerConnection, station_id: str) -> None:
        self.csms = csms
        self.ws = ws
        self.station_id = station_id
        self.pending: dict[str, tuple[float, asyncio.Future[tuple[float, list[Any]]]]] = {}
        self.ids = itertools.count(1)

    async def serve(self) -> None:
        async for raw in self.ws:
            now = time.monotonic()
            msg = json.loads(raw)
            if msg[0] == 2:
                await self._answer(now, msg)
            elif msg[0] in (3, 4):
                entry = self.pending.pop(str(msg[1]), None)
                if entry is not None and not entry[1].done():
                    entry[1].set_result((now, msg))

    async def _answer(self, now: float, msg: list[Any]) -> None:
        unique_id, action, payload = str(msg[1]), str(msg[2]), msg[3]
        csms = self.csms
        csms.received[action] += 1
        if action == "BootNotification":
            csms.boot_at.setdefault(self.station_id, now)
            result: dict[str, Any] = {"currentTime": _now_iso(), "interval": csms.interval,
                                      "status": "Accepted"}
            csms.booted.set()
        elif action == "Heartbeat":
            result = {"currentTime": _now_iso()}
        elif csms.version == "2.0.1":
            result = _result_201(action, payload)
        else:
            result = _result_16(csms, action, payload)
        await self.ws.send(json.dumps([3, unique_id, result]))
        csms.changed.set()

    async def send_call(self, action: str, payload: dict[str, Any]) -> asyncio.Future[
            tuple[float, list[Any]]]:
        """Send a CALL; the future gets (arrival time, answer frame)."""
        unique_id = f"b{next(self.ids)}"
        future: asyncio.Future[tuple[float, list[Any]]] = (
            asyncio.get_running_loop().create_future())
        frame = json.dumps([2, unique_id, action, payload])
        self.pending[unique_id] = (time.monotonic(), future)
        await self.ws.send(frame)
        return future


class Csms:
    """See the module docstring. ``interval`` is the HeartbeatInterval given at boot."""

    def __init__(self, *, interval: int = 300, version: str = "1.6") -> None:
        if version not in SUBPROTOCOLS:
            raise ValueError(f"OCPP version {version!r}: one of {', '.join(SUBPROTOCOLS)}")
        self.interval = interval
        self.version = version
        self.received: Counter[str] = Counter()
        self.boot_at: dict[str, float] = {}
        self.booted = asyncio.Event()
        self.changed = asyncio.Event()
        self.tx_ids = itertools.count(1)
        self.peers: dict[str, _Peer] = {}
        self._connected: dict[str, asyncio.Event] = {}
        self._server: Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ocpp"

    async def start(self) -> None:
        self._server = await serve(self._handler, "127.0.0.1", 0,
                                   subprotocols=[SUBPROTOCOLS[self.version]], max_size=2**22)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _handler(self, ws: ServerConnection) -> None:
        path = ws.request.path if ws.request else ""
        station_id = path.rsplit("/", 1)[-1]
        peer = _Peer(self, ws, station_id)
        self.peers[station_id] = peer
        self._event(station_id).set()
        with contextlib.suppress(ConnectionClosed):
            await peer.serve()
        if self.peers.get(station_id) is peer:
            del self.peers[station_id]
            self._event(station_id).clear()

    def _event(self, station_id: str) -> asyncio.Event:
        return self._connected.setdefault(station_id, asyncio.Event())

    async def peer(self, station_id: str, timeout: float = 30.0) -> _Peer:
        """The connection of ``station_id`` (waits for it)."""
        await asyncio.wait_for(self._event(station_id).wait(), timeout)
        return self.peers[station_id]

    async def wait_booted(self, station_id: str, timeout: float = 60.0) -> float:
        """Wait for the first BootNotification of ``station_id``; its arrival time."""
        async def until() -> float:
            while station_id not in self.boot_at:
                self.changed.clear()
                await self.changed.wait()
            return self.boot_at[station_id]
        return await asyncio.wait_for(until(), timeout)

    async def wait_received(self, action: str, count: int, timeout: float) -> None:
        """Wait until ``count`` CALLs of ``action`` arrived (from any station)."""
        async def until() -> None:
            while self.received[action] < count:
                self.changed.clear()
                await self.changed.wait()
        await asyncio.wait_for(until(), timeout)

    async def call(self, station_id: str, action: str, payload: dict[str, Any],
                   timeout: float = 10.0) -> tuple[float, list[Any]]:
        """One CALL; returns (round trip in s, answer frame)."""
        peer = await self.peer(station_id)
        t0 = time.monotonic()
        future = await peer.send_call(action, payload)
        arrived, answer = await asyncio.wait_for(future, timeout)
        return arrived - t0, answer

    async def load(self, station_id: str, requests: list[tuple[str, dict[str, Any]]], *,
                   rate: float, duration_s: float, max_in_flight: int = 200,
                   stop: asyncio.Event | None = None) -> LoadResult:
        """Send ``requests`` round robin at ``rate`` per second for ``duration_s`` (or until
        ``stop`` is set), without waiting for answers (at most ``max_in_flight``)."""
        peer = await self.peer(station_id)
        result = LoadResult()
        futures: list[tuple[float, asyncio.Future[tuple[float, list[Any]]]]] = []
        in_flight = 0
        start = time.monotonic()
        period = 1.0 / rate

        def done(_: object) -> None:
            nonlocal in_flight
            in_flight -= 1

        for n in itertools.count():
            due = start + n * period
            if due - start >= duration_s or (stop is not None and stop.is_set()):
                break
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if in_flight >= max_in_flight:
                result.skipped += 1
                continue
            action, payload = requests[n % len(requests)]
            t0 = time.monotonic()
            try:
                future = await peer.send_call(action, payload)
            except ConnectionClosed:
                break
            in_flight += 1
            future.add_done_callback(done)
            futures.append((t0, future))
            result.sent += 1
        result.elapsed_s = time.monotonic() - start
        if futures:
            await asyncio.wait([f for _, f in futures], timeout=10.0)
        for t0, future in futures:
            if not future.done():
                result.unanswered += 1
                future.cancel()
                continue
            arrived, answer = future.result()
            if answer[0] == 4:
                result.errors += 1
            else:
                result.latencies_s.append(arrived - t0)
        return result
