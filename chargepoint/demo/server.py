"""The demo CSMS's version-neutral part: the WebSocket server on 127.0.0.1 (port 0), one
``ocpp`` library ChargePoint per connected station, every frame both ways fed to a
``Timeline``. ``chargepoint.demo.csms`` (1.6) and ``chargepoint.demo.csms201`` (2.0.1) add
the answers of their version; each imports only its own ``ocpp`` version.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Self, TypeVar, cast

from ocpp.routing import on as _on  # type: ignore[import-untyped]
from websockets.asyncio.server import Server, ServerConnection, serve

from chargepoint.demo.timeline import TO_CP, TO_CSMS, Timeline

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

    def __init__(self, ident: str, connection: ServerConnection, csms: CsmsServer) -> None:
        super().__init__(ident, connection)  # type: ignore[call-arg]
        self.csms = csms

    async def route_message(self, raw_msg: str) -> None:
        self.csms.timeline.frame(TO_CSMS, raw_msg)
        await super().route_message(raw_msg)  # type: ignore[misc]

    async def _send(self, message: str) -> None:
        self.csms.timeline.frame(TO_CP, message)
        await super()._send(message)  # type: ignore[misc]


class CsmsServer:
    """The demo CSMS's server (either version): a subclass names its ``subprotocol`` and its
    ``session_class`` (a ``Recorded`` ``ocpp`` ChargePoint, one per connected station).

    ``async with Subclass(timeline) as csms:`` then point a station at ``csms.url``.
    """

    subprotocol = ""
    session_class: type[Any] = object

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

    async def __aenter__(self) -> Self:
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
