"""Fixtures for full-stack tests: a loopback CSMS and a simulated station built by the app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from chargepoint.app import RunningStation, start_station
from chargepoint.config import config_from_toml
from tests.ocpp16.csms import Csms


def station_toml(url: str, tmp: Path, connectors: int = 1, **ocpp_config: Any) -> str:
    keys = {"MeterValueSampleInterval": 1, "HeartbeatInterval": 60,
            "TransactionMessageRetryInterval": 1, **ocpp_config}
    lines = "\n".join(
        f"{k} = {str(v).lower() if isinstance(v, bool) else v!r}" for k, v in keys.items()
    )
    return f"""
[station]
id = "CP-TEST"
connectors = {connectors}
[ocpp]
url = "{url}"
reconnect_min_s = 0.1
reconnect_max_s = 0.5
response_timeout_s = 5
[ocpp.config]
{lines}
[storage]
path = "{tmp / 'state.db'}"
[control]
socket = "{tmp / 'control.sock'}"
[hardware]
simulate = true
"""


@pytest.fixture
async def csms() -> AsyncIterator[Csms]:
    server = Csms()
    await server.start()
    yield server
    await server.stop()


StationMaker = Callable[..., Awaitable[RunningStation]]


@pytest.fixture
async def make_station(csms: Csms, tmp_path: Path) -> AsyncIterator[StationMaker]:
    started: list[RunningStation] = []

    async def make(connectors: int = 1, **ocpp_config: Any) -> RunningStation:
        config = config_from_toml(station_toml(csms.url, tmp_path, connectors, **ocpp_config))
        running = await start_station(config)
        started.append(running)
        return running

    yield make
    for running in started:
        await running.stop()
