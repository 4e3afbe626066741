"""Misbehaving servers for the connection security events: a TLS server on a thread (it
sends the TLS alerts a real server sends) and a WebSocket server answering HTTP 401."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import AsyncIterator, Iterator

from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request, Response


@contextlib.contextmanager
def tls_server(ctx: ssl.SSLContext) -> Iterator[int]:
    """Accept TLS connections on 127.0.0.1 with ``ctx`` until the block ends; yields the
    port. Handshakes that fail end with the alert OpenSSL chose."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    sock.settimeout(0.2)
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(2)
            with contextlib.suppress(OSError), ctx.wrap_socket(conn, server_side=True) as tls:
                tls.recv(10)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        sock.close()


@contextlib.asynccontextmanager
async def unauthorized_server() -> AsyncIterator[int]:
    """A WebSocket endpoint that refuses every upgrade with HTTP 401 (wrong credentials)."""
    def refuse(connection: ServerConnection, request: Request) -> Response:
        return connection.respond(401, "Unauthorized\n")

    async def handler(ws: ServerConnection) -> None:
        await ws.close()

    async with serve(handler, "127.0.0.1", 0, process_request=refuse) as server:
        yield server.sockets[0].getsockname()[1]
