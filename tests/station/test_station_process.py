"""`chargepoint run` as a real process: power cut (SIGKILL) and a clean stop (SIGTERM)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from chargepoint.control.client import ControlUnavailable, request
from tests.fullstack import toml
from tests.ocpp16.csms import Csms


async def start_daemon(config: Path, log: Path | None = None) -> asyncio.subprocess.Process:
    """`chargepoint run` with ``config``; its stderr appended to ``log`` (else discarded),
    once its control socket answers."""
    with (log or Path(os.devnull)).open("ab") as err:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "chargepoint", "--config", str(config), "run",
            stdout=asyncio.subprocess.DEVNULL, stderr=err,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    socket = str(config.parent / "control.sock")
    for _ in range(500):  # the socket answers once hardware and store are up
        try:
            await request(socket, "ping")
            return proc
        except (ControlUnavailable, OSError):
            await asyncio.sleep(0.02)
    proc.kill()
    raise AssertionError("the daemon did not open its control socket")


async def sim(config: Path, command: str, **args: object) -> None:
    await request(str(config.parent / "control.sock"), "sim",
                  {"command": command, "args": args})


async def charging(config: Path, csms: Csms) -> None:
    await csms.wait_until(lambda: csms.calls("StatusNotification"))
    await sim(config, "plug", connector=1)
    await sim(config, "tap", uid="04A1B2C3")
    await csms.wait_for("StartTransaction")
    await csms.wait_for("MeterValues")


async def test_power_cut_mid_transaction_stops_it_with_powerloss_after_restart(
    csms: Csms, tmp_path: Path
) -> None:
    config = tmp_path / "cp.toml"
    config.write_text(toml(csms.url, tmp_path, 1, {"MeterValueSampleInterval": 1}))
    proc = await start_daemon(config)
    await charging(config, csms)
    proc.send_signal(signal.SIGKILL)  # a power cut, as far as the process can tell
    await proc.wait()
    proc = await start_daemon(config)
    try:
        stop = (await csms.wait_for("StopTransaction", timeout=15))[0]
        assert stop.payload["reason"] == "PowerLoss"
        assert stop.payload["transactionId"] == 100
        start = csms.calls("StartTransaction")[0]
        assert stop.payload["meterStop"] >= start.payload["meterStart"]
        await asyncio.sleep(0.5)
        assert len(csms.calls("StartTransaction")) == 1
        assert len(csms.calls("StopTransaction")) == 1
        # the meter register counts on across the restart: a new session starts from there
        await sim(config, "unplug", connector=1)
        await sim(config, "plug", connector=1)
        await sim(config, "tap", uid="04A1B2C3")
        second = (await csms.wait_for("StartTransaction", count=2))[1]
        assert second.payload["meterStart"] >= stop.payload["meterStop"] > 0
    finally:
        proc.terminate()
        await proc.wait()


async def test_sigterm_stops_the_session_safely_and_exits_zero(
    csms: Csms, tmp_path: Path
) -> None:
    config = tmp_path / "cp.toml"
    config.write_text(toml(csms.url, tmp_path, 1, {"MeterValueSampleInterval": 1}))
    proc = await start_daemon(config)
    await charging(config, csms)
    proc.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(proc.wait(), 15) == 0
    stop = (await csms.wait_for("StopTransaction", timeout=5))[0]
    assert stop.payload["transactionId"] == 100
    assert stop.payload["reason"] == "Reboot"


async def test_missing_hardware_is_one_clear_line_and_exit_1(tmp_path: Path) -> None:
    config = tmp_path / "cp.toml"
    config.write_text(f"""
[station]
id = "CP-REAL"
[ocpp]
url = "ws://127.0.0.1:9/ocpp"
[storage]
path = "{tmp_path / 'state.db'}"
[control]
socket = "{tmp_path / 'control.sock'}"
[hardware]
simulate = false
[hardware.pilot]
pwm_chip = 15
""")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "chargepoint", "--config", str(config), "run",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 1
    text = err.decode()
    assert "cannot start: hardware:" in text and "pwmchip15" in text
    assert "Traceback" not in text
