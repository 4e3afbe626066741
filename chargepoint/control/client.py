"""Client side of the control socket (used by the CLI)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from chargepoint.control.protocol import MAX_REQUEST, encode


class ControlUnavailable(ConnectionError):
    """No controller answers on the socket (not running, wrong path, no permission)."""


class ControlFailed(Exception):
    """The controller answered ``{"ok": false}``; ``str()`` is its reason."""


class ControlClient:
    """One connection to the controller. ``async with ControlClient(path) as c: ...``."""

    def __init__(self, path: str, timeout_s: float = 10.0) -> None:
        self.path = path
        self.timeout_s = timeout_s
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> ControlClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def connect(self) -> None:
        """Raises ``ControlUnavailable`` when nothing listens on the socket."""
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_unix_connection(self.path, limit=16 * MAX_REQUEST), self.timeout_s)
        except (OSError, TimeoutError) as exc:
            raise ControlUnavailable(_why(self.path, exc)) from None

    async def call(self, cmd: str, args: dict[str, Any] | None = None,
                   timeout_s: float | None = None) -> Any:
        """Send one request and return its ``result``.

        Raises ``ControlFailed`` on an error reply and ``ControlUnavailable`` when the
        connection breaks or no reply comes within ``timeout_s`` (default: the client's).
        """
        await self.send(cmd, args)
        return await self.receive(timeout_s)

    async def send(self, cmd: str, args: dict[str, Any] | None = None) -> None:
        """The first half of ``call``: the request is written (``receive`` reads its
        answer)."""
        if self._reader is None or self._writer is None:
            await self.connect()
        assert self._writer is not None
        try:
            self._writer.write(encode({"cmd": cmd, "args": args or {}}))
            await self._writer.drain()
        except (OSError, ValueError) as exc:
            raise ControlUnavailable(f"control connection failed: {exc}") from None

    async def receive(self, timeout_s: float | None = None) -> Any:
        """The second half of ``call``: the answer to the request sent last."""
        if self._reader is None:
            raise ControlUnavailable("the control connection is closed")
        try:
            line = await asyncio.wait_for(self._reader.readline(), timeout_s or self.timeout_s)
        except (OSError, ValueError) as exc:
            raise ControlUnavailable(f"control connection failed: {exc}") from None
        except TimeoutError:
            raise ControlUnavailable("the controller did not answer in time") from None
        if not line:
            raise ControlUnavailable("the controller closed the connection")
        try:
            reply = json.loads(line)
        except ValueError:
            raise ControlUnavailable("the controller sent a malformed reply") from None
        if not isinstance(reply, dict) or "ok" not in reply:
            raise ControlUnavailable("the controller sent a malformed reply")
        if not reply["ok"]:
            raise ControlFailed(str(reply.get("error", "refused")))
        return reply.get("result")

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
            self._writer = self._reader = None


async def request(path: str, cmd: str, args: dict[str, Any] | None = None,
                  timeout_s: float = 10.0) -> Any:
    """One request on a fresh connection; see ``ControlClient.call``."""
    async with ControlClient(path, timeout_s) as client:
        return await client.call(cmd, args, timeout_s)


def _why(path: str, exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError):
        return f"the controller is not running (no socket at {path})"
    if isinstance(exc, ConnectionRefusedError):
        return f"the controller is not running (nothing listens on {path})"
    if isinstance(exc, PermissionError):
        return (f"no permission to use {path}: join the group of [control] group "
                "(read commands) and, for technician commands, [control] technician_group")
    if isinstance(exc, TimeoutError):
        return f"the controller did not accept a connection on {path}"
    return f"cannot reach the controller on {path}: {exc}"
