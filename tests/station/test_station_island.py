"""The safety island against a frozen or dead main process, on `chargepoint run` processes.

SIGSTOP freezes the main process (a stalled event loop, a swapped-out process, a debugger):
the island still opens when the EV leaves C, and opens by itself when the lease runs out.
SIGKILL kills it (a crash): the island opens, drives the pilot to F and ends; after a restart
the transaction is stopped with PowerLoss exactly once. The EV is driven through the island's
own sim socket, which answers while the main process is frozen.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chargepoint.control.client import request
from chargepoint.island.simclient import SimClient
from tests.fullstack import toml
from tests.ocpp16.csms import Csms
from tests.station.test_station_process import start_daemon

LEASE = """
[hardware.island]
lease_s = 0.5
"""


async def sim(config: Path, command: str, **args: object) -> Any:
    return await request(str(config.parent / "control.sock"), "sim",
                         {"command": command, "args": args})


async def until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    async def wait() -> None:
        while not check():
            await asyncio.sleep(0.01)
    await asyncio.wait_for(wait(), timeout)


async def session_started(config: Path, csms: Csms) -> None:
    await csms.wait_until(lambda: csms.calls("StatusNotification"))
    await sim(config, "plug", connector=1)
    await sim(config, "tap", uid="04A1B2C3")
    await csms.wait_for("StartTransaction")


def contactor(island: SimClient) -> str:
    return str(island.describe()["connectors"][0]["contactor"]["commanded"])


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_frozen_then_killed_main_process(csms: Csms, tmp_path: Path) -> None:
    config = tmp_path / "cp.toml"
    config.write_text(toml(csms.url, tmp_path, 1, {"MeterValueSampleInterval": 1}) + LEASE)
    log = tmp_path / "daemon.log"
    proc = await start_daemon(config, log)
    try:
        await session_started(config, csms)
        described = await sim(config, "describe")
        island = SimClient(described["island"]["sim_socket"])
        island_pid = described["island"]["pid"]
        # fewer malloc arenas for the island's helper threads (issue 14: memory)
        assert b"MALLOC_ARENA_MAX=2\0" in Path(f"/proc/{island_pid}/environ").read_bytes()
        await until(lambda: contactor(island) == "closed")

        # 1. Frozen main process, the EV stops asking: the island opens on its own.
        proc.send_signal(signal.SIGSTOP)
        island.ev(1, "pause")
        await until(lambda: contactor(island) == "open")
        assert island.timing(1)["reason"] == "PILOT"
        island.ev(1, "charge")
        proc.send_signal(signal.SIGCONT)
        await until(lambda: contactor(island) == "closed")  # the core resumes the session

        # 2. Frozen main process, the EV keeps charging: the lease runs out.
        proc.send_signal(signal.SIGSTOP)
        await until(lambda: contactor(island) == "open")
        assert island.timing(1)["reason"] == "LEASE"
        proc.send_signal(signal.SIGCONT)
        await until(lambda: contactor(island) == "closed")  # the core still wants energy
        island.close()

        # 3. The main process dies: the island opens, pilot to F, and ends.
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        await until(lambda: not alive(island_pid))
        text = log.read_text()
        assert "contactor opened: main process lost" in text
        assert "stopped (main process lost)" in text
        assert len(csms.calls("StopTransaction")) == 0

        # 4. After the restart, the transaction is recovered exactly once.
        proc = await start_daemon(config, log)
        stop = (await csms.wait_for("StopTransaction", timeout=15))[0]
        assert stop.payload["reason"] == "PowerLoss"
        # The id of the last StartTransaction.conf (the CSMS counts from 100). Under load a
        # StartTransaction.conf can come too late and the station sends it again, as OCPP
        # wants: that is not a second transaction, and the stop names the id it kept.
        starts = csms.calls("StartTransaction")
        assert stop.payload["transactionId"] == 100 + len(starts) - 1
        assert {s.payload["timestamp"] for s in starts} == {starts[0].payload["timestamp"]}
        await asyncio.sleep(0.5)
        assert len(csms.calls("StopTransaction")) == 1
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGCONT)
            proc.terminate()
            await proc.wait()


async def test_a_killed_island_restarts_the_station_at_once(csms: Csms, tmp_path: Path) -> None:
    """Nothing can switch the pins without the island: the controller stops the session
    (reason Other) and restarts itself (here in the foreground: it re-executes), and the new
    island starts with every output safe."""
    config = tmp_path / "cp.toml"
    config.write_text(toml(csms.url, tmp_path, 1, {"MeterValueSampleInterval": 1}))
    log = tmp_path / "daemon.log"
    proc = await start_daemon(config, log)
    try:
        await session_started(config, csms)
        island_pid = (await sim(config, "describe"))["island"]["pid"]
        os.kill(island_pid, signal.SIGKILL)
        stop = (await csms.wait_for("StopTransaction", timeout=15))[0]
        assert stop.payload["reason"] == "Other"
        await csms.wait_for("BootNotification", count=2, timeout=30)
        assert "safety island lost" in log.read_text()
        assert proc.returncode is None  # the same process, re-executed
        new_pid = (await sim(config, "describe"))["island"]["pid"]
        assert new_pid != island_pid and alive(new_pid)
    finally:
        proc.terminate()
        await proc.wait()
