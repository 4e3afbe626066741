"""Full-stack test support: ``chargepoint.app.start_station`` on the simulated bench against the
loopback ``Csms``, and helpers that wait for what the station does (no fixed sleeps)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from chargepoint.app import RunningStation, start_station
from chargepoint.config import config_from_toml
from chargepoint.core.types import ConnectorStatus
from tests.ocpp16.csms import Csms


def toml(url: str, tmp: Path, connectors: int, ocpp_config: dict[str, Any],
         extra: str = "") -> str:
    keys = {"HeartbeatInterval": 300, "MeterValueSampleInterval": 0,
            "TransactionMessageRetryInterval": 1, **ocpp_config}
    lines = "\n".join(f"{k} = {str(v).lower() if isinstance(v, bool) else repr(v)}"
                      for k, v in keys.items())
    return f"""
[station]
id = "CP-OCTT"
connectors = {connectors}
[ocpp]
url = "{url}"
reconnect_min_s = 0.05
reconnect_max_s = 0.3
response_timeout_s = 3
[ocpp.config]
{lines}
[storage]
path = "{tmp / 'state.db'}"
[control]
socket = "{tmp / 'control.sock'}"
[hardware]
simulate = true
{extra}"""


CpMaker = Callable[..., Awaitable[RunningStation]]


@pytest.fixture
async def make_cp(csms: Csms, tmp_path: Path) -> AsyncIterator[CpMaker]:
    """``await make_cp(connectors=1, extra="", **ocpp_config)`` (``extra``: more TOML at the
    end of the file); the same store on every call (a second call after ``stop()`` is a
    reboot)."""
    started: list[RunningStation] = []

    async def make(connectors: int = 1, extra: str = "", **ocpp_config: Any) -> RunningStation:
        config = config_from_toml(toml(csms.url, tmp_path, connectors, ocpp_config, extra))
        running = await start_station(config)
        started.append(running)
        return running

    yield make
    for running in started:
        await running.stop()


async def until(check: Callable[[], object], timeout: float = 10.0) -> None:
    """Poll a condition of the running station (it changes on the control loop's tick)."""
    async def wait() -> None:
        while not check():
            await asyncio.sleep(0.01)
    await asyncio.wait_for(wait(), timeout)


async def registered(cp: RunningStation) -> None:
    await until(lambda: cp.adapter.link_state().registration == "Accepted")


def statuses(csms: Csms, connector: int = 1) -> list[str]:
    return [f.payload["status"] for f in csms.calls("StatusNotification")
            if f.payload["connectorId"] == connector]


async def status_reached(csms: Csms, status: str, connector: int = 1,
                         timeout: float = 10.0) -> None:
    await csms.wait_until(lambda: status in statuses(csms, connector), timeout)


def free(cp: RunningStation, connector: int = 1) -> bool:
    """The connector is Available again after a session: its lock reported open (until then
    it is Finishing, and a card or an EV that comes meanwhile starts no new session)."""
    view = cp.controller.station.snapshot().connectors[connector - 1]
    return view.status is ConnectorStatus.AVAILABLE


async def charging(cp: RunningStation, connector: int = 1) -> None:
    await until(lambda: cp.controller.hardware_of(connector).contactor.commanded_closed)


async def start_session(cp: RunningStation, tag: str) -> None:
    """Plug an EV into connector 1, present ``tag`` and wait until the contactor closed."""
    assert cp.bench is not None
    cp.bench.plug(1)
    cp.bench.tap(tag)
    await charging(cp)
