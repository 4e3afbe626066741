"""The control socket against misbehaving and well-behaved clients (real Unix sockets)."""

from __future__ import annotations

import asyncio
import contextlib
import grp
import json
import os
import select
import socket
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from chargepoint.control import (
    MAX_REQUEST,
    ControlClient,
    ControlFailed,
    ControlServer,
    ControlUnavailable,
    request,
)
from tests.app.conftest import FakeTarget


@pytest.fixture
async def server(short_dir: Path, target: FakeTarget) -> AsyncIterator[ControlServer]:
    srv = ControlServer(str(short_dir / "c.sock"), target, idle_timeout_s=5.0,
                        request_timeout_s=5.0, write_timeout_s=0.5, max_clients=8)
    await srv.start()
    yield srv
    await srv.close()


async def raw(path: str, data: bytes) -> list[dict[str, Any]]:
    """Send ``data``, half-close, and return every reply line until the server closes."""
    reader, writer = await asyncio.open_unix_connection(path)
    writer.write(data)
    await writer.drain()
    writer.write_eof()
    replies = [json.loads(line) for line in (await reader.read()).splitlines()]
    writer.close()
    return replies


def wait_hangup(sock: socket.socket, timeout_s: float) -> bool:
    """Block until the peer closed its end (POLLRDHUP) without reading anything."""
    poller = select.poll()
    poller.register(sock, select.POLLRDHUP | select.POLLHUP)
    for _fd, events in poller.poll(timeout_s * 1000):
        return bool(events & (select.POLLRDHUP | select.POLLHUP))
    return False


async def test_status_round_trip(server: ControlServer) -> None:
    result = await request(server.path, "status")
    assert result["connectors"][0]["transaction"]["id"] == 17


async def test_commands_reach_the_target_with_validated_args(
        server: ControlServer, target: FakeTarget) -> None:
    async with ControlClient(server.path) as c:
        assert await c.call("ping") == "pong"
        assert await c.call("fault_clear", {"connector": 1}) == "connector 1: faults cleared"
        assert await c.call("relay", {"connector": 2, "which": "lock", "op": "test"})
        assert await c.call("rfid_read", {"timeout_s": 3}) == {"uid": "04A1B2C3",
                                                              "type": "ISO14443A"}
        assert await c.call("sim", {"command": "plug", "args": {"connector": 1}}) == {
            "done": "plug"}
        assert await c.call("logs", {"since": "1h"}) == ["line one", "line two"]
        assert await c.call("ocpp_ping") == 0.012
        with pytest.raises(ControlFailed, match=r"args\.which must be one of contactor, lock"):
            await c.call("relay", {"connector": 1, "which": "pump", "op": "on"})
        with pytest.raises(ControlFailed, match=r"args\.connector"):
            await c.call("fault_clear", {"connector": True})
        with pytest.raises(ControlFailed, match=r"args\.timeout_s"):
            await c.call("rfid_read", {"timeout_s": -1})
    assert target.calls == [
        ("fault_clear", (1,)), ("relay", (2, "lock", "test")), ("rfid_read", (3.0,)),
        ("sim", ("plug", {"connector": 1})), ("logs", ("1h",)), ("ocpp_ping", ())]


async def test_refusal_is_an_error_reply(server: ControlServer, target: FakeTarget) -> None:
    target.refuse = "connector 1 is charging"
    with pytest.raises(ControlFailed, match=r"^connector 1 is charging$"):
        await request(server.path, "relay", {"connector": 1, "which": "contactor", "op": "on"})


async def test_garbage_gets_error_replies_and_the_connection_survives(
        server: ControlServer) -> None:
    replies = await raw(server.path, b"hello\n[1,2]\n{\"cmd\": \"nope\"}\n\xff\xfe\n"
                        b"{\"cmd\": \"status\", \"args\": []}\n\n{\"cmd\":\"ping\"}\n")
    assert [r["ok"] for r in replies] == [False, False, False, False, False, True]
    assert "not JSON" in replies[0]["error"]
    assert "unknown cmd 'nope'" in replies[2]["error"]
    assert replies[-1]["result"] == "pong"


async def test_unterminated_request_at_eof(server: ControlServer) -> None:
    (reply,) = await raw(server.path, b'{"cmd": "ping"}')
    assert reply == {"ok": False, "error": "request not terminated by a newline"}


async def test_huge_request_is_refused_and_others_are_still_served(
        server: ControlServer) -> None:
    reader, writer = await asyncio.open_unix_connection(server.path)
    writer.write(b'{"cmd": "ping", "pad": "' + b"x" * (MAX_REQUEST + 10) + b'"}\n')
    reply = json.loads(await reader.readline())
    assert reply["ok"] is False and "longer than 65536 bytes" in reply["error"]
    assert await reader.read() == b""  # the server hung up
    writer.close()
    assert await request(server.path, "ping") == "pong"


async def test_a_request_just_under_the_limit_is_accepted(server: ControlServer) -> None:
    head, tail = b'{"cmd": "ping", "pad": "', b'"}\n'
    line = head + b"x" * (MAX_REQUEST - len(head) - len(tail)) + tail
    assert len(line) == MAX_REQUEST
    (reply,) = await raw(server.path, line)
    assert reply == {"ok": True, "result": "pong"}


async def test_a_silent_client_does_not_block_others_and_times_out(
        short_dir: Path, target: FakeTarget) -> None:
    async with ControlServer(str(short_dir / "s.sock"), target, idle_timeout_s=0.3) as srv:
        reader, writer = await asyncio.open_unix_connection(srv.path)
        writer.write(b'{"cmd": "sta')  # half a request, then silence
        await writer.drain()
        assert await request(srv.path, "ping") == "pong"
        assert await asyncio.wait_for(reader.read(), 10) == b""  # dropped after idle timeout
        writer.close()


async def test_a_client_that_never_reads_is_dropped(short_dir: Path,
                                                    target: FakeTarget) -> None:
    target.big = 60_000
    async with ControlServer(str(short_dir / "r.sock"), target, write_timeout_s=0.2) as srv:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(srv.path)
        # Ask 400 times for a 60 kB status and never read: the server's writes stall.
        sock.sendall(b'{"cmd": "status"}\n' * 400)
        assert await asyncio.to_thread(wait_hangup, sock, 10.0), "server kept the client"
        received = 0
        with contextlib.suppress(OSError):
            while chunk := sock.recv(1 << 20):
                received += len(chunk)
        assert received < 400 * 60_000
        sock.close()
        target.big = 0
        assert (await request(srv.path, "status"))["station"]["id"] == "CP-1"


async def test_many_clients_at_once(short_dir: Path, target: FakeTarget) -> None:
    target.delay = 0.05
    async with ControlServer(str(short_dir / "m.sock"), target, max_clients=8) as srv:
        results = await asyncio.gather(*(request(srv.path, "ping") for _ in range(20)),
                                       *(request(srv.path, "meter") for _ in range(40)),
                                       return_exceptions=True)
        served = [r for r in results if not isinstance(r, BaseException)]
        busy = [r for r in results if isinstance(r, ControlFailed)]
        assert len(served) + len(busy) == 60
        assert served and all(str(b) == "too many control clients, try again" for b in busy)
        assert await request(srv.path, "ping") == "pong"


async def test_slow_target_times_out_with_a_reply(short_dir: Path, target: FakeTarget) -> None:
    target.delay = 5
    async with ControlServer(str(short_dir / "t.sock"), target, request_timeout_s=0.2) as srv:
        with pytest.raises(ControlFailed, match="did not answer in time"):
            await request(srv.path, "selftest")


async def test_target_bug_is_an_error_reply(server: ControlServer, target: FakeTarget,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken() -> dict[str, Any]:
        raise KeyError("oops")

    monkeypatch.setattr(target, "meter", broken)
    with pytest.raises(ControlFailed, match="internal error: KeyError"):
        await request(server.path, "meter")
    assert await request(server.path, "ping") == "pong"


async def test_socket_mode_group_and_cleanup(short_dir: Path, target: FakeTarget) -> None:
    path = str(short_dir / "sub" / "g.sock")
    group = grp.getgrgid(os.getgid()).gr_name
    async with ControlServer(path, target, group=group):
        st = os.stat(path)
        assert stat.S_ISSOCK(st.st_mode)
        assert stat.S_IMODE(st.st_mode) == 0o660
        assert st.st_gid == os.getgid()
    assert not os.path.exists(path)


async def test_unknown_group_fails_start(short_dir: Path, target: FakeTarget) -> None:
    srv = ControlServer(str(short_dir / "x.sock"), target, group="no-such-group-xyz")
    with pytest.raises(LookupError):
        await srv.start()
    assert not os.path.exists(srv.path)


async def test_stale_socket_is_replaced_but_a_live_one_is_not(
        short_dir: Path, target: FakeTarget) -> None:
    path = str(short_dir / "st.sock")
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path)
    stale.close()  # the file stays, nobody listens
    async with ControlServer(path, target):
        assert await request(path, "ping") == "pong"
        with pytest.raises(OSError, match="another controller is listening"):
            await ControlServer(path, target).start()
        assert await request(path, "ping") == "pong"
    (short_dir / "plain").write_text("x")
    with pytest.raises(OSError, match="is not a socket"):
        await ControlServer(str(short_dir / "plain"), target).start()


async def test_client_without_server(short_dir: Path) -> None:
    with pytest.raises(ControlUnavailable, match="not running"):
        await request(str(short_dir / "none.sock"), "status")
