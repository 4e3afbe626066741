"""OCTT 2.0.1 charging-station cases (TC_<block>_<nn>_CS) that no other 2.0.1 scenario test
covers, named ``test_<block>_<nn>_...``, from the CSMS side: Reset (B), Get/SetVariables
refusals (B), reconnection (B), ChangeAvailability answers and persistence (G), reservation
answers (H), online authorization answers (C) and the composite schedule without profiles (K).
docs/octt201.md lists every case and the test that covers it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ocpp.v201 import call

from chargepoint.app import RunningStation
from chargepoint.core.types import AuthStatus
from chargepoint.ocppj.timestamps import parse_utc
from tests.fullstack import charging, free, until
from tests.ocpp201.conftest import Cp201Maker
from tests.ocpp201.csms import Csms201
from tests.ocpp201.test_ocpp201_authorization import (
    listed,
    refused,
    send_list,
    verdicts,
)
from tests.ocpp201.test_ocpp201_reservations import reserve, token

TAG = "04A1B2C3"
OTHER = "04D5E6F7"


def ref(component: str, variable: str, **more: Any) -> dict[str, Any]:
    return {"component": {"name": component}, "variable": {"name": variable}, **more}


def statuses(csms: Csms201, evse: int = 1, since: int = 0) -> list[str]:
    return [f.payload["connectorStatus"] for f in csms.frames[since:]
            if f.direction == "in" and f.kind == 2 and f.action == "StatusNotification"
            and f.payload["evseId"] == evse]


async def status_is(csms: Csms201, status: str, evse: int = 1, since: int = 0) -> None:
    await csms.wait_until(lambda: (s := statuses(csms, evse, since)) and s[-1] == status)


async def ready(cp: RunningStation, csms: Csms201, evses: int = 1) -> None:
    await until(lambda: cp.adapter.link_state().registration == "Accepted")
    for evse in range(1, evses + 1):
        await status_is(csms, "Available", evse)


async def start(cp: RunningStation, csms: Csms201, connector: int = 1, tag: str = TAG) -> None:
    """Plug, tap: charging, and TransactionEvent Started sent."""
    assert cp.bench is not None
    before = len([e for e in csms.events() if e["eventType"] == "Started"])
    cp.bench.plug(connector)
    cp.bench.tap(tag)
    await charging(cp, connector)
    await csms.wait_until(lambda: len([e for e in csms.events()
                                       if e["eventType"] == "Started"]) > before)


def lock_problems(csms: Csms201) -> list[dict[str, Any]]:
    """The NotifyEvent eventData of ConnectorPlugRetentionLock, in order."""
    return [d for f in csms.calls("NotifyEvent") for d in f.payload["eventData"]
            if d["component"]["name"] == "ConnectorPlugRetentionLock"]


def ended(csms: Csms201) -> list[dict[str, Any]]:
    return [e for e in csms.events() if e["eventType"] == "Ended"]


async def reboot(cp: RunningStation, csms: Csms201, make: Cp201Maker,
                 connectors: int = 1) -> tuple[RunningStation, int]:
    """Once the station asked for its restart: stop it, start it again on the same store.
    Returns the new station and the index of the first frame after the restart."""
    await until(lambda: cp.controller.restart is not None)
    boots = len(csms.calls("BootNotification"))
    await cp.stop()
    mark = len(csms.frames)
    again = await make(connectors=connectors)
    await csms.wait_for("BootNotification", boots + 1)
    await until(lambda: again.adapter.link_state().registration == "Accepted")
    return again, mark


def boot_reasons(csms: Csms201) -> list[str]:
    return [f.payload["reason"] for f in csms.calls("BootNotification")]


async def availability(csms: Csms201, operative: bool, evse: dict[str, int] | None = None
                       ) -> str:
    result = await csms.send(call.ChangeAvailability(
        operational_status="Operative" if operative else "Inoperative", evse=evse))
    return str(result.status)


async def evse_state(csms: Csms201, evse: int = 1) -> str:
    result = await csms.send(call.GetVariables(get_variable_data=[
        {"component": {"name": "EVSE", "evse": {"id": evse}},
         "variable": {"name": "AvailabilityState"}}]))
    return str(result.get_variable_result[0]["attribute_value"])


# -- B: provisioning -----------------------------------------------------------------------


async def test_b_02_requests_are_answered_while_pending(csms201: Csms201,
                                                      make_cp201: Cp201Maker) -> None:
    csms201.boot_status, csms201.interval = "Pending", 1
    cp = await make_cp201()
    await until(lambda: cp.adapter.link_state().registration == "Pending")
    result = await csms201.send(call.GetVariables(get_variable_data=[
        ref("OCPPCommCtrlr", "HeartbeatInterval")]))
    assert result.get_variable_result[0]["attribute_status"] == "Accepted"
    assert not csms201.calls("StatusNotification")
    csms201.boot_status = "Accepted"
    await ready(cp, csms201)


async def test_b_20_reset_on_idle_without_transaction(csms201: Csms201,
                                                      make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await ready(cp, csms201)
    assert (await csms201.send(call.Reset(type="OnIdle"))).status == "Accepted"
    _, mark = await reboot(cp, csms201, make_cp201)
    assert boot_reasons(csms201) == ["PowerUp", "RemoteReset"]
    await status_is(csms201, "Available", since=mark)


async def test_b_21_reset_on_idle_waits_for_the_transaction_then_boots(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await ready(cp, csms201)
    await start(cp, csms201)
    assert (await csms201.send(call.Reset(type="OnIdle"))).status == "Scheduled"
    await cp.adapter.ping()  # a round trip: the station went on charging
    assert cp.controller.restart is None and not ended(csms201)
    assert cp.bench is not None
    cp.bench.tap(TAG)  # the driver stops
    await csms201.wait_until(lambda: ended(csms201))
    assert ended(csms201)[0]["triggerReason"] == "StopAuthorized"
    await reboot(cp, csms201, make_cp201)
    assert boot_reasons(csms201) == ["PowerUp", "RemoteReset"]


async def test_b_22_reset_immediate_ends_the_transaction(csms201: Csms201,
                                                         make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await ready(cp, csms201)
    await start(cp, csms201)
    assert (await csms201.send(call.Reset(type="Immediate"))).status == "Accepted"
    await until(lambda: cp.controller.restart == "hard")
    await csms201.wait_until(lambda: ended(csms201))
    [end] = ended(csms201)
    assert end["triggerReason"] == "ResetCommand"
    assert end["transactionInfo"]["stoppedReason"] == "ImmediateReset"
    await reboot(cp, csms201, make_cp201)
    assert boot_reasons(csms201) == ["PowerUp", "RemoteReset"]
    assert len(ended(csms201)) == 1  # not ended again after the restart


async def test_b_23_unavailable_persists_a_reset(csms201: Csms201,
                                                 make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await ready(cp, csms201)
    assert await availability(csms201, False, {"id": 1}) == "Accepted"
    await status_is(csms201, "Unavailable")
    assert (await csms201.send(call.Reset(type="OnIdle"))).status == "Accepted"
    _, mark = await reboot(cp, csms201, make_cp201)
    await status_is(csms201, "Unavailable", since=mark)
    assert "Available" not in statuses(csms201, since=mark)


async def test_b_24_reserved_persists_a_reset(csms201: Csms201,
                                              make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await ready(cp, csms201)
    assert await reserve(csms201, 24) == "Accepted"
    await status_is(csms201, "Reserved")
    assert (await csms201.send(call.Reset(type="OnIdle"))).status == "Accepted"
    again, mark = await reboot(cp, csms201, make_cp201)
    await status_is(csms201, "Reserved", since=mark)
    assert "Available" not in statuses(csms201, since=mark)
    assert [r.reservation_id for r in again.store.reservations()] == [24]


async def test_b_25_reset_of_an_idle_evse_is_accepted_without_a_restart(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await ready(cp, csms201)
    for kind in ("OnIdle", "Immediate"):
        assert (await csms201.send(call.Reset(type=kind, evse_id=1))).status == "Accepted"
    assert (await csms201.send(call.Reset(type="Immediate", evse_id=9))).status == "Rejected"
    await cp.adapter.ping()
    assert cp.controller.restart is None and not ended(csms201)


async def test_b_32_33_34_get_variables_unknown_and_unsupported(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await ready(cp, csms201)
    result = await csms201.send(call.GetVariables(get_variable_data=[
        ref("UnknownCtrlr", "HeartbeatInterval"),
        ref("OCPPCommCtrlr", "UnknownVariable"),
        ref("OCPPCommCtrlr", "HeartbeatInterval", attributeType="Target")]))
    assert [(r["attribute_status"], r.get("attribute_value"))
            for r in result.get_variable_result] == [
        ("UnknownComponent", None), ("UnknownVariable", None),
        ("NotSupportedAttributeType", None)]
    assert [r["component"]["name"] for r in result.get_variable_result] == [
        "UnknownCtrlr", "OCPPCommCtrlr", "OCPPCommCtrlr"]  # each item echoed


async def test_b_35_36_37_39_set_variables_unknown_unsupported_and_read_only(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await ready(cp, csms201)
    result = await csms201.send(call.SetVariables(set_variable_data=[
        ref("UnknownCtrlr", "HeartbeatInterval", attributeValue="60"),
        ref("OCPPCommCtrlr", "UnknownVariable", attributeValue="60"),
        ref("OCPPCommCtrlr", "HeartbeatInterval", attributeValue="60", attributeType="MaxSet"),
        ref("OCPPCommCtrlr", "MessageTimeout", attributeValue="7")]))
    assert [r["attribute_status"] for r in result.set_variable_result] == [
        "UnknownComponent", "UnknownVariable", "NotSupportedAttributeType", "Rejected"]
    got = await csms201.send(call.GetVariables(get_variable_data=[
        ref("OCPPCommCtrlr", "HeartbeatInterval"), ref("OCPPCommCtrlr", "MessageTimeout")]))
    assert [r["attribute_value"] for r in got.get_variable_result] == ["300", "3"]  # unchanged


async def test_b_41_reset_on_idle_waits_for_every_transaction(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(connectors=2)
    await ready(cp, csms201, evses=2)
    await start(cp, csms201, 1, TAG)
    await start(cp, csms201, 2, OTHER)
    assert (await csms201.send(call.Reset(type="OnIdle"))).status == "Scheduled"
    assert cp.bench is not None
    cp.bench.unplug(1)
    await csms201.wait_until(lambda: ended(csms201))
    await cp.adapter.ping()
    assert cp.controller.restart is None  # EVSE 2 still charges
    cp.bench.unplug(2)
    await csms201.wait_until(lambda: len(ended(csms201)) == 2)
    await reboot(cp, csms201, make_cp201, connectors=2)
    assert boot_reasons(csms201) == ["PowerUp", "RemoteReset"]


async def test_b_57_reconnects_after_a_connection_loss_without_a_new_boot(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await ready(cp, csms201)
    await csms201.stop()
    await until(lambda: not cp.adapter.link_state().connected)
    await csms201.start()
    await csms201.connected()
    await until(lambda: cp.adapter.link_state().connected)
    await cp.adapter.ping()
    assert len(csms201.calls("BootNotification")) == 1  # still registered
    assert len(csms201.calls("Heartbeat")) == 1


# -- G: availability -----------------------------------------------------------------------


async def test_g_09_10_12_13_15_16_same_state_is_accepted(csms201: Csms201,
                                                          make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await ready(cp, csms201)
    for evse in ({"id": 1}, None, {"id": 1, "connectorId": 1}):  # EVSE, station, connector
        assert await availability(csms201, True, evse) == "Accepted", evse  # G_09/12/15
        assert await evse_state(csms201) == "Available"
        assert await availability(csms201, False, evse) == "Accepted", evse
        await status_is(csms201, "Unavailable")
        mark = len(csms201.frames)
        assert await availability(csms201, False, evse) == "Accepted", evse  # G_10/13/16
        assert await evse_state(csms201) == "Unavailable"
        assert await availability(csms201, True, evse) == "Accepted", evse
        await status_is(csms201, "Available", since=mark)
        assert statuses(csms201, since=mark) == ["Available"]  # one change, one status


async def test_g_05_06_07_08_station_and_connector_change(csms201: Csms201,
                                                          make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(connectors=2)
    await ready(cp, csms201, evses=2)
    assert await availability(csms201, False) == "Accepted"  # G_05: the whole station
    await status_is(csms201, "Unavailable", 1)
    await status_is(csms201, "Unavailable", 2)
    assert await availability(csms201, True) == "Accepted"  # G_06
    await status_is(csms201, "Available", 1)
    await status_is(csms201, "Available", 2)
    assert await availability(csms201, False, {"id": 2, "connectorId": 1}) == "Accepted"
    await status_is(csms201, "Unavailable", 2)  # G_07: the connector of EVSE 2 only
    assert statuses(csms201, 1)[-1] == "Available"
    assert await availability(csms201, True, {"id": 2, "connectorId": 1}) == "Accepted"
    await status_is(csms201, "Available", 2)  # G_08
    assert await availability(csms201, False, {"id": 2, "connectorId": 2}) == "Rejected"


async def test_g_11_14_17_with_a_transaction_scheduled(csms201: Csms201,
                                                       make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await ready(cp, csms201)
    assert cp.bench is not None
    for n, evse in enumerate(({"id": 1}, None, {"id": 1, "connectorId": 1})):
        await start(cp, csms201)
        assert await availability(csms201, False, evse) == "Scheduled", evse
        await cp.adapter.ping()
        assert statuses(csms201)[-1] == "Occupied"  # the transaction goes on
        cp.bench.unplug(1)
        await csms201.wait_until(lambda k=n: len(ended(csms201)) == k + 1)
        await status_is(csms201, "Unavailable")
        assert await availability(csms201, True, evse) == "Accepted"
        await status_is(csms201, "Available")


async def test_g_18_19_21_unavailable_persists_a_reboot(csms201: Csms201,
                                                        make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(connectors=3)
    await ready(cp, csms201, evses=3)
    assert await availability(csms201, False, {"id": 1}) == "Accepted"  # G_18: EVSE
    assert await availability(csms201, False, {"id": 2, "connectorId": 1}) == "Accepted"
    await status_is(csms201, "Unavailable", 1)
    await status_is(csms201, "Unavailable", 2)
    await cp.stop()
    mark = len(csms201.frames)
    again = await make_cp201(connectors=3)
    for evse, status in ((1, "Unavailable"), (2, "Unavailable"), (3, "Available")):
        await status_is(csms201, status, evse, since=mark)
        assert statuses(csms201, evse, since=mark) == [status]
    assert await availability(csms201, False) == "Accepted"  # G_21: the station
    await status_is(csms201, "Unavailable", 3)
    await again.stop()
    mark = len(csms201.frames)
    await make_cp201(connectors=3)
    for evse in (1, 2, 3):
        await status_is(csms201, "Unavailable", evse, since=mark)
    assert await availability(csms201, True) == "Accepted"
    await status_is(csms201, "Available", 3, since=mark)  # 1 and 2 were set on their own


# -- H: reservations -----------------------------------------------------------------------


async def test_h_03_reserving_a_reserved_evse_is_occupied(csms201: Csms201,
                                                          make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await ready(cp, csms201)
    assert await reserve(csms201, 1) == "Accepted"
    await status_is(csms201, "Reserved")
    assert await reserve(csms201, 2, tag=OTHER) == "Occupied"
    assert [r.reservation_id for r in cp.store.reservations()] == [1]


async def test_h_09_12_unspecified_evse_occupied_or_unavailable(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(connectors=2)
    await ready(cp, csms201, evses=2)
    assert cp.bench is not None
    cp.bench.plug(1)
    cp.bench.plug(2)
    await status_is(csms201, "Occupied", 1)
    await status_is(csms201, "Occupied", 2)
    assert await reserve(csms201, 9, evse=None) == "Occupied"  # H_09: every EVSE occupied
    cp.bench.unplug(1)
    cp.bench.unplug(2)
    assert await availability(csms201, False) == "Accepted"
    await status_is(csms201, "Unavailable", 1)
    await status_is(csms201, "Unavailable", 2)
    assert await reserve(csms201, 12, evse=None) == "Unavailable"  # H_12
    assert cp.store.reservations() == []


# -- C: online authorization ---------------------------------------------------------------


async def test_c_06_07_56_blocked_expired_or_unknown_at_authorize_starts_nothing(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    csms201.token_status.update({TAG: "Blocked", OTHER: "Expired", "CAFE56": "Unknown"})
    cp = await make_cp201()
    await ready(cp, csms201)
    assert (await refused(cp, TAG)).status is AuthStatus.BLOCKED
    assert cp.bench is not None
    cp.bench.unplug(1)
    assert (await refused(cp, OTHER)).status is AuthStatus.EXPIRED
    cp.bench.unplug(1)
    assert (await refused(cp, "CAFE56")).status is AuthStatus.INVALID  # C_56
    assert [f.payload["idToken"]["idToken"] for f in csms201.calls("Authorize")] == [
        TAG, OTHER, "CAFE56"]
    assert not csms201.events()


async def test_c_28_29_30_31_online_a_list_entry_not_accepted_asks_the_csms(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    csms201.token_status.update({"CAFE01": "Invalid", "CAFE02": "Blocked"})
    cp = await make_cp201(**{"AuthCtrlr.LocalPreAuthorize": True})
    await ready(cp, csms201)
    assert await send_list(csms201, 1, "Full", [
        listed("CAFE01", "Invalid"), listed("CAFE02", "Blocked"),
        listed("CAFE03", "Expired"), listed(TAG, "Invalid")]) == "Accepted"
    assert (await refused(cp, "CAFE01")).status is AuthStatus.INVALID  # C_28
    assert cp.bench is not None
    cp.bench.unplug(1)
    assert (await refused(cp, "CAFE02")).status is AuthStatus.BLOCKED  # C_29
    cp.bench.unplug(1)
    assert [f.payload["idToken"]["idToken"] for f in csms201.calls("Authorize")] == [
        "CAFE01", "CAFE02"]
    seen = verdicts(cp)
    await start(cp, csms201, tag=TAG)  # C_31: Invalid in the list, the CSMS accepts
    assert seen[0].status is AuthStatus.ACCEPTED
    assert csms201.calls("Authorize")[-1].payload["idToken"] == token(TAG)
    cp.bench.unplug(1)
    await csms201.wait_until(lambda: ended(csms201))
    await start(cp, csms201, tag="CAFE03")  # C_30: Expired in the list, the CSMS accepts
    assert csms201.calls("Authorize")[-1].payload["idToken"] == token("CAFE03")


# -- K: smart charging ---------------------------------------------------------------------


async def test_k_39_composite_schedule_without_a_profile(csms201: Csms201,
                                                         make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await ready(cp, csms201)
    result = await csms201.send(call.GetCompositeSchedule(duration=300, evse_id=1,
                                                          charging_rate_unit="A"))
    assert result.status == "Accepted"
    schedule = result.schedule
    assert schedule["evse_id"] == 1 and schedule["duration"] == 300
    periods = schedule["charging_schedule_period"]
    assert periods[0]["start_period"] == 0
    assert [p["limit"] for p in periods] == [32.0]  # the hardware's maximum


async def test_b_52_a_status_change_while_offline_is_sent_after_the_reconnection(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(connectors=2)
    await ready(cp, csms201, evses=2)
    await csms201.stop()
    await until(lambda: not cp.adapter.link_state().connected)
    assert cp.bench is not None
    cp.bench.plug(2)
    mark = len(csms201.frames)
    await csms201.start()
    await status_is(csms201, "Occupied", 2, since=mark)
    await cp.adapter.ping()
    assert statuses(csms201, 1, since=mark) == []  # unchanged: not sent again
    assert len(csms201.calls("BootNotification")) == 1


# -- C: authorization cache and local list -------------------------------------------------


async def test_c_04_a_different_id_token_does_not_stop_the_transaction(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await ready(cp, csms201)
    await start(cp, csms201)
    assert cp.bench is not None
    cp.bench.tap(OTHER)  # another card: it neither stops this transaction nor starts one
    cp.bench.tap(TAG)  # the right one stops it (cards are read in order)
    await csms201.wait_until(lambda: ended(csms201))
    await cp.adapter.ping()
    [end] = ended(csms201)
    assert end["triggerReason"] == "StopAuthorized"
    assert end["idToken"] == token(TAG)
    assert len([e for e in csms201.events() if e["eventType"] == "Started"]) == 1
    assert [f.payload["idToken"]["idToken"] for f in csms201.calls("Authorize")] == [TAG]


async def test_c_10_11_a_cached_blocked_or_expired_token_asks_the_csms(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    csms201.token_status[TAG] = "Blocked"
    cp = await make_cp201(**{"AuthCtrlr.LocalPreAuthorize": True,
                             "AuthCacheCtrlr.LifeTime": 1})
    await ready(cp, csms201)
    assert (await refused(cp, TAG)).status is AuthStatus.BLOCKED
    assert cp.bench is not None
    cp.bench.unplug(1)
    await until(lambda: (e := cp.store.cache_get(f"ISO14443:{TAG}")) is not None
                and e.status == "Blocked")
    del csms201.token_status[TAG]  # now Accepted
    await start(cp, csms201)  # C_10: Blocked in the cache: Authorize, the CSMS decides
    assert len(csms201.calls("Authorize")) == 2
    cp.bench.unplug(1)
    await csms201.wait_until(lambda: ended(csms201))
    await until(lambda: free(cp))
    entry = cp.store.cache_get(f"ISO14443:{TAG}")
    assert entry is not None and entry.expiry is not None
    expiry = parse_utc(entry.expiry)
    # LifeTime 1 s, on the station's own clock (set from the CSMS's time at boot: behind this
    # host's by the boot answer's delay, which under load is long enough to matter)
    await until(lambda: (now := cp.adapter.wall_now()) is not None and now > expiry, timeout=5)
    await start(cp, csms201)  # C_11: Accepted but expired in the cache: Authorize
    assert len(csms201.calls("Authorize")) == 3


async def test_c_13_cached_token_before_the_cable_starts_without_authorize(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(**{"AuthCtrlr.LocalPreAuthorize": True})
    await ready(cp, csms201)
    await start(cp, csms201)
    assert cp.bench is not None
    cp.bench.unplug(1)
    await csms201.wait_until(lambda: ended(csms201))
    await until(lambda: free(cp))
    cp.bench.tap(TAG)  # first the card, then the cable
    cp.bench.plug(1)
    await charging(cp)
    await csms201.wait_until(lambda: len(csms201.events()) >= 3)
    assert len(csms201.calls("Authorize")) == 1


async def test_c_22_24_25_offline_the_list_refuses_and_wins_over_the_cache(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(**{"AuthCtrlr.OfflineTxForUnknownIdEnabled": True})
    await ready(cp, csms201)
    await start(cp, csms201)  # TAG: Accepted in the cache
    assert cp.bench is not None
    cp.bench.unplug(1)
    await csms201.wait_until(lambda: ended(csms201))
    assert await send_list(csms201, 1, "Full", [
        listed("CAFE01", "Invalid"), listed("CAFE02", "Accepted",
                                            cacheExpiryDateTime="2020-01-01T00:00:00Z"),
        listed(TAG, "Blocked")]) == "Accepted"
    await until(lambda: cp.store.queue_length() == 0)
    await csms201.stop()
    await until(lambda: not cp.adapter.link_state().connected)
    assert (await refused(cp, "CAFE01")).status is AuthStatus.INVALID  # C_22
    cp.bench.unplug(1)
    assert (await refused(cp, "CAFE02")).status is AuthStatus.EXPIRED  # C_24
    cp.bench.unplug(1)
    assert (await refused(cp, TAG)).status is AuthStatus.BLOCKED  # C_25: the list first
    assert len(csms201.calls("Authorize")) == 1


# -- H, K ----------------------------------------------------------------------------------


async def test_h_24_unspecified_evse_used_by_the_group_id_token(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    csms201.token_groups[OTHER] = "GROUP-H24"
    cp = await make_cp201()
    await ready(cp, csms201)
    assert await reserve(csms201, 124, evse=None, group_id_token={
        "idToken": "GROUP-H24", "type": "Central"}) == "Accepted"
    await status_is(csms201, "Reserved")
    assert cp.bench is not None
    cp.bench.tap(OTHER)  # tap then plug; Authorize names the reservation's group
    await csms201.wait_for("Authorize")
    cp.bench.plug(1)
    await charging(cp)
    await csms201.wait_until(lambda: csms201.events())
    started = csms201.events()[0]
    assert started["idToken"] == token(OTHER)
    assert started["reservationId"] == 124
    await until(lambda: cp.store.reservations() == [])


def _profile(profile_id: int, limit: float, **extra: Any) -> dict[str, Any]:
    start_at = (datetime.now(UTC) - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"id": profile_id, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
            "chargingProfileKind": "Absolute", "chargingSchedule": [{
                "id": 1, "chargingRateUnit": "A", "startSchedule": start_at,
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}]}], **extra}


def _in(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


async def test_k_21_22_valid_from_and_valid_to_in_the_composite_schedule(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(connectors=2)
    await ready(cp, csms201, evses=2)
    later = await csms201.send(call.SetChargingProfile(
        evse_id=1, charging_profile=_profile(1, 8.0, validFrom=_in(3600))))
    until_then = await csms201.send(call.SetChargingProfile(
        evse_id=2, charging_profile=_profile(2, 10.0, validTo=_in(3600))))
    assert (later.status, until_then.status) == ("Accepted", "Accepted")
    await until(lambda: cp.controller.offered_current(1) in (None, 32.0))

    async def limits(evse: int) -> list[tuple[int, float]]:
        result = await csms201.send(call.GetCompositeSchedule(
            duration=7200, evse_id=evse, charging_rate_unit="A"))
        return [(p["start_period"], p["limit"])
                for p in result.schedule["charging_schedule_period"]]

    first = await limits(1)  # K_21: not yet valid, then 8 A
    assert [limit for _, limit in first] == [32.0, 8.0]
    assert 3590 <= first[1][0] <= 3600
    second = await limits(2)  # K_22: 10 A until validTo
    assert [limit for _, limit in second] == [10.0, 32.0]
    assert 3590 <= second[1][0] <= 3600


async def test_k_38_request_start_ignores_the_profile_while_smart_charging_is_off(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(**{"AuthCtrlr.AuthorizeRemoteStart": False,
                             "SmartChargingCtrlr.Enabled": False})
    await ready(cp, csms201)
    assert cp.bench is not None
    cp.bench.plug(1)
    profile = _profile(7, 8.0)
    profile.update(chargingProfilePurpose="TxProfile", chargingProfileKind="Relative")
    del profile["chargingSchedule"][0]["startSchedule"]
    result = await csms201.send(call.RequestStartTransaction(
        id_token={"idToken": TAG, "type": "Central"}, remote_start_id=38, evse_id=1,
        charging_profile=profile))
    assert result.status == "Accepted"
    await charging(cp)
    await csms201.wait_until(lambda: csms201.events())
    await cp.adapter.ping()
    assert cp.store.profiles() == []
    assert cp.controller.offered_current(1) == 32.0


async def test_c_09_12_a_cached_invalid_token_asks_the_csms_again(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    csms201.token_status[TAG] = "Invalid"
    cp = await make_cp201(**{"AuthCtrlr.LocalPreAuthorize": True})
    await ready(cp, csms201)
    assert (await refused(cp, TAG)).status is AuthStatus.INVALID
    assert cp.bench is not None
    cp.bench.unplug(1)
    await until(lambda: (e := cp.store.cache_get(f"ISO14443:{TAG}")) is not None
                and e.status == "Invalid")
    assert (await refused(cp, TAG)).status is AuthStatus.INVALID  # C_09: asked, refused
    assert len(csms201.calls("Authorize")) == 2
    cp.bench.unplug(1)
    del csms201.token_status[TAG]
    await start(cp, csms201)  # C_12: asked, now Accepted
    assert len(csms201.calls("Authorize")) == 3
    await until(lambda: (e := cp.store.cache_get(f"ISO14443:{TAG}")) is not None
                and e.status == "Accepted")


async def test_c_39_a_token_of_the_same_group_stops_the_transaction(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    csms201.token_groups.update({TAG: "FLEET", OTHER: "FLEET"})
    cp = await make_cp201()
    await ready(cp, csms201)
    await start(cp, csms201)
    assert cp.bench is not None
    cp.bench.tap(OTHER)  # Authorize: the same groupIdToken
    await csms201.wait_until(lambda: ended(csms201))
    [end] = ended(csms201)
    assert end["triggerReason"] == "StopAuthorized"
    assert end["transactionInfo"]["stoppedReason"] == "Local"
    assert [f.payload["idToken"]["idToken"] for f in csms201.calls("Authorize")] == [TAG, OTHER]


async def test_h_14_unspecified_reservations_as_many_as_free_evses(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(connectors=2)
    await ready(cp, csms201, evses=2)
    assert await reserve(csms201, 141, evse=None) == "Accepted"
    await cp.adapter.ping()
    assert statuses(csms201, 1)[-1] == statuses(csms201, 2)[-1] == "Available"
    assert await reserve(csms201, 142, evse=None, tag=OTHER) == "Accepted"
    await status_is(csms201, "Reserved", 1)
    await status_is(csms201, "Reserved", 2)
    assert await reserve(csms201, 143, evse=None, tag="CAFE01") == "Occupied"


async def test_g_14_the_idle_evses_go_unavailable_at_once(csms201: Csms201,
                                                          make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(connectors=2)
    await ready(cp, csms201, evses=2)
    await start(cp, csms201, 1)
    assert await availability(csms201, False) == "Scheduled"
    await status_is(csms201, "Unavailable", 2)  # no transaction there: now
    await cp.adapter.ping()
    assert statuses(csms201, 1)[-1] == "Occupied"
    assert cp.bench is not None
    cp.bench.unplug(1)
    await status_is(csms201, "Unavailable", 1)


async def test_c_05_a_refused_card_leaves_the_socket_unlocked(csms201: Csms201,
                                                              make_cp201: Cp201Maker) -> None:
    csms201.token_status[OTHER] = "Invalid"
    cp = await make_cp201()  # a socket with a lock (the default)
    await ready(cp, csms201)
    assert (await refused(cp, OTHER)).status is AuthStatus.INVALID
    await cp.adapter.ping()
    assert not cp.controller.hardware_of(1).lock.commanded_locked
    await start(cp, csms201)  # an accepted card locks it
    assert cp.controller.hardware_of(1).lock.commanded_locked


async def test_c_39_45_group_from_the_list_or_the_cache_stops_the_transaction(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    fleet = {"idToken": "FLEET", "type": "Central"}
    csms201.token_groups.update({TAG: "FLEET", OTHER: "FLEET"})
    cp = await make_cp201(**{"AuthCtrlr.LocalPreAuthorize": True})
    await ready(cp, csms201)
    assert await send_list(csms201, 1, "Full", [listed("CAFE01", groupIdToken=fleet),
                                                listed("CAFE02", groupIdToken=fleet)]) \
        == "Accepted"
    await start(cp, csms201, tag="CAFE01")  # the list: no Authorize
    assert cp.bench is not None
    cp.bench.tap("CAFE02")  # the same group in the list: stops, still no Authorize
    await csms201.wait_until(lambda: ended(csms201))
    assert not csms201.calls("Authorize")
    cp.bench.unplug(1)
    await start(cp, csms201, tag=OTHER)  # Authorize: cached with its group
    cp.bench.unplug(1)
    await csms201.wait_until(lambda: len(ended(csms201)) == 2)
    await start(cp, csms201, tag=TAG)  # Authorize: cached with its group
    await until(lambda: cp.store.queue_length() == 0)
    await csms201.stop()
    await until(lambda: not cp.adapter.link_state().connected)
    cp.bench.tap(OTHER)  # offline: the cache knows OTHER's group
    await until(lambda: not cp.controller.hardware_of(1).contactor.commanded_closed)
    await until(lambda: cp.store.queue_length() == 1)  # the Ended, queued offline
    await csms201.start()
    await csms201.wait_until(lambda: len(ended(csms201)) == 3)
    assert ended(csms201)[2]["triggerReason"] == "StopAuthorized"
    assert [f.payload["idToken"]["idToken"] for f in csms201.calls("Authorize")] == [OTHER, TAG]


async def test_g_20_a_lock_failure_starts_no_charging(csms201: Csms201,
                                                     make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await ready(cp, csms201)
    assert cp.bench is not None
    cp.bench.fault(1, "lock")  # the lock will not follow its command
    cp.bench.plug(1)
    cp.bench.tap(TAG)
    await csms201.wait_until(lambda: "Faulted" in statuses(csms201))
    await status_is(csms201, "Occupied")  # unlocked again: back, no transaction
    await cp.adapter.ping()
    assert not cp.controller.hardware_of(1).contactor.commanded_closed
    assert not cp.controller.hardware_of(1).lock.commanded_locked
    assert not csms201.events()
    # G05.FR.02: NotifyEvent ConnectorPlugRetentionLock Problem true, then false once the
    # unlock that follows succeeded (milliseconds later: every transition is reported)
    await csms201.wait_until(lambda: len(lock_problems(csms201)) >= 2)
    failed, cleared = lock_problems(csms201)[:2]
    assert failed["component"] == {"name": "ConnectorPlugRetentionLock",
                                   "evse": {"id": 1, "connectorId": 1}}
    assert failed["variable"] == {"name": "Problem"}
    assert failed["actualValue"] == "true" and failed["techCode"] == "ConnectorLockFailure"
    assert cleared["actualValue"] == "false" and cleared["cleared"] is True
    assert cleared["eventId"] > failed["eventId"]
