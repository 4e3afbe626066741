"""Fixtures of the OCPP 1.6 adapter tests: a loopback CSMS and a station factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.ocpp16.csms import Csms
from tests.ocpp16.harness import Station, start_station
from tests.ocpp16.secure_harness import secure_station  # noqa: F401  (a fixture)

StationFactory = Callable[..., Awaitable[Station]]


@pytest.fixture
async def make_station(csms: Csms, tmp_path: Path) -> AsyncIterator[StationFactory]:
    stations: list[Station] = []

    async def factory(db: str = "state.db", **kw: Any) -> Station:
        station = await start_station(tmp_path / db, kw.pop("url", csms.url), **kw)
        stations.append(station)
        return station

    yield factory
    for station in stations:
        await station.stop()
        station.store.close()
