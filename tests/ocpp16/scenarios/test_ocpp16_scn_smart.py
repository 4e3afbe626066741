"""OCTT 1.6 Smart Charging cases (056-060, 066, 067, 072, 082) on the full station: the CSMS
sets profiles, and the pilot's offer (PWM duty), the status and the store follow."""

from __future__ import annotations

from typing import Any

from ocpp.v16 import call

from chargepoint.app import RunningStation
from tests.fullstack import (
    CpMaker,
    registered,
    start_session,
    status_reached,
    statuses,
    until,
)
from tests.ocpp16.csms import Csms
from tests.ocpp16.profiles import in_seconds, profile


def offered(cp: RunningStation, connector: int = 1) -> float | None:
    """What the pilot offers now (A), None while PWM is off."""
    return cp.controller.station.snapshot().connectors[connector - 1].pwm_a


async def set_profile(csms: Csms, connector: int, data: dict[str, Any]) -> str:
    result = await csms.send(call.SetChargingProfile(connector_id=connector,
                                                     cs_charging_profiles=data))
    return str(result.status)


async def confirmed_transaction(cp: RunningStation, csms_id: int = 100) -> None:
    await until(lambda: cp.store.transaction_by_csms_id(csms_id) is not None)


def stored_ids(cp: RunningStation) -> list[int]:
    return sorted(pid for pid, _, _ in cp.store.profiles())


async def test_056_tx_default_profile(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    assert await set_profile(csms, 1, profile(1, "TxDefaultProfile", 10.0)) == "Accepted"
    await start_session(cp, "AA000056")
    assert offered(cp) == 10.0  # the first PWM offer of the session is already the limit
    assert stored_ids(cp) == [1]


async def test_057_tx_profile(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    await start_session(cp, "AA000057")
    await confirmed_transaction(cp)
    assert offered(cp) == 32.0
    data = profile(2, "TxProfile", 8.0, transaction_id=100)
    assert await set_profile(csms, 1, data) == "Accepted"
    await until(lambda: offered(cp) == 8.0)
    cp.bench.tap("AA000057")  # type: ignore[union-attr]
    await csms.wait_for("StopTransaction")
    await until(lambda: stored_ids(cp) == [])  # a TxProfile ends with its transaction


async def test_058_1_tx_profile_without_transaction(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    assert await set_profile(csms, 1, profile(3, "TxProfile", 8.0)) == "Rejected"
    assert await set_profile(csms, 1, profile(3, "TxProfile", 8.0, transaction_id=100)) == (
        "Rejected")
    assert stored_ids(cp) == []


async def test_058_2_tx_profile_wrong_transaction(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    assert await set_profile(csms, 1, profile(4, "TxDefaultProfile", 20.0)) == "Accepted"
    await start_session(cp, "AA000582")
    await confirmed_transaction(cp)
    await until(lambda: offered(cp) == 20.0)
    data = profile(5, "TxProfile", 8.0, transaction_id=4711)
    assert await set_profile(csms, 1, data) == "Rejected"
    assert offered(cp) == 20.0  # what was installed stays in force
    assert stored_ids(cp) == [4]


async def test_059_remote_start_with_profile(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    data = profile(6, "TxProfile", [(0, 12.0), (3600, 7.0)], kind="Relative")
    result = await csms.send(call.RemoteStartTransaction(id_tag="REMOTE59", connector_id=1,
                                                         charging_profile=data))
    assert result.status == "Accepted"
    assert cp.bench is not None
    cp.bench.plug(1)
    await csms.wait_for("StartTransaction")
    await until(lambda: offered(cp) == 12.0)
    await until(lambda: stored_ids(cp) == [6])
    composite = await csms.send(call.GetCompositeSchedule(connector_id=1, duration=60))
    assert composite.charging_schedule["charging_schedule_period"][0]["limit"] == 12.0


async def test_060_remote_start_with_wrong_purpose(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    for purpose in ("TxDefaultProfile", "ChargePointMaxProfile"):
        data = profile(7, purpose, 12.0)
        result = await csms.send(call.RemoteStartTransaction(id_tag="REMOTE60", connector_id=1,
                                                             charging_profile=data))
        assert result.status == "Rejected"
    assert csms.calls("StartTransaction") == []
    assert stored_ids(cp) == []


async def test_066_get_composite_schedule(csms: Csms, make_cp: CpMaker) -> None:
    """The three purposes together on the live clock (the exact figures with a fixed clock
    are in tests/ocpp16/test_ocpp16_smart_charging.py)."""
    cp = await make_cp()
    await registered(cp)
    await start_session(cp, "AA000066")
    await confirmed_transaction(cp)
    assert await set_profile(csms, 0, profile(11, "ChargePointMaxProfile", 20.0)) == "Accepted"
    assert await set_profile(csms, 1, profile(12, "TxDefaultProfile", 16.0)) == "Accepted"
    tx = profile(13, "TxProfile", [(0, 4140.0), (3600, 11040.0)], unit="W", kind="Relative",
                 transaction_id=100)
    assert await set_profile(csms, 1, tx) == "Accepted"
    result = await csms.send(call.GetCompositeSchedule(connector_id=1, duration=300,
                                                       charging_rate_unit="A"))
    assert result.status == "Accepted" and result.connector_id == 1
    schedule = result.charging_schedule
    assert schedule["charging_rate_unit"] == "A" and schedule["duration"] == 300
    assert schedule["charging_schedule_period"] == [
        {"start_period": 0, "limit": 6.0, "number_phases": 3}]  # 4140 W on 3 x 230 V
    assert offered(cp) == 6.0
    in_w = await csms.send(call.GetCompositeSchedule(connector_id=1, duration=300,
                                                     charging_rate_unit="W"))
    assert in_w.charging_schedule["charging_schedule_period"][0]["limit"] == 4140.0
    station = await csms.send(call.GetCompositeSchedule(connector_id=0, duration=300))
    assert station.charging_schedule["charging_schedule_period"][0]["limit"] == 20.0
    bad = await csms.send(call.GetCompositeSchedule(connector_id=2, duration=300))
    assert bad.status == "Rejected"


async def test_067_clear_charging_profile(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    assert await set_profile(csms, 0, profile(21, "ChargePointMaxProfile", 25.0)) == "Accepted"
    assert await set_profile(csms, 1, profile(22, "TxDefaultProfile", 10.0)) == "Accepted"
    assert await set_profile(csms, 1, profile(23, "TxDefaultProfile", 8.0, stack=2)) == (
        "Accepted")
    await start_session(cp, "AA000067")
    assert offered(cp) == 8.0
    clear = await csms.send(call.ClearChargingProfile(id=23))
    assert clear.status == "Accepted"
    await until(lambda: offered(cp) == 10.0)
    assert (await csms.send(call.ClearChargingProfile(id=999))).status == "Unknown"
    assert (await csms.send(call.ClearChargingProfile(
        connector_id=1, charging_profile_purpose="TxDefaultProfile", stack_level=5))).status == (
        "Unknown")
    assert (await csms.send(call.ClearChargingProfile(
        charging_profile_purpose="TxDefaultProfile"))).status == "Accepted"
    await until(lambda: offered(cp) == 25.0)
    assert stored_ids(cp) == [21]
    assert (await csms.send(call.ClearChargingProfile())).status == "Accepted"
    await until(lambda: offered(cp) == 32.0)
    assert stored_ids(cp) == []


async def test_072_stacking(csms: Csms, make_cp: CpMaker) -> None:
    """A higher stack level wins while it lasts; when its duration ends the timer hands over
    to the lower one on time, with no message from the CSMS."""
    cp = await make_cp()
    await registered(cp)
    await start_session(cp, "AA000072")
    assert await set_profile(csms, 1, profile(31, "TxDefaultProfile", 16.0)) == "Accepted"
    top = profile(32, "TxDefaultProfile", 8.0, stack=1, start=in_seconds(0), duration=3)
    assert await set_profile(csms, 1, top) == "Accepted"
    await until(lambda: offered(cp) == 8.0)
    await until(lambda: offered(cp) == 16.0)  # the stack level 1 ran out
    assert cp.adapter.smart_charging.timer.wake_at is None  # nothing left to wait for


async def test_082_tx_default_profile_during_transaction(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    await start_session(cp, "AA000082")
    assert offered(cp) == 32.0
    assert await set_profile(csms, 0, profile(41, "TxDefaultProfile", 14.0)) == "Accepted"
    await until(lambda: offered(cp) == 14.0)  # connector 0: every connector, now


async def test_limit_below_6a_suspends_and_resumes(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    await start_session(cp, "AA000006")
    pause = profile(51, "TxDefaultProfile", [(0, 0.0), (3, 10.0)], start=in_seconds(0))
    assert await set_profile(csms, 1, pause) == "Accepted"
    await status_reached(csms, "SuspendedEVSE")
    await until(lambda: offered(cp) == 10.0)
    await csms.wait_until(lambda: statuses(csms)[-1] == "Charging")
    seen = statuses(csms)
    paused = seen.index("SuspendedEVSE")
    assert seen[paused - 1] == "Charging" and "Charging" in seen[paused + 1:]
    assert cp.controller.hardware_of(1).contactor.commanded_closed


async def test_limits_from_the_configuration_keys(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    keys = {k["key"]: k for k in (await csms.send(call.GetConfiguration(key=[
        "ChargeProfileMaxStackLevel", "ChargingScheduleMaxPeriods",
        "MaxChargingProfilesInstalled", "ChargingScheduleAllowedChargingRateUnit",
        "SupportedFeatureProfiles"]))).configuration_key}
    assert all(k["readonly"] for k in keys.values())
    assert "SmartCharging" in keys["SupportedFeatureProfiles"]["value"].split(",")
    max_stack = int(keys["ChargeProfileMaxStackLevel"]["value"])
    max_periods = int(keys["ChargingScheduleMaxPeriods"]["value"])
    max_installed = int(keys["MaxChargingProfilesInstalled"]["value"])
    assert await set_profile(csms, 1, profile(60, "TxDefaultProfile", 9.0)) == "Accepted"
    too_high = profile(61, "TxDefaultProfile", 8.0, stack=max_stack + 1)
    assert await set_profile(csms, 1, too_high) == "Rejected"
    too_long = profile(62, "TxDefaultProfile", [(i * 60, 8.0) for i in range(max_periods + 1)])
    assert await set_profile(csms, 1, too_long) == "Rejected"
    for i in range(2, max_installed + 1):  # connector i % 2, stack level i // 2: all new
        data = profile(60 + i, "TxDefaultProfile", 8.0, stack=i // 2)
        assert await set_profile(csms, i % 2, data) == "Accepted", i
    assert await set_profile(csms, 1, profile(99, "TxDefaultProfile", 7.0, stack=1)) == (
        "Accepted")  # replaces the one with the same connector, stack level and purpose
    assert len(stored_ids(cp)) == max_installed
    extra = profile(100, "TxDefaultProfile", 8.0, stack=max_stack)
    assert await set_profile(csms, 1, extra) == "Rejected"  # one too many
    assert len(stored_ids(cp)) == max_installed
    # bad input: Rejected or a CALLERROR, and the installed profiles stay
    before = stored_ids(cp)
    recurring = profile(101, "TxDefaultProfile", 8.0, kind="Recurring", start=in_seconds(0))
    assert await set_profile(csms, 1, recurring) == "Rejected"  # no recurrencyKind
    cpmax = profile(102, "ChargePointMaxProfile", 8.0)
    assert await set_profile(csms, 1, cpmax) == "Rejected"  # connector 0 only
    assert await set_profile(csms, 2, profile(103, "TxDefaultProfile", 8.0)) == "Rejected"
    answer = await csms.send_raw(
        '[2,"sc1","SetChargingProfile",{"connectorId":1,"csChargingProfiles":'
        '{"chargingProfileId":104,"stackLevel":0,"chargingProfilePurpose":"TxDefaultProfile",'
        '"chargingProfileKind":"Absolute","chargingSchedule":{"chargingRateUnit":"X",'
        '"chargingSchedulePeriod":[{"startPeriod":0,"limit":8}]}}}]', "sc1")
    assert answer.kind == 4
    assert stored_ids(cp) == before
