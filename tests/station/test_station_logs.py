"""`chargepoint logs` against a running station that does not log to the journal (the demo's
case): the controller's own buffer, filtered by connector, followed until it stops."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sys
import threading
import traceback

import pytest

from chargepoint.app import RunningStation
from chargepoint.cli import logs as logs_cli
from chargepoint.cli import main
from chargepoint.control import ControlFailed, request
from chargepoint.logbuffer import LogBuffer
from tests.fullstack import CpMaker, registered, until


@pytest.fixture(autouse=True)
def no_journal(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(logs_cli, "journald_available", lambda: False)
    caplog.set_level(logging.INFO, logger="chargepoint")  # as `chargepoint run` sets it up


class Cli:
    """``chargepoint ...`` in a thread; its output readable while it runs."""

    def __init__(self, cp: RunningStation, *argv: str) -> None:
        self.out, self.err = io.StringIO(), io.StringIO()
        self.code: int | None = None
        self._argv = ["--socket", cp.config.control.socket, *argv]
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self.code = main(self._argv, stdout=self.out, stderr=self.err)

    async def done(self, timeout: float = 20.0) -> int:
        await asyncio.to_thread(self._thread.join, timeout)
        if self._thread.is_alive():  # say where it hangs (seen once in a loaded full run)
            frame = sys._current_frames().get(self._thread.ident or 0)
            stack = "".join(traceback.format_stack(frame)) if frame is not None else "?"
            raise AssertionError(f"the CLI still runs after {timeout} s; stderr: "
                                 f"{self.err.getvalue()!r}; its thread:\n{stack}")
        assert self.code is not None
        return self.code


async def test_logs_show_the_controllers_own_buffer_by_connector(make_cp: CpMaker) -> None:
    cp = await make_cp(connectors=2)
    await registered(cp)
    assert cp.bench is not None
    cp.bench.plug(2)
    await until(lambda: any("connector 2: Preparing" in r.message
                            for r in cp.logs.query(connector=2)))
    run = Cli(cp, "logs", "--connector", "2", "--since", "10 min ago", "--json")
    assert await run.done() == 0
    doc = json.loads(run.out.getvalue())
    assert doc["source"] == "daemon"
    assert doc["records"] and {r["connector"] for r in doc["records"]} == {2}
    assert any(line.endswith("[CONNECTOR=2] connector 2: Preparing") for line in doc["lines"])
    run = Cli(cp, "logs", "--since", "1 hour ago")  # README.md's example, word for word
    assert await run.done() == 0
    assert "connector 2: Preparing" in run.out.getvalue()


async def test_follow_prints_new_lines_and_ends_when_the_controller_stops(
        make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    mark = cp.logs.last_seq
    run = Cli(cp, "logs", "--follow", "--connector", "1", "--json")
    assert cp.bench is not None
    # the follower waits at the controller for records after the last one it showed
    await until(lambda: "connector 1" in run.out.getvalue() or cp.logs.last_seq > mark)
    cp.bench.plug(1)
    await until(lambda: "connector 1: Preparing" in run.out.getvalue())
    await cp.stop()
    assert await run.done() == 0
    assert "the controller stopped" in run.err.getvalue()
    lines = [json.loads(line) for line in run.out.getvalue().splitlines()]
    assert lines and all(rec["connector"] == 1 for rec in lines)


async def test_follow_ends_after_its_bound(make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    run = Cli(cp, "logs", "--follow", "--for", "0.3")
    assert await run.done() == 0
    assert run.err.getvalue() == ""


async def test_bad_log_arguments_are_refused_with_the_reason(make_cp: CpMaker) -> None:
    cp = await make_cp()
    socket = cp.config.control.socket
    with pytest.raises(ControlFailed, match=r"args\.wait_s must be a number of seconds"):
        await request(socket, "logs", {"after": 0, "wait_s": 3600})
    with pytest.raises(ControlFailed, match=r"--since: cannot read 'whenever'"):
        await request(socket, "logs", {"since": "whenever"})
    assert isinstance(await request(socket, "logs", {"since": "1 hour ago"}), list)


async def test_the_buffer_wakes_a_waiter_for_a_record_from_another_thread() -> None:
    buffer = LogBuffer.attach("chargepoint.test.buffer")
    try:
        start = buffer.last_seq
        waiter = asyncio.create_task(buffer.wait_after(start, 10.0))
        await asyncio.sleep(0)
        worker = threading.Thread(target=logging.getLogger("chargepoint.test.buffer").warning,
                                  args=("from a worker",), kwargs={"extra": {"CONNECTOR": 3}})
        worker.start()
        await asyncio.wait_for(waiter, 5.0)
        worker.join()
        [rec] = buffer.query(after=start)
        assert (rec.message, rec.connector, rec.level) == ("from a worker", 3, "WARNING")
        assert buffer.query(after=start, connector=1) == []
    finally:
        buffer.detach()
