"""`chargepoint demo` end to end: local CSMS + simulated station, one real session."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from chargepoint.cli import main
from chargepoint.demo import demo

pytestmark = pytest.mark.timeout(90)

REPO = Path(__file__).resolve().parents[2]


async def test_demo_runs_one_session_and_reports_it() -> None:
    out = io.StringIO()
    stations: list[Any] = []

    async def start(config: Any) -> Any:
        from chargepoint.app import start_station

        assert config.hardware.simulate and config.station.id == "DEMO-CP-1"
        station = await start_station(config)
        stations.append(station)
        return station

    assert await demo(out, charge_s=1.5, start_station=start) == 0
    text = out.getvalue()
    order = ["BootNotification.conf", "connector 1: Preparing", "Authorize",
             "StartTransaction.conf", "connector 1: Charging", "MeterValues",
             "StopTransaction.conf", "connector 1: Available", "Summary:"]
    positions = [text.find(word, text.find("EV plugged in") if i else 0)
                 for i, word in enumerate(order)]
    assert all(p >= 0 for p in positions), (positions, text)
    assert positions == sorted(positions), text
    summary = re.search(r"Summary: ([0-9.]+) Wh charged", text)
    assert summary is not None and float(summary.group(1)) > 0
    # the station was stopped and its temporary directory removed
    (station,) = stations
    assert station._stopped
    assert not Path(station.config.storage.path).parent.exists()


async def test_demo_keep_serves_the_cli_until_ctrl_c() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "chargepoint", "demo", "--keep", "--seconds", "1",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=REPO, env=env)
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        while not lines or not lines[-1].startswith("Ctrl-C stops the demo"):
            line = await asyncio.wait_for(proc.stdout.readline(), 60)
            assert line, "demo ended early:\n" + "".join(lines)
            lines.append(line.decode())
        config = re.search(r"chargepoint --config (\S+) status", "".join(lines))
        assert config is not None
        out = io.StringIO()
        code = await asyncio.to_thread(main, ["--config", config.group(1), "status", "--json"],
                                       stdout=out)
        assert code == 0
        status = json.loads(out.getvalue())
        assert status["station"]["id"] == "DEMO-CP-1"
        assert status["ocpp"]["connected"] is True
        assert status["connectors"][0]["status"] == "Available"
        assert status["connectors"][0]["transaction"] is None
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
        rc = await asyncio.wait_for(proc.wait(), 30)
    assert rc == 0
    assert not Path(config.group(1)).exists()



async def test_demo_ocpp_2_0_1_runs_one_session_through_the_cli() -> None:
    """`chargepoint demo --ocpp 2.0.1`: the 2.0.1 CSMS and a 2.0.1 station, one session:
    boot, Authorize, TransactionEvent Started / Updated / Ended, the EVSE's statuses."""
    out, err = io.StringIO(), io.StringIO()
    code = await asyncio.to_thread(main, ["demo", "--ocpp", "2.0.1", "--seconds", "1.5"],
                                   stdout=out, stderr=err)
    text = out.getvalue()
    assert code == 0, text + err.getvalue()
    assert text.startswith("chargepoint demo: OCPP 2.0.1 CSMS at ws://127.0.0.1:"), text
    order = ["BootNotification.conf", "EVSE 1: Available", "EV plugged in",
             "EVSE 1: Occupied", "Authorize.conf", "TransactionEvent ", "Started #0",
             "TransactionEvent.conf", "Updated #", "Ended #", "reason Local",
             "EVSE 1: Available", "Summary:"]
    positions = [text.find(word, text.find("EV plugged in") if i > 2 else 0)
                 for i, word in enumerate(order)]
    assert all(p >= 0 for p in positions), (positions, text)
    assert positions == sorted(positions), text
    assert "idToken 04A1B2C3D4E5F6" in text
    summary = re.search(r"Summary: ([0-9.]+) Wh charged, transaction lasted ([0-9.]+) s", text)
    assert summary is not None and float(summary.group(1)) > 0, text
    assert re.search(r"[1-9][0-9]* TransactionEvent Updated\)", text), text
    assert "StartTransaction" not in text and "MeterValues" not in text


def test_demo_defaults_to_1_6_and_refuses_other_versions() -> None:
    from chargepoint.cli.parser import build_parser

    assert build_parser().parse_args(["demo"]).ocpp == "1.6"
    err = io.StringIO()
    assert main(["demo", "--ocpp", "2.1"], stdout=io.StringIO(), stderr=err) == 2
    assert "invalid choice" in err.getvalue()


@pytest.mark.parametrize(("version", "unwanted"), [("1.6", "ocpp.v201"), ("2.0.1", "ocpp.v16")])
def test_the_demo_loads_only_its_versions_csms(version: str, unwanted: str) -> None:
    import subprocess

    probe = ("import sys; from chargepoint.demo import session; "
             f"session._csms_class({version!r}); print({unwanted!r} in sys.modules)")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True, cwd=REPO).stdout.strip()
    assert loaded == "False"
