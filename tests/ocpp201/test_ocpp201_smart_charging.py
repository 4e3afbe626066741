"""OCPP 2.0.1 smart charging (block K) from the CSMS side: the full station on the simulated
bench against the loopback 2.0.1 CSMS. SetChargingProfile (K01) and its refusals with a
reasonCode, the current the core offers on the pilot following the profile in force,
GetCompositeSchedule (K08), GetChargingProfiles -> ReportChargingProfiles (K09),
ClearChargingProfile (K10), RequestStartTransaction with a TxProfile (K05), the
SmartChargingCtrlr variables, and a restart keeping the profiles but the TxProfiles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ocpp.v201 import call

from chargepoint.app import RunningStation
from chargepoint.ocpp201.smart_charging import REPORT_PAGE
from tests.fullstack import charging, until
from tests.ocpp201.conftest import Cp201Maker
from tests.ocpp201.csms import Csms201

TAG = "04A1B2C3"


def iso(delta_s: float = 0.0) -> str:
    """The CSMS's now (the station's wall clock comes from it) plus ``delta_s``."""
    when = datetime.now(UTC) + timedelta(seconds=delta_s)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def profile(profile_id: int, purpose: str, periods: list[tuple[int, float]] | float, *,
            stack: int = 0, kind: str = "Absolute", unit: str = "A",
            transaction_id: str | None = None, start: str | None = None,
            valid_from: str | None = None, valid_to: str | None = None,
            **extra: Any) -> dict[str, Any]:
    """A ChargingProfileType; ``periods`` is [(startPeriod, limit)] or one limit from 0 s. An
    Absolute or Recurring profile starts a second ago unless ``start`` says otherwise."""
    if isinstance(periods, int | float):
        periods = [(0, float(periods))]
    schedule: dict[str, Any] = {"id": 1, "chargingRateUnit": unit, "chargingSchedulePeriod": [
        {"startPeriod": s, "limit": float(limit)} for s, limit in periods]}
    if kind != "Relative" or start is not None:
        schedule["startSchedule"] = start or iso(-1)
    data: dict[str, Any] = {"id": profile_id, "stackLevel": stack,
                            "chargingProfilePurpose": purpose, "chargingProfileKind": kind,
                            "chargingSchedule": [schedule], **extra}
    optional = {"transactionId": transaction_id, "validFrom": valid_from, "validTo": valid_to}
    data.update({k: v for k, v in optional.items() if v is not None})
    return data


async def set_profile(csms: Csms201, evse: int, data: dict[str, Any]) -> tuple[str, str | None]:
    """(status, statusInfo.reasonCode) of SetChargingProfile."""
    result = await csms.send(call.SetChargingProfile(evse_id=evse, charging_profile=data))
    info = result.status_info or {}
    return str(result.status), info.get("reason_code")


async def ready(cp: RunningStation, csms: Csms201) -> None:
    await until(lambda: cp.adapter.link_state().registration == "Accepted")
    await csms.wait_for("StatusNotification")


async def session(cp: RunningStation, csms: Csms201) -> str:
    """Plug, tap, charging: the transactionId of TransactionEvent Started."""
    assert cp.bench is not None
    cp.bench.plug(1)
    cp.bench.tap(TAG)
    await charging(cp)
    await csms.wait_until(lambda: csms.events())
    await until(lambda: running_id(cp) is not None)
    return str(running_id(cp))


def running_id(cp: RunningStation) -> str | None:
    """The transactionId of the transaction open on EVSE 1 (once the store has it)."""
    record = cp.store.open_transaction_on(1)
    return None if record is None else record.csms_id


def installed_ids(cp: RunningStation) -> list[int]:
    """The ids of the profiles the adapter's smart charging holds in memory."""
    smart = cp.adapter.smart_charging  # type: ignore[attr-defined]
    return sorted(p.id for p in smart.installed)


def offered(cp: RunningStation) -> float | None:
    return cp.controller.offered_current(1)


def stored_ids(cp: RunningStation) -> list[int]:
    return sorted(pid for pid, _, _ in cp.store.profiles())


async def reports(csms: Csms201, request_id: int) -> list[dict[str, Any]]:
    """The ReportChargingProfiles of ``request_id``, once the last (tbc false) arrived."""
    def mine() -> list[dict[str, Any]]:
        return [f.payload for f in csms.calls("ReportChargingProfiles")
                if f.payload["requestId"] == request_id]
    await csms.wait_until(lambda: any(not r.get("tbc", False) for r in mine()))
    return mine()


async def get_profiles(csms: Csms201, request_id: int, criteria: dict[str, Any],
                       evse_id: int | None = None) -> tuple[str, list[int]]:
    """(GetChargingProfiles status, the ids reported in order)."""
    request = call.GetChargingProfiles(request_id=request_id, charging_profile=criteria,
                                       evse_id=evse_id)
    status = str((await csms.send(request)).status)
    if status != "Accepted":
        return status, []
    return status, [p["id"] for r in await reports(csms, request_id)
                    for p in r["chargingProfile"]]


async def test_k01_station_max_profile_limits_what_the_pilot_offers(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await ready(cp, csms201)
    await session(cp, csms201)
    assert offered(cp) == 32.0
    assert await set_profile(csms201, 0, profile(1, "ChargingStationMaxProfile", 10.0)) == (
        "Accepted", None)
    await until(lambda: offered(cp) == 10.0)
    status = await cp.status()
    assert status["connectors"][0]["limit_a"] == 10.0
    assert stored_ids(cp) == [1]
    # a TxDefaultProfile below it wins; one above it does not
    assert (await set_profile(csms201, 1, profile(2, "TxDefaultProfile", 8.0)))[0] == "Accepted"
    await until(lambda: offered(cp) == 8.0)
    assert (await set_profile(csms201, 1, profile(2, "TxDefaultProfile", 16.0)))[0] == (
        "Accepted")  # K01.FR.05: the same id replaces
    await until(lambda: offered(cp) == 10.0)
    assert stored_ids(cp) == [1, 2]


async def test_k01_refusals_carry_a_reason_and_change_nothing(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(**{"SmartChargingCtrlr.RateUnit": "A"})
    await ready(cp, csms201)
    period = {"startPeriod": 0, "limit": 8.0}
    many = [(s * 60, 8.0) for s in range(25)]
    two_schedules = profile(9, "TxDefaultProfile", 8.0)
    two_schedules["chargingSchedule"].append({**two_schedules["chargingSchedule"][0], "id": 2})
    phase = profile(10, "TxDefaultProfile", 8.0)
    phase["chargingSchedule"][0]["chargingSchedulePeriod"] = [
        {**period, "numberPhases": 1, "phaseToUse": 1}]
    cases = [
        (1, profile(1, "ChargingStationMaxProfile", 8.0), "InvalidValue"),  # not on EVSE 0
        (0, profile(2, "ChargingStationMaxProfile", 8.0, kind="Relative"), "InvalidValue"),
        (0, profile(3, "TxProfile", 8.0, transaction_id="t"), "InvalidValue"),  # EVSE 0
        (5, profile(4, "TxDefaultProfile", 8.0), "InvalidValue"),  # no EVSE 5
        (0, profile(5, "ChargingStationExternalConstraints", 8.0), "InvalidValue"),  # FR.22
        (1, profile(6, "TxProfile", 8.0, transaction_id="nope"), "TxNotFound"),
        (1, profile(7, "TxProfile", 8.0), "MissingParam"),
        (1, profile(8, "TxDefaultProfile", 8.0, kind="Relative", start=iso()),
         "InvalidSchedule"),  # K01.FR.41
        (1, two_schedules, "InvalidSchedule"),
        (1, phase, "InvalidSchedule"),  # K01.FR.20
        (1, profile(11, "TxDefaultProfile", [(10, 8.0)]), "InvalidSchedule"),  # K01.FR.31
        (1, profile(12, "TxDefaultProfile", [(0, 8.0), (0, 9.0)]), "InvalidSchedule"),  # FR.35
        (1, profile(13, "TxDefaultProfile", many), "InvalidSchedule"),  # PeriodsPerSchedule
        (1, profile(14, "TxDefaultProfile", 8.0, stack=9), "InvalidStackLevel"),
        (1, profile(15, "TxDefaultProfile", 8000.0, unit="W"), "UnsupportedRateUnit"),  # FR.26
        (1, profile(16, "TxDefaultProfile", 8.0, recurrencyKind="Daily"), "InvalidValue"),
        (1, profile(19, "TxDefaultProfile", 8.0, kind="Recurring"), "InvalidValue"),
        (1, profile(17, "TxDefaultProfile", 8.0, valid_from=iso(), valid_to=iso()),
         "InvalidValue"),
    ]
    absolute = profile(18, "TxDefaultProfile", 8.0)
    del absolute["chargingSchedule"][0]["startSchedule"]
    cases.append((1, absolute, "InvalidSchedule"))  # K01.FR.40
    for evse, data, reason in cases:
        assert await set_profile(csms201, evse, data) == ("Rejected", reason), data
    assert cp.store.profiles() == []
    assert await get_profiles(csms201, 1, {}) == ("NoProfiles", [])
    assert offered(cp) is None or offered(cp) == 32.0
    assert not csms201.errors_sent()


async def test_k01_conflicting_profiles_are_refused(csms201: Csms201,
                                                  make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(connectors=2)
    await ready(cp, csms201)
    until_1h, after_2h = iso(3600), iso(7200)
    assert (await set_profile(csms201, 1, profile(
        1, "TxDefaultProfile", 8.0, valid_to=until_1h)))[0] == "Accepted"
    # K01.FR.06: same purpose, stackLevel and EVSE, overlapping validity
    assert await set_profile(csms201, 1, profile(2, "TxDefaultProfile", 9.0)) == (
        "Rejected", "DuplicateProfile")
    # not overlapping: both stay (the store keeps both)
    assert (await set_profile(csms201, 1, profile(
        3, "TxDefaultProfile", 9.0, valid_from=after_2h)))[0] == "Accepted"
    # another EVSE or stack level: no conflict
    assert (await set_profile(csms201, 2, profile(4, "TxDefaultProfile", 9.0)))[0] == (
        "Accepted")
    assert (await set_profile(csms201, 1, profile(5, "TxDefaultProfile", 9.0, stack=1)))[0] == (
        "Accepted")
    # K01.FR.53: evseId 0 with a stackLevel an EVSE's TxDefaultProfile has, and the reverse
    assert await set_profile(csms201, 0, profile(6, "TxDefaultProfile", 9.0)) == (
        "Rejected", "DuplicateProfile")
    assert (await set_profile(csms201, 0, profile(7, "TxDefaultProfile", 9.0, stack=2)))[0] == (
        "Accepted")
    assert await set_profile(csms201, 2, profile(8, "TxDefaultProfile", 9.0, stack=2)) == (
        "Rejected", "DuplicateProfile")
    assert stored_ids(cp) == [1, 3, 4, 5, 7]


async def test_k01_tx_profile_follows_its_transaction(csms201: Csms201,
                                                     make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await ready(cp, csms201)
    tx_id = await session(cp, csms201)
    assert await set_profile(csms201, 1, profile(1, "TxProfile", 12.0, kind="Relative",
                                                 transaction_id="other")) == (
        "Rejected", "TxNotFound")
    assert (await set_profile(csms201, 1, profile(1, "TxProfile", 12.0, kind="Relative",
                                                  transaction_id=tx_id)))[0] == "Accepted"
    await until(lambda: offered(cp) == 12.0)
    # K01.FR.39: a second TxProfile of the transaction at the same stackLevel
    assert await set_profile(csms201, 1, profile(2, "TxProfile", 6.0, kind="Relative",
                                                 transaction_id=tx_id)) == (
        "Rejected", "InvalidStackLevel")
    assert (await set_profile(csms201, 1, profile(3, "TxProfile", 6.0, kind="Relative",
                                                  transaction_id=tx_id, stack=1)))[0] == (
        "Accepted")
    await until(lambda: offered(cp) == 6.0)
    # below 6 A the pilot's PWM goes off (the EV pauses)
    assert (await set_profile(csms201, 1, profile(4, "TxProfile", 4.0, kind="Relative",
                                                  transaction_id=tx_id, stack=2)))[0] == (
        "Accepted")
    await until(lambda: offered(cp) is None)
    assert stored_ids(cp) == [1, 3, 4]
    assert cp.bench is not None
    cp.bench.unplug(1)
    await csms201.wait_until(lambda: csms201.events()[-1]["eventType"] == "Ended")
    await until(lambda: stored_ids(cp) == [])  # the TxProfiles ended with it
    assert installed_ids(cp) == []


async def test_k08_composite_schedule(csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(connectors=2)
    await ready(cp, csms201)
    start = iso(-1)
    assert (await set_profile(csms201, 0, profile(
        1, "ChargingStationMaxProfile", [(0, 20.0), (600, 10.0)], start=start)))[0] == "Accepted"
    assert (await set_profile(csms201, 1, profile(
        2, "TxDefaultProfile", [(0, 16.0), (300, 12.0)], start=start)))[0] == "Accepted"
    result = await csms201.send(call.GetCompositeSchedule(duration=900, evse_id=1,
                                                          charging_rate_unit="A"))
    assert result.status == "Accepted"
    schedule = result.schedule
    assert schedule["evse_id"] == 1 and schedule["duration"] == 900
    assert schedule["charging_rate_unit"] == "A"
    periods = schedule["charging_schedule_period"]
    assert [p["limit"] for p in periods] == [16.0, 12.0, 10.0]
    assert 295 <= periods[1]["start_period"] <= 300
    assert 595 <= periods[2]["start_period"] <= 600
    watts = await csms201.send(call.GetCompositeSchedule(duration=900, evse_id=1,
                                                         charging_rate_unit="W"))
    assert [p["limit"] for p in watts.schedule["charging_schedule_period"]] == [
        11040.0, 8280.0, 6900.0]  # 3 x 230 V
    station = await csms201.send(call.GetCompositeSchedule(duration=900, evse_id=0))
    assert [p["limit"] for p in station.schedule["charging_schedule_period"]] == [20.0, 10.0]
    other = await csms201.send(call.GetCompositeSchedule(duration=60, evse_id=2))
    assert [p["limit"] for p in other.schedule["charging_schedule_period"]] == [20.0]
    daily = profile(3, "TxDefaultProfile", [(0, 8.0), (3600, 16.0)], kind="Recurring",
                    start=start, recurrencyKind="Daily")
    assert (await set_profile(csms201, 2, daily))[0] == "Accepted"
    two_days = await csms201.send(call.GetCompositeSchedule(duration=2 * 86_400 - 60,
                                                             evse_id=2))
    assert [p["limit"] for p in two_days.schedule["charging_schedule_period"]] == [
        8.0, 10.0, 8.0, 10.0]  # the station maximum is 10 A after 600 s
    assert 86_395 <= two_days.schedule["charging_schedule_period"][2]["start_period"] <= 86_400
    unknown = await csms201.send(call.GetCompositeSchedule(duration=60, evse_id=3))
    assert unknown.status == "Rejected" and unknown.status_info["reason_code"] == "UnknownEVSE"
    assert not csms201.errors_sent()


async def test_k08_composite_in_a_unit_the_station_does_not_use(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(**{"SmartChargingCtrlr.RateUnit": "A"})
    await ready(cp, csms201)
    result = await csms201.send(call.GetCompositeSchedule(duration=60, evse_id=1,
                                                          charging_rate_unit="W"))
    assert result.status == "Rejected"
    assert result.status_info["reason_code"] == "UnsupportedRateUnit"


async def test_k09_get_charging_profiles_by_criteria_paged(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await ready(cp, csms201)
    sent = {1: profile(1, "ChargingStationMaxProfile", 20.0)}
    sent.update({n: profile(n, "TxDefaultProfile", 10.0 + n, stack=n - 2)
                 for n in range(2, 8)})  # six on EVSE 1, stack levels 0..5
    for n, data in sent.items():
        assert (await set_profile(csms201, 0 if n == 1 else 1, data))[0] == "Accepted"
    request = call.GetChargingProfiles(request_id=11, charging_profile={})
    assert (await csms201.send(request)).status == "Accepted"
    got = await reports(csms201, 11)
    assert [(r["evseId"], len(r["chargingProfile"])) for r in got] == [
        (0, 1), (1, REPORT_PAGE), (1, 6 - REPORT_PAGE)]
    assert [r.get("tbc", False) for r in got] == [True, True, False]
    assert {r["chargingLimitSource"] for r in got} == {"CSO"}
    reported = {p["id"]: p for r in got for p in r["chargingProfile"]}
    assert reported == sent  # exactly as set
    assert await get_profiles(csms201, 12, {"chargingProfileId": [3, 5, 99]}) == (
        "Accepted", [3, 5])
    assert await get_profiles(csms201, 13, {"stackLevel": 4}) == ("Accepted", [6])
    assert await get_profiles(csms201, 14, {"chargingProfilePurpose":
                                            "ChargingStationMaxProfile"}) == ("Accepted", [1])
    assert await get_profiles(csms201, 15, {}, evse_id=0) == ("Accepted", [1])
    assert await get_profiles(csms201, 16, {"chargingLimitSource": ["CSO", "EMS"],
                                            "stackLevel": 0}) == ("Accepted", [1, 2])
    assert await get_profiles(csms201, 17, {"chargingLimitSource": ["EMS"]}) == (
        "NoProfiles", [])
    assert await get_profiles(csms201, 18, {"chargingProfilePurpose": "TxProfile"}) == (
        "NoProfiles", [])
    assert not csms201.errors_sent()


async def test_k10_clear_charging_profile(csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await ready(cp, csms201)
    await session(cp, csms201)
    for n in range(1, 5):
        assert (await set_profile(csms201, 1, profile(n, "TxDefaultProfile", 6.0 + n,
                                                      stack=n)))[0] == "Accepted"
    assert (await set_profile(csms201, 0, profile(5, "ChargingStationMaxProfile", 9.0)))[0] == (
        "Accepted")
    await until(lambda: offered(cp) == 9.0)  # TxDefault stack 4: 10 A, station max 9 A

    async def clear(**kw: Any) -> str:
        return str((await csms201.send(call.ClearChargingProfile(**kw))).status)

    assert await clear(charging_profile_id=5) == "Accepted"
    await until(lambda: offered(cp) == 10.0)
    assert await clear(charging_profile_id=5) == "Unknown"
    assert await clear(charging_profile_criteria={"stackLevel": 4}) == "Accepted"
    await until(lambda: offered(cp) == 9.0)
    assert await clear(charging_profile_criteria={"evseId": 0}) == "Unknown"
    assert await clear(charging_profile_criteria={"chargingProfilePurpose": "TxProfile"}) == (
        "Unknown")
    assert await clear(charging_profile_criteria={"evseId": 1, "stackLevel": 3}) == "Accepted"
    assert stored_ids(cp) == [1, 2]
    assert await clear() == "Accepted"  # no id, no criteria: all
    assert stored_ids(cp) == []
    await until(lambda: offered(cp) == 32.0)
    assert await clear() == "Unknown"


async def test_k05_request_start_with_a_tx_profile(csms201: Csms201,
                                                  make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(**{"AuthCtrlr.AuthorizeRemoteStart": False})
    await ready(cp, csms201)
    assert cp.bench is not None
    cp.bench.plug(1)
    refused = await csms201.send(call.RequestStartTransaction(
        id_token={"idToken": TAG, "type": "Central"}, remote_start_id=1, evse_id=1,
        charging_profile=profile(1, "TxDefaultProfile", 8.0)))
    assert refused.status == "Rejected"
    assert refused.status_info["reason_code"] == "InvalidValue"
    assert not csms201.events()
    result = await csms201.send(call.RequestStartTransaction(
        id_token={"idToken": TAG, "type": "Central"}, remote_start_id=2, evse_id=1,
        charging_profile=profile(7, "TxProfile", [(0, 8.0), (3600, 16.0)], kind="Relative")))
    assert result.status == "Accepted"
    await charging(cp)
    await until(lambda: offered(cp) == 8.0)
    await csms201.wait_until(lambda: csms201.events())
    tx_id = csms201.events()[0]["transactionInfo"]["transactionId"]
    await until(lambda: stored_ids(cp) == [7])
    await until(lambda: running_id(cp) == tx_id)
    await csms201.send(call.GetChargingProfiles(request_id=3, charging_profile={
        "chargingProfilePurpose": "TxProfile"}))
    reported = (await reports(csms201, 3))[0]
    assert reported["evseId"] == 1
    assert reported["chargingProfile"][0]["transactionId"] == tx_id
    composite = await csms201.send(call.GetCompositeSchedule(duration=7200, evse_id=1))
    assert [p["limit"] for p in composite.schedule["charging_schedule_period"]] == [8.0, 16.0]


async def test_smart_charging_ctrlr_variables(csms201: Csms201,
                                              make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await ready(cp, csms201)

    def ref(variable: str, value: str | None = None) -> dict[str, Any]:
        item: dict[str, Any] = {"component": {"name": "SmartChargingCtrlr"},
                                "variable": {"name": variable}}
        if value is not None:
            item["attributeValue"] = value
        return item

    async def values(*names: str) -> list[str | None]:
        result = await csms201.send(call.GetVariables(get_variable_data=[
            ref(n) for n in names]))
        return [r.get("attribute_value") for r in result.get_variable_result]

    assert await values("Enabled", "Available", "ProfileStackLevel", "PeriodsPerSchedule",
                        "RateUnit", "EntriesChargingProfiles", "LimitChangeSignificance") == [
        "true", "true", "8", "24", "A,W", "0", "10"]
    await session(cp, csms201)
    assert (await set_profile(csms201, 1, profile(1, "TxDefaultProfile", 10.0)))[0] == (
        "Accepted")
    await until(lambda: offered(cp) == 10.0)
    assert await values("EntriesChargingProfiles") == ["1"]
    result = await csms201.send(call.SetVariables(set_variable_data=[
        ref("EntriesChargingProfiles", "5"), ref("RateUnit", "A"), ref("Enabled", "false")]))
    assert [r["attribute_status"] for r in result.set_variable_result] == [
        "Rejected", "Rejected", "Accepted"]
    await until(lambda: offered(cp) == 32.0)  # disabled: not enforced
    assert await set_profile(csms201, 1, profile(2, "TxDefaultProfile", 8.0)) == (
        "Rejected", "NotEnabled")
    await csms201.send(call.SetVariables(set_variable_data=[ref("Enabled", "true")]))
    await until(lambda: offered(cp) == 10.0)


async def test_a_restart_keeps_the_profiles_but_the_tx_profiles(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await ready(cp, csms201)
    tx_id = await session(cp, csms201)
    assert (await set_profile(csms201, 0, profile(1, "ChargingStationMaxProfile", 13.0)))[0] == (
        "Accepted")
    assert (await set_profile(csms201, 1, profile(2, "TxProfile", 10.0, kind="Relative",
                                                  transaction_id=tx_id)))[0] == "Accepted"
    await until(lambda: offered(cp) == 10.0)
    assert stored_ids(cp) == [1, 2]
    await cp.stop()
    again = await make_cp201()  # the same store: a reboot
    await ready(again, csms201)
    assert stored_ids(again) == [1]
    assert installed_ids(again) == [1]
    assert await get_profiles(csms201, 5, {}) == ("Accepted", [1])
    await session(again, csms201)
    await until(lambda: offered(again) == 13.0)


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


async def test_local_load_management_and_a_profile_the_lower_wins(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(connectors=2, extra=SITE)
    await ready(cp, csms201)
    assert cp.bench is not None and cp.site is not None
    assert (await set_profile(csms201, 0, profile(3, "TxDefaultProfile", 10.0)))[0] == (
        "Accepted")
    for connector, tag in ((1, "04A1B2C3"), (2, "04D5E6F7")):
        cp.bench.plug(connector)
        cp.bench.tap(tag)
        await until(lambda c=connector: cp.controller.station.snapshot().connectors[c - 1]
                    .session is not None)

    def offers() -> list[float | None]:
        return [cp.controller.offered_current(c) for c in (1, 2)]

    def about(expected: float) -> bool:  # the EVs decode the duty cycle to about 0.06 A
        return all(a is not None and abs(a - expected) <= 0.6 for a in offers())

    await until(lambda: offers() == [10.0, 10.0])  # profile 10 A < site (32 - 1) / 2 A
    cp.bench.house(18.0)  # site: 13 A left, 6.5 A each < profile
    await until(lambda: about(6.5))
    cp.bench.house(0.0)
    await until(lambda: offers() == [10.0, 10.0])
