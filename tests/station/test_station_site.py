"""Local load management end to end on the simulated bench: the virtual grid meter (a real
pymodbus RTU server, one more unit on the bench's bus) reads house load plus what the virtual
EVs draw; the station shares what is left of ``[site] max_current_a`` among its connectors."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from ocpp.v16 import call

from chargepoint.app import RunningStation, start_station
from chargepoint.config import config_from_toml
from chargepoint.control.protocol import Refused
from chargepoint.station_control import StationControl
from tests.fullstack import CpMaker, charging, registered, toml, until
from tests.ocpp16.csms import Csms
from tests.ocpp16.profiles import profile

SITE = """
[site]
max_current_a = 32.0
fallback_current_a = 6.0
rotate_s = 30
margin_a = 1.0
hold_s = 2.0
[site.meter]
poll_interval_s = 0.2
timeout_s = 0.2
"""

SiteMaker = Callable[..., Awaitable[RunningStation]]


@pytest.fixture
async def make_site(csms: Csms, tmp_path: Path) -> AsyncIterator[SiteMaker]:
    started: list[RunningStation] = []
    here = tmp_path / "site"  # apart from make_cp's store and socket
    here.mkdir()

    async def make(connectors: int = 2, extra: str = "", **ocpp: Any) -> RunningStation:
        text = toml(csms.url, here, connectors, ocpp) + SITE + extra
        running = await start_station(config_from_toml(text))
        started.append(running)
        await registered(running)
        return running

    yield make
    for running in started:
        await running.stop()


def offered(cp: RunningStation) -> list[float | None]:
    return [cp.controller.offered_current(c) for c in (1, 2)]


def about(values: list[float | None], *expected: float | None) -> bool:
    """``values`` (sorted when ``expected`` is) match within 0.6 A: the EVs decode the duty
    cycle to 0.1 % (about 0.06 A), so the grid meter reads a little house load."""
    def near(a: float | None, b: float | None) -> bool:
        return a is b if a is None or b is None else abs(a - b) <= 0.6
    return len(values) == len(expected) and all(
        near(a, b) for a, b in zip(values, expected, strict=True))


def ordered(values: list[float | None]) -> list[float | None]:
    return sorted(values, key=lambda a: -1.0 if a is None else a)


def drawn(cp: RunningStation, connector: int) -> float:
    reading = cp.controller.meter_reading(connector)
    return max(reading.current_a, default=0.0) if reading is not None else 0.0


def status_of(cp: RunningStation, connector: int) -> str:
    return cp.controller.station.snapshot().connectors[connector - 1].status.value


async def two_sessions(cp: RunningStation) -> None:
    assert cp.bench is not None
    for connector, tag in ((1, "04A1B2C3"), (2, "04D5E6F7")):
        cp.bench.plug(connector)
        cp.bench.tap(tag)
        await until(lambda c=connector: cp.controller.station.snapshot().connectors[c - 1]
                    .session is not None)


async def test_two_connectors_share_32_a_and_follow_the_house_load(
        make_site: SiteMaker) -> None:
    cp = await make_site()
    assert cp.bench is not None and cp.site is not None
    await two_sessions(cp)
    await until(lambda: about(offered(cp), 15.5, 15.5))  # (32 - 1 A margin) / 2
    await until(lambda: drawn(cp, 1) > 15.0 and drawn(cp, 2) > 15.0)
    status = await cp.status()
    assert status["site"]["max_current_a"] == 32.0 and status["site"]["meter_ok"]
    await until(lambda: (cp.site.status()["grid_current_a"] or [0.0])[0] > 30.0)
    # the house takes 12 A: 19 A left, 9.5 A each
    cp.bench.house(12.0)
    await until(lambda: about(offered(cp), 9.5, 9.5))
    house = cp.site.status()["house_current_a"]
    assert house is not None and all(abs(a - 12.0) < 1.0 for a in house)
    # 22 A: 10 A left, one connector pauses (SuspendedEVSE, PWM off), the other gets 9 A
    cp.bench.house(22.0)
    await until(lambda: about(ordered(offered(cp)), None, 9.0))
    paused = 1 if offered(cp)[0] is None else 2
    await until(lambda: status_of(cp, paused) == "SuspendedEVSE")
    await until(lambda: drawn(cp, paused) == 0.0)
    await until(lambda: cp.bench.describe()["site"]["grid_a"] <= 32.0)
    # the house load falls again: the paused connector resumes, both share evenly
    cp.bench.house(0.0)
    await until(lambda: about(offered(cp), 15.5, 15.5))
    await until(lambda: status_of(cp, paused) == "Charging")


async def test_a_silent_grid_meter_falls_back_and_recovers(make_site: SiteMaker) -> None:
    cp = await make_site()
    assert cp.bench is not None and cp.site is not None
    await two_sessions(cp)
    await until(lambda: about(offered(cp), 15.5, 15.5))
    cp.bench.fault("site", "meter")
    await until(lambda: offered(cp) == [6.0, 6.0])  # fallback_current_a each
    assert (await cp.status())["site"]["meter_ok"] is False
    assert (await cp.status())["site"]["available_a"] is None
    cp.bench.fault("site", "none")
    await until(lambda: about(offered(cp), 15.5, 15.5))
    assert (await cp.status())["site"]["meter_ok"] is True


async def test_paused_connectors_take_turns(make_site: SiteMaker) -> None:
    cp = await make_site()
    assert cp.bench is not None and cp.site is not None
    cp.bench.house(20.0)  # 11 A left: one connector at a time
    await two_sessions(cp)
    await until(lambda: about(ordered(offered(cp)), None, 11.0))
    first = 1 if offered(cp)[0] else 2
    cp.site.limits = dataclasses.replace(cp.site.limits, rotate_s=1.0)  # (config: >= 30 s)
    await until(lambda: offered(cp)[first - 1] is None and offered(cp)[2 - first])
    await until(lambda: offered(cp)[first - 1] and offered(cp)[2 - first] is None)  # back


async def test_with_a_tx_default_profile_the_lower_wins(
        make_site: SiteMaker, csms: Csms) -> None:
    cp = await make_site()
    assert cp.bench is not None
    result = await csms.send(call.SetChargingProfile(
        connector_id=0, cs_charging_profiles=profile(3, "TxDefaultProfile", 10.0)))
    assert result.status == "Accepted"
    await two_sessions(cp)
    await until(lambda: offered(cp) == [10.0, 10.0])  # profile 10 A < site 15.5 A
    cp.bench.house(18.0)  # site: 13 A left, 6.5 A each < profile
    await until(lambda: about(offered(cp), 6.5, 6.5))
    await charging(cp, 1)


async def test_site_sim_commands_through_the_control_target(
        make_site: SiteMaker, make_cp: CpMaker) -> None:
    cp = await make_site(connectors=1)
    control = StationControl(cp)
    answer = await control.sim("house", {"amps": 7.5})
    assert answer["site"]["house_a"] == 7.5
    answer = await control.sim("fault", {"connector": "site", "kind": "meter"})
    assert answer["site"]["silent"] is True
    await until(lambda: cp.site is not None and not cp.site.status()["meter_ok"])
    await control.sim("fault", {"connector": "site", "kind": "none"})
    await until(lambda: cp.site is not None and cp.site.status()["meter_ok"])
    plain = await make_cp()  # no [site]: refused, and no site object in status
    await registered(plain)  # (running: a stop before the controller started would raise)
    with pytest.raises(Refused, match="no \\[site\\] section"):
        await StationControl(plain).sim("house", {"amps": 3})
    assert "site" not in await plain.status()
