"""`chargepoint run` with a damaged state.db starts fresh (the damaged file kept aside, a log
line and a security event say so) instead of exiting 1 for systemd to restart forever; a store
that cannot be opened for another reason still stops it with one clear line."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

from tests.fullstack import toml
from tests.ocpp16.csms import Csms
from tests.station.test_station_process import start_daemon


async def test_a_corrupt_store_is_moved_aside_and_the_station_starts(
    csms: Csms, tmp_path: Path
) -> None:
    config = tmp_path / "cp.toml"
    config.write_text(toml(csms.url, tmp_path, 1, {}))
    (tmp_path / "state.db").write_bytes(b"\x00garbage, not sqlite\xff" * 4096)
    log = tmp_path / "daemon.log"
    proc = await start_daemon(config, log)
    try:
        await csms.wait_for("BootNotification")
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    err = log.read_text()
    aside = list(tmp_path.glob("state.db.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"\x00garbage")
    assert f"moved aside to {aside[0]}" in err
    security_log = (tmp_path / "security" / "security.log").read_text().splitlines()
    events = [json.loads(line) for line in security_log]
    assert [e["type"] for e in events][:2] == ["StoreCorrupted", "StartupOfTheDevice"]
    assert str(aside[0]) in events[0]["techInfo"]


async def test_a_store_that_cannot_be_opened_stops_run_with_one_line(
    csms: Csms, tmp_path: Path
) -> None:
    (tmp_path / "blocker").write_text("a file where the store's directory should be")
    config = tmp_path / "cp.toml"
    config.write_text(toml(csms.url, tmp_path, 1, {}).replace(
        str(tmp_path / "state.db"), str(tmp_path / "blocker" / "state.db")))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "chargepoint", "--config", str(config), "run",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 1
    lines = [line for line in err.decode().splitlines() if line.strip()]
    assert len(lines) == 1 and "cannot start: store" in lines[0], lines
    assert "Traceback" not in err.decode()
