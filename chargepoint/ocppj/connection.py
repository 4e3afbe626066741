"""Opening the WebSocket to the CSMS (OCPP-J 1.6 section 3; security whitepaper profiles 1-3).

- ``station_url(options)``: ``[ocpp] url`` + "/" + the percent-encoded station id.
- ``connect(options, ping_interval, subprotocol)``: one connection attempt; returns an open
  ``websockets`` client connection that agreed on ``subprotocol`` ("ocpp1.6" unless told,
  "ocpp2.0.1" for 2.0.1), or raises
  ``ConnectionError`` / ``OSError`` / ``websockets`` exceptions (the caller retries).
- ``Backoff``: randomized exponential backoff for the reconnect loop.
"""

from __future__ import annotations

import base64
import logging
import random
import ssl
from typing import Protocol
from urllib.parse import quote

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.typing import Subprotocol

from chargepoint.security.tls import client_context

LOG = logging.getLogger("chargepoint.ocpp")
SUBPROTOCOL = Subprotocol("ocpp1.6")
# websockets logs every frame, unredacted, at DEBUG: never let it (the frame log of
# ``chargepoint.logs`` shows frames with AuthorizationKey values replaced).
WS_LOG = logging.getLogger("chargepoint.ocpp.ws")
WS_LOG.setLevel(logging.INFO)


class Endpoint(Protocol):
    """Where and how to connect (``Ocpp16Options`` has these)."""

    @property
    def url(self) -> str: ...
    @property
    def station_id(self) -> str: ...
    @property
    def security_profile(self) -> int: ...
    @property
    def password(self) -> str | None: ...
    @property
    def ca_file(self) -> str | None: ...
    @property
    def cert_file(self) -> str | None: ...
    @property
    def key_file(self) -> str | None: ...
    @property
    def response_timeout_s(self) -> float: ...
    @property
    def max_frame_bytes(self) -> int: ...


def station_url(options: Endpoint) -> str:
    """OCPP-J 1.6 section 3.1.1: the charge point identity is the last path segment."""
    return options.url.rstrip("/") + "/" + quote(options.station_id, safe="")


def ssl_context(options: Endpoint) -> ssl.SSLContext | None:
    """TLS for security profiles 2 and 3 (``chargepoint.security.tls``: TLS 1.2 at least, the
    whitepaper's cipher suites, only the CSMS roots of ``ca_file``)."""
    if options.security_profile < 2:
        return None
    cert = options.cert_file if options.security_profile == 3 else None
    return client_context(options.ca_file, cert, options.key_file if cert else None)


def auth_headers(options: Endpoint) -> dict[str, str]:
    """HTTP Basic auth (station id : password) for security profiles 1 and 2."""
    if options.security_profile not in (1, 2) or options.password is None:
        return {}
    token = f"{options.station_id}:{options.password}".encode()
    return {"Authorization": "Basic " + base64.b64encode(token).decode("ascii")}


class SubprotocolRefused(ConnectionError):
    """The CSMS accepted the WebSocket but did not agree on the OCPP version's subprotocol."""


async def connect(options: Endpoint, ping_interval: float | None,
                  subprotocol: Subprotocol = SUBPROTOCOL) -> ClientConnection:
    """One connection attempt (see the module docstring). ``ping_interval`` None/0: no pings."""
    interval = ping_interval or None
    ws = await ws_connect(
        station_url(options),
        subprotocols=[subprotocol],
        additional_headers=auth_headers(options),
        ssl=ssl_context(options),
        ping_interval=interval,
        ping_timeout=interval,
        open_timeout=options.response_timeout_s,
        close_timeout=1.0,
        max_size=options.max_frame_bytes,
        logger=WS_LOG,  # bigger: closed with 1009 (RFC 6455 7.4.1)
    )
    if ws.subprotocol != subprotocol:
        # OCPP-J 1.6 section 3.1.2 (2.0.1 part 4 section 3.1.2): both sides must agree on the
        # OCPP version.
        await ws.close(code=1002, reason=f"{subprotocol} subprotocol required")
        raise SubprotocolRefused(f"CSMS did not agree on {subprotocol} (got {ws.subprotocol!r})")
    return ws


def set_ping_interval(ws: ClientConnection, interval: float) -> None:
    """Apply a new WebSocketPingInterval (0 disables) to an open connection at once."""
    task = ws.keepalive_task
    if task is not None:
        task.cancel()
        ws.keepalive_task = None
    ws.ping_interval = interval or None
    ws.ping_timeout = interval or None
    ws.start_keepalive()


class Backoff:
    """Randomized exponential backoff: min, 2*min, 4*min ... capped at max, each reduced by
    up to ``jitter`` x itself at random so that many stations do not reconnect in step."""

    def __init__(self, minimum: float, maximum: float, jitter: float,
                 rng: random.Random | None = None) -> None:
        self._min = minimum
        self._max = maximum
        self._jitter = jitter
        self._rng = rng or random.Random()
        self._attempt = 0

    def reset(self) -> None:
        """Call after a connection succeeded."""
        self._attempt = 0

    def next_delay(self) -> float:
        base = min(self._max, self._min * 2.0 ** min(self._attempt, 30))
        self._attempt += 1
        return base * (1.0 - self._jitter * self._rng.random())
