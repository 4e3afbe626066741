"""Full stack: the app's simulated station (real core, real adapter, real store) with the
firmware handlers plugged in through ``setup_firmware``, driven by a loopback CSMS.

``chargepoint.app`` does not wire firmware yet; this test does what it would do (right after
the adapter is built, before its task runs: ``control_socket=False`` keeps start_station from
awaiting anything after creating the adapter task).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from ocpp.v16 import call  # type: ignore[import-untyped]

from chargepoint.app import RunningStation, start_station
from chargepoint.config import config_from_toml
from tests.firmware.fw_helpers import (
    FakeInstaller,
    HttpPeer,
    Route,
    http_peer,
    iso,
    make_release,
)
from tests.ocpp16.csms import Csms


def _toml(url: str, tmp: Path) -> str:
    return f"""
[station]
id = "CP-FW"
connectors = 2
firmware_version = "1.0.0"
[ocpp]
url = "{url}"
reconnect_min_s = 0.1
reconnect_max_s = 0.5
response_timeout_s = 5
[storage]
path = "{tmp / 'state.db'}"
[firmware]
roots_dir = "{tmp / 'roots'}"
allow_unsigned = true  # plain UpdateFirmware (a lab setting)
[hardware]
simulate = true
"""


@pytest.fixture
def http() -> Iterator[HttpPeer]:
    with http_peer() as peer:
        peer.routes["/fw/1.1.0.tar.gz"] = Route(make_release("1.1.0"))
        yield peer


@pytest.fixture
async def station(csms: Csms, tmp_path: Path) -> AsyncIterator[RunningStation]:
    running = await start_station(config_from_toml(_toml(csms.url, tmp_path)),
                                  control_socket=False,
                                  firmware_installer=FakeInstaller(fail=True))
    yield running
    await running.stop()


def _connector_statuses(csms: Csms, connector: int) -> list[str]:
    return [f.payload["status"] for f in csms.calls("StatusNotification")
            if f.payload["connectorId"] == connector]


async def test_failed_install_makes_connectors_unavailable_then_gives_them_back(
        csms: Csms, station: RunningStation, http: HttpPeer) -> None:
    await csms.wait_until(lambda: len(_connector_statuses(csms, 2)) >= 1)
    await csms.send(call.UpdateFirmware(location=http.url("/fw/1.1.0.tar.gz"),
                                        retrieve_date=iso(time.time())))
    await csms.wait_for("FirmwareStatusNotification", 4)
    assert [f.payload["status"] for f in csms.calls("FirmwareStatusNotification")] == [
        "Downloading", "Downloaded", "Installing", "InstallationFailed"]

    def back(connector: int) -> bool:
        statuses = _connector_statuses(csms, connector)
        return statuses[-1:] == ["Available"] and "Unavailable" in statuses

    for connector in (1, 2):
        await csms.wait_until(lambda c=connector: back(c))  # type: ignore[misc]
        statuses = _connector_statuses(csms, connector)
        assert statuses[statuses.index("Unavailable"):] == ["Unavailable", "Available"]
    assert station.store.availability().get(1, True)  # nothing persisted as Inoperative
