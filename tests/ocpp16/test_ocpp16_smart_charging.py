"""The 1.6 smart charging handlers on a fixed wall clock (the CSMS's time, never advancing):
the exact OCTT 066 composite schedule, W <-> A, the limits handed to the core, and profiles
across a restart of the adapter."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from ocpp.v16 import call

from chargepoint.core.actions import StartTransaction, StopTransaction
from chargepoint.core.events import CsmsLinkChanged, CurrentLimitChanged
from chargepoint.core.types import StopReason
from chargepoint.ocpp16.adapter import Ocpp16Adapter
from chargepoint.ocpp16.config_keys import DEFAULT_PROFILES, Configuration
from chargepoint.ocppj.timestamps import Clock
from chargepoint.store.db import Store
from tests.ocpp16.csms import Csms
from tests.ocpp16.harness import FakeStationPort, Station, options
from tests.ocpp16.profiles import profile

NOON = "2026-12-02T12:00:00.000Z"
MONO = 1000.0  # the adapter's monotonic clock stands still: wall time is NOON throughout


async def start(db: Path, csms: Csms, profiles: tuple[str, ...] = DEFAULT_PROFILES) -> Station:
    store = Store.open(db)
    port = FakeStationPort(store, 1, {"RemoteStartRequested": "Accepted"})
    clock = Clock(boot_id="fixed", monotonic=lambda: MONO)
    opts = options(csms.url)
    config = Configuration(store, opts.initial_config, profiles=profiles)
    adapter = Ocpp16Adapter(port, opts, clock=clock, config=config)
    task = asyncio.ensure_future(adapter.run())
    await port.wait_for(CsmsLinkChanged)
    return Station(adapter, port, store, task)


@pytest.fixture
async def fixed(csms: Csms, tmp_path: Path) -> AsyncIterator[Station]:
    csms.clock = lambda: NOON
    station = await start(tmp_path / "state.db", csms)
    yield station
    await station.stop()
    station.store.close()


def notify(station: Station, action: StartTransaction | StopTransaction) -> None:
    """What the runtime does with a core action: the adapter performs it, observers see it."""
    station.adapter.perform(action)
    for observer in list(station.port.observers):
        observer(action)


async def confirmed(station: Station, csms_id: int) -> None:
    """Until the CSMS's StartTransaction.conf with ``csms_id`` is in the store."""
    async with asyncio.timeout(5):
        while station.store.transaction_by_csms_id(csms_id) is None:
            await asyncio.sleep(0.01)


async def begin(station: Station, csms: Csms) -> None:
    notify(station, StartTransaction(1, "TAG066", 0.0, MONO))  # starts at NOON
    await confirmed(station, 100)


async def set_profile(csms: Csms, connector: int, data: dict[str, Any]) -> str:
    result = await csms.send(call.SetChargingProfile(connector_id=connector,
                                                     cs_charging_profiles=data))
    return str(result.status)


OCTT_066 = [
    (0, profile(1, "ChargePointMaxProfile", [(0, 20.0), (600, 10.0)], start=NOON)),
    (1, profile(2, "TxDefaultProfile", [(0, 16.0), (300, 12.0)], start=NOON)),
    (1, profile(3, "TxProfile", [(0, 4140.0), (200, 11040.0)], kind="Relative", unit="W",
                duration=400, transaction_id=100)),
]


async def install_066(station: Station, csms: Csms) -> None:
    await begin(station, csms)
    for connector, data in OCTT_066:
        assert await set_profile(csms, connector, data) == "Accepted"


def conf_json(csms: Csms) -> dict[str, Any]:
    """The last GetCompositeSchedule.conf exactly as it went over the wire."""
    frame = [f for f in csms.frames if f.direction == "in" and f.kind == 3][-1]
    return json.loads(frame.raw)[2]  # type: ignore[no-any-return]


async def test_066_composite_schedule_of_three_profiles(fixed: Station, csms: Csms) -> None:
    await install_066(fixed, csms)
    await csms.send(call.GetCompositeSchedule(connector_id=1, duration=900,
                                              charging_rate_unit="A"))
    assert conf_json(csms) == {
        "status": "Accepted", "connectorId": 1, "scheduleStart": NOON,
        "chargingSchedule": {
            "duration": 900, "startSchedule": NOON, "chargingRateUnit": "A",
            "chargingSchedulePeriod": [
                {"startPeriod": 0, "limit": 6.0, "numberPhases": 3},
                {"startPeriod": 200, "limit": 16.0, "numberPhases": 3},
                {"startPeriod": 400, "limit": 12.0, "numberPhases": 3},
                {"startPeriod": 600, "limit": 10.0, "numberPhases": 3}]}}
    await csms.send(call.GetCompositeSchedule(connector_id=1, duration=900,
                                              charging_rate_unit="W"))
    assert [p["limit"] for p in conf_json(csms)["chargingSchedule"][
        "chargingSchedulePeriod"]] == [4140.0, 11040.0, 8280.0, 6900.0]
    await csms.send(call.GetCompositeSchedule(connector_id=0, duration=900))
    assert conf_json(csms)["chargingSchedule"]["chargingSchedulePeriod"] == [
        {"startPeriod": 0, "limit": 20.0, "numberPhases": 3},
        {"startPeriod": 600, "limit": 10.0, "numberPhases": 3}]


async def test_the_core_gets_the_limit_in_force(fixed: Station, csms: Csms) -> None:
    await install_066(fixed, csms)
    limits = fixed.port.of(CurrentLimitChanged)
    assert limits[0] == CurrentLimitChanged(1, 32.0)  # no profile yet: the hardware
    assert limits[-1] == CurrentLimitChanged(1, 6.0)  # 4140 W / (3 x 230 V)
    timer = fixed.adapter.smart_charging.timer
    assert timer.wake_at is not None and timer.wake_at.isoformat() == "2026-12-02T12:03:20+00:00"


async def test_a_refused_profile_changes_nothing(fixed: Station, csms: Csms) -> None:
    await install_066(fixed, csms)
    before = fixed.store.profiles()
    events = len(fixed.port.events)
    bad = [
        (1, profile(3, "TxProfile", 8.0, transaction_id=4711)),  # 058_2, same id as installed
        (0, profile(4, "TxProfile", 8.0)),  # TxProfile on connector 0
        (1, profile(5, "TxDefaultProfile", [(10, 8.0)])),  # first period not at 0 s
        (1, profile(6, "TxDefaultProfile", [(0, 8.0), (0, 9.0)])),  # unordered periods
        (1, profile(7, "TxDefaultProfile", 8.0, kind="Relative", start=NOON)),
        (1, profile(8, "TxDefaultProfile", 8.0, transaction_id=100)),  # tx id on a default
        (1, profile(9, "TxDefaultProfile", 8.0, valid_from=NOON, valid_to=NOON)),
    ]
    for connector, data in bad:
        assert await set_profile(csms, connector, data) == "Rejected", data
    assert fixed.store.profiles() == before
    assert fixed.port.events[events:] == []


async def test_tx_profile_ends_with_its_transaction(fixed: Station, csms: Csms) -> None:
    await install_066(fixed, csms)
    notify(fixed, StopTransaction(1, None, 0.0, MONO, StopReason.LOCAL))
    async with asyncio.timeout(5):
        while 3 in [pid for pid, _, _ in fixed.store.profiles()]:
            await asyncio.sleep(0.01)
    assert [p.id for p in fixed.adapter.smart_charging.installed] == [1, 2]
    assert fixed.port.of(CurrentLimitChanged)[-1] == CurrentLimitChanged(1, 16.0)


async def test_profiles_survive_a_restart(fixed: Station, csms: Csms, tmp_path: Path) -> None:
    await install_066(fixed, csms)
    await fixed.stop()
    again = await start(tmp_path / "state.db", csms)
    try:
        assert sorted(p.id for p in again.adapter.smart_charging.installed) == [1, 2]
        assert sorted(pid for pid, _, _ in again.store.profiles()) == [1, 2]  # Tx dropped
        await again.port.wait_for(CurrentLimitChanged)
        assert again.port.of(CurrentLimitChanged)[-1] == CurrentLimitChanged(1, 16.0)
    finally:
        await again.stop()
        again.store.close()


async def test_a_composite_longer_than_a_week_is_cut_to_a_week(fixed: Station, csms: Csms) -> None:
    daily = profile(9, "TxDefaultProfile", [(0, 8.0), (3600, 16.0)], kind="Recurring",
                    recurrency="Daily", start=NOON)
    assert await set_profile(csms, 1, daily) == "Accepted"
    await csms.send(call.GetCompositeSchedule(connector_id=1, duration=10 * 365 * 86_400))
    schedule = conf_json(csms)["chargingSchedule"]
    assert schedule["duration"] == 7 * 86_400
    assert len(schedule["chargingSchedulePeriod"]) == 14


async def test_without_the_smart_charging_profile(csms: Csms, tmp_path: Path) -> None:
    csms.clock = lambda: NOON
    station = await start(tmp_path / "core.db", csms, ("Core", "RemoteTrigger"))
    try:
        assert await set_profile(csms, 1, profile(1, "TxDefaultProfile", 8.0)) == "NotSupported"
        result = await csms.send(call.GetCompositeSchedule(connector_id=1, duration=60))
        assert result.status == "Rejected"
        assert (await csms.send(call.ClearChargingProfile())).status == "Unknown"
        remote = await csms.send(call.RemoteStartTransaction(
            id_tag="T1", connector_id=1, charging_profile=profile(2, "TxProfile", 8.0)))
        assert remote.status == "Accepted"  # the profile is ignored
        keys = (await csms.send(call.GetConfiguration())).configuration_key
        assert "ChargeProfileMaxStackLevel" not in {k["key"] for k in keys}
        assert station.store.profiles() == []
    finally:
        await station.stop()
        station.store.close()


async def test_a_remote_start_profile_is_for_that_start_only(fixed: Station, csms: Csms) -> None:
    data = profile(20, "TxProfile", 9.0)
    for tag in ("LATE", "NOW"):
        remote = await csms.send(call.RemoteStartTransaction(id_tag=tag, connector_id=1,
                                                             charging_profile=data))
        assert remote.status == "Accepted"
    # "LATE" starts long after the core stopped waiting for its EV: another start
    notify(fixed, StartTransaction(1, "LATE", 0.0, time.monotonic() + 10_000))
    await confirmed(fixed, 100)
    assert fixed.adapter.smart_charging.installed == []
    notify(fixed, StopTransaction(1, None, 0.0, MONO, StopReason.LOCAL))
    notify(fixed, StartTransaction(1, "NOW", 0.0, time.monotonic()))
    await confirmed(fixed, 101)
    assert [p.id for p in fixed.adapter.smart_charging.installed] == [20]
    assert fixed.port.of(CurrentLimitChanged)[-1] == CurrentLimitChanged(1, 9.0)
    async with asyncio.timeout(5):  # persisted (a task) before the teardown
        while not fixed.store.profiles():
            await asyncio.sleep(0.01)
