"""Fixtures of the 2.0.1 tests: the loopback 2.0.1 CSMS and the full station on the simulated
bench with ``[ocpp] version = "2.0.1"`` (the same store on every call: a second call after
``stop()`` is a reboot)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from chargepoint.app import RunningStation, start_station
from chargepoint.config import config_from_toml
from tests.ocpp201.csms import Csms201

Cp201Maker = Callable[..., Awaitable[RunningStation]]


def toml201(url: str, tmp: Path, connectors: int, variables: dict[str, Any],
            extra: str = "", ocpp: str = "") -> str:
    """The config file; ``ocpp``: more keys of the [ocpp] table, ``extra``: more TOML."""
    lines = "\n".join(f'"{k}" = {str(v).lower() if isinstance(v, bool) else repr(v)}'
                      .replace("'", '"') for k, v in variables.items())
    return f"""
[station]
id = "CP-201"
connectors = {connectors}
[ocpp]
version = "2.0.1"
url = "{url}"
reconnect_min_s = 0.05
reconnect_max_s = 0.3
response_timeout_s = 3
{ocpp}
[ocpp.variables]
{lines}
[storage]
path = "{tmp / 'state.db'}"
[control]
socket = "{tmp / 'control.sock'}"
[hardware]
simulate = true
{extra}
"""


@pytest.fixture
async def csms201() -> AsyncIterator[Csms201]:
    server = Csms201()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def make_cp201(csms201: Csms201, tmp_path: Path) -> AsyncIterator[Cp201Maker]:
    """``await make_cp201(connectors=1, extra="[charging]...", **{"Component.Variable": value})``
    (``extra``: more TOML at the end of the file)."""
    started: list[RunningStation] = []

    async def make(connectors: int = 1, extra: str = "", **variables: Any) -> RunningStation:
        config = config_from_toml(toml201(csms201.url, tmp_path, connectors, variables, extra))
        running = await start_station(config)
        started.append(running)
        return running

    yield make
    for running in started:
        await running.stop()
