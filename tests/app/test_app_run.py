"""`chargepoint run` as systemd runs it: a real process, sd_notify on a real socket, the CLI
over the control socket, a CSMS on 127.0.0.1, and a clean exit on SIGTERM."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import pytest

from chargepoint.cli import main
from chargepoint.demo.csms import DemoCsms
from chargepoint.demo.timeline import TO_CSMS, Timeline

pytestmark = pytest.mark.timeout(90)
REPO = Path(__file__).resolve().parents[2]


async def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = await asyncio.to_thread(main, list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


async def recv(sock: socket.socket) -> str:
    loop = asyncio.get_running_loop()
    return (await asyncio.wait_for(loop.sock_recv(sock, 4096), 60)).decode()


async def test_run_notifies_systemd_serves_the_cli_and_stops_on_sigterm(
        short_dir: Path) -> None:
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(short_dir / "notify"))
    notify.setblocking(False)
    tl = Timeline(None, live=False)
    async with DemoCsms(tl) as csms:
        config = short_dir / "cp.toml"
        config.write_text(
            f'[station]\nid = "CP-RUN"\n[ocpp]\nurl = "{csms.url}"\nreconnect_min_s = 0.2\n'
            f'[storage]\npath = "{short_dir}/state.db"\n[control]\nsocket = "{short_dir}/c.sock"\n'
            '[logging]\nlevel = "warning"\n[hardware]\nsimulate = true\n')
        env = {k: v for k, v in os.environ.items()
               if k not in ("INVOCATION_ID", "JOURNAL_STREAM", "CHARGEPOINT_SOCKET")}
        env["NOTIFY_SOCKET"] = str(short_dir / "notify")
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "chargepoint", "--config", str(config), "run",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=REPO, env=env)
        try:
            ready = await recv(notify)
            assert ready.startswith("READY=1"), ready
            await tl.wait_for(lambda e: e.action == "BootNotification" and e.kind == "result",
                              30, what="BootNotification.conf")

            code, out, err = await cli("--config", str(config), "status", "--json")
            assert code == 0, err
            status: dict[str, Any] = json.loads(out)
            assert status["station"]["id"] == "CP-RUN"
            assert [c["id"] for c in status["connectors"]] == [1]

            mark = len(tl.entries)
            assert (await cli("--config", str(config), "sim", "plug", "1"))[0] == 0
            await tl.wait_for(lambda e: e.direction == TO_CSMS and e.action ==
                              "StatusNotification" and e.payload.get("status") == "Preparing",
                              30, since=mark, what="StatusNotification Preparing")
            code, _, err = await cli("--config", str(config), "relay", "1", "contactor", "test")
            assert code == 1 and err.startswith("chargepoint: ")  # an EV is plugged in

            proc.send_signal(signal.SIGTERM)
            messages = ""
            while "STOPPING=1" not in messages:
                messages += await recv(notify)
            assert await asyncio.wait_for(proc.wait(), 30) == 0
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            notify.close()
    assert not (short_dir / "c.sock").exists()


async def test_run_with_a_bad_config_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[station]\nid = "CP"\n')
    code, out, err = await cli("--config", str(bad), "run")
    assert (code, out) == (2, "")
    assert "ocpp: section [ocpp] is required" in err
