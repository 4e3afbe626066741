"""The control socket server: a Unix socket the CLI talks to (protocol: ``protocol.py``).

The server never blocks on, or crashes because of, a client: every read, write and target call
has a deadline, bad input gets an error reply, and the number of clients is bounded.

Every connection's peer is identified by the kernel (SO_PEERCRED) and every request checked
against the ``AccessPolicy`` (``access.py``): read commands for the socket's group, technician
commands for the technician group, everything for root and the service user.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import grp
import logging
import os
import shutil
import socket
import stat
from typing import Any

from chargepoint.control.access import (
    DEFAULT_TECHNICIAN_GROUP,
    AccessPolicy,
    Level,
    Peer,
    peer_of,
    redact,
)
from chargepoint.control.protocol import (
    MAX_REQUEST,
    ControlTarget,
    ProtocolError,
    Refused,
    dispatch,
    error,
    ok,
    parse_request,
    request_timeout,
)

log = logging.getLogger(__name__)

SOCKET_MODE = 0o660


class ControlServer:
    """Serve ``target`` on the Unix socket ``path`` (mode 0660, group ``group`` if given).

    Members of ``group`` (None: our own group) may use read commands, members of
    ``technician_group`` every command, as may root and our own user; ``policy`` replaces that
    policy (tests). Use ``await start()`` / ``await close()`` or ``async with``. ``start``
    raises ``OSError`` when another process already listens on ``path``; a stale socket file
    is replaced.
    """

    def __init__(self, path: str, target: ControlTarget, group: str | None = None, *,
                 technician_group: str | None = DEFAULT_TECHNICIAN_GROUP,
                 policy: AccessPolicy | None = None,
                 idle_timeout_s: float = 60.0, request_timeout_s: float = 30.0,
                 write_timeout_s: float = 5.0, max_clients: int = 32) -> None:
        self.path = path
        self.target = target
        self.group = group
        self.technician_group = technician_group
        self.policy = policy
        self.idle_timeout_s = idle_timeout_s
        self.request_timeout_s = request_timeout_s
        self.write_timeout_s = write_timeout_s
        self.max_clients = max_clients
        self._server: asyncio.AbstractServer | None = None
        self._clients: set[asyncio.Task[Any]] = set()
        self._closing = False
        self._inode: int | None = None

    async def __aenter__(self) -> ControlServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        if self.policy is None:
            self.policy = AccessPolicy.for_groups(self.group, self.technician_group)
        sock = self._bind()
        self._server = await asyncio.start_unix_server(self._client, sock=sock,
                                                       limit=MAX_REQUEST)
        log.info("control socket listening on %s", self.path)

    def _bind(self) -> socket.socket:
        _remove_stale(self.path)
        directory = os.path.dirname(self.path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(self.path)
            # Permissions are set before listen(): nobody can connect in between.
            os.chmod(self.path, SOCKET_MODE)
            if self.group is not None and grp.getgrnam(self.group).gr_gid != os.getgid():
                # (skipped when it is our own group: chown may be filtered by the unit's
                # SystemCallFilter and is not needed then)
                shutil.chown(self.path, group=self.group)
            self._inode = os.stat(self.path).st_ino
            sock.listen(16)
            sock.setblocking(False)
        except BaseException:
            sock.close()
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            raise
        return sock

    async def close(self) -> None:
        """Stop listening, drop every client and remove the socket file."""
        if self._server is not None:
            self._closing = True
            self._server.close()
            for task in list(self._clients):
                task.cancel()
            await asyncio.gather(*self._clients, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None
        with contextlib.suppress(OSError):
            if os.stat(self.path).st_ino == self._inode:
                os.unlink(self.path)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._clients.add(task)
        try:
            if len(self._clients) > self.max_clients:
                await self._send(writer, error("too many control clients, try again"))
                return
            peer = await asyncio.to_thread(peer_of, writer.get_extra_info("socket"))
            assert self.policy is not None
            level = self.policy.level(peer)
            if level is Level.NONE:
                reason = self.policy.refusal("ping", level, peer) or "not allowed"
                log.warning("control socket: %s (pid %d) refused: %s", peer.user, peer.pid,
                            reason)
                await self._send(writer, error(reason))
                return
            await self._serve(reader, writer, peer, level)
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError):
            pass
        except Exception:  # a bug here must not take the controller down
            log.exception("control client failed")
        finally:
            self._clients.discard(task)
            writer.close()  # flushes what is buffered, unless the client never reads:
            try:
                await asyncio.wait_for(writer.wait_closed(), self.write_timeout_s)
            except Exception:
                writer.transport.abort()  # then drop the buffer and the connection

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     peer: Peer, level: Level) -> None:
        # ``_closing`` too: a cancellation can be lost when it meets a request finishing at
        # the same moment (asyncio.wait_for in Python 3.11), and the client would be served on
        while not self._closing:
            try:
                line = await asyncio.wait_for(reader.readline(), self.idle_timeout_s)
            except ValueError:  # line longer than MAX_REQUEST: the stream cannot resync
                await self._send(writer, error(f"request longer than {MAX_REQUEST} bytes"))
                return
            if not line:
                return
            if not line.endswith(b"\n"):  # EOF inside a line
                await self._send(writer, error("request not terminated by a newline"))
                return
            if not line.strip():
                continue
            await self._send(writer, await self._answer(line, peer, level))

    async def _answer(self, line: bytes, peer: Peer, level: Level) -> bytes:
        assert self.policy is not None
        try:
            req = parse_request(line)
            refused = self.policy.refusal(req.cmd, level, peer)
            if refused is not None:
                log.warning("control socket: %s (pid %d): %s", peer.user, peer.pid, refused)
                return error(refused)
            timeout = request_timeout(req, self.request_timeout_s)
            result = await asyncio.wait_for(dispatch(self.target, req), timeout)
            return ok(redact(req.cmd, result, level))
        except Refused as exc:
            return error(str(exc) or "refused")
        except ProtocolError as exc:
            return error(f"bad request: {exc}")
        except TimeoutError:
            return error("the controller did not answer in time")
        except Exception as exc:
            log.exception("control command failed")
            return error(f"internal error: {type(exc).__name__}: {exc}")

    async def _send(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        writer.write(data)
        await asyncio.wait_for(writer.drain(), self.write_timeout_s)


def _remove_stale(path: str) -> None:
    """Unlink a socket file nobody listens on; raise if a live server owns ``path``."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise OSError(errno.EEXIST, f"{path} exists and is not a socket")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(1.0)
        probe.connect(path)
    except OSError:  # refused: nobody listens, the file is left over from a crash
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return
    finally:
        probe.close()
    raise OSError(errno.EADDRINUSE, f"another controller is listening on {path}")
