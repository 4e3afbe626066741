"""OCTT 1.6 charge point cases: cache and local list, reservations, trigger, data transfer,
offline behaviour, availability across a reboot, meter values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ocpp.v16 import call

from tests.fullstack import (
    CpMaker,
    charging,
    registered,
    start_session,
    status_reached,
    statuses,
    until,
)
from tests.ocpp16.csms import Csms


def expiry(minutes: float = 5) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


async def test_007_start_with_cached_id(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp(LocalPreAuthorize=True, AuthorizationCacheEnabled=True)
    await registered(cp)
    await start_session(cp, "0000C007")
    assert cp.bench is not None
    cp.bench.tap("0000C007")
    await csms.wait_for("StopTransaction")
    cp.bench.unplug(1)
    await csms.wait_until(lambda: statuses(csms)[-1] == "Available" and len(statuses(csms)) > 2)
    authorizes = len(csms.calls("Authorize"))
    await start_session(cp, "0000C007")
    await csms.wait_for("StartTransaction", 2)
    assert len(csms.calls("Authorize")) == authorizes  # the cache decided


async def test_008_start_with_id_in_local_list(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp(LocalPreAuthorize=True)
    await registered(cp)
    result = await csms.send(call.SendLocalList(
        list_version=1, update_type="Full",
        local_authorization_list=[{"idTag": "0000A008", "idTagInfo": {"status": "Accepted"}}]))
    assert result.status == "Accepted"
    await start_session(cp, "0000A008")
    await csms.wait_for("StartTransaction")
    assert csms.calls("Authorize") == []


async def test_042_043_local_list_version_and_updates(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    assert (await csms.send(call.GetLocalListVersion())).list_version == 0
    entries = [{"idTag": f"TAG{i}", "idTagInfo": {"status": "Accepted"}} for i in range(3)]
    assert (await csms.send(call.SendLocalList(list_version=2, update_type="Full",
                                               local_authorization_list=entries))).status == (
        "Accepted")
    assert (await csms.send(call.GetLocalListVersion())).list_version == 2
    assert (await csms.send(call.SendLocalList(list_version=1, update_type="Differential",
                                               local_authorization_list=entries))).status == (
        "VersionMismatch")  # 043_2
    assert (await csms.send(call.ChangeConfiguration(key="LocalAuthListEnabled",
                                                     value="false"))).status == "Accepted"
    assert (await csms.send(call.SendLocalList(list_version=3, update_type="Full",
                                               local_authorization_list=entries))).status == (
        "NotSupported")  # 043_1


async def test_061_clear_authorization_cache(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp(LocalPreAuthorize=True)
    await registered(cp)
    cp.store.cache_put(__import__("chargepoint.store.api", fromlist=["AuthEntry"]).AuthEntry(
        "0000C061", "Accepted", None, None))
    assert (await csms.send(call.ClearCache())).status == "Accepted"
    assert cp.store.cache_get("0000C061") is None
    await start_session(cp, "0000C061")
    await csms.wait_for("Authorize")  # not in the cache any more: asked the CSMS


async def test_046_reserve_connector_then_start(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    result = await csms.send(call.ReserveNow(connector_id=1, expiry_date=expiry(),
                                             id_tag="0000A046", reservation_id=46))
    assert result.status == "Accepted"
    await status_reached(csms, "Reserved")
    await start_session(cp, "0000A046")
    start = (await csms.wait_for("StartTransaction"))[0].payload
    assert start["reservationId"] == 46


async def test_047_reservation_expires(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    result = await csms.send(call.ReserveNow(connector_id=1, expiry_date=expiry(1 / 60),
                                             id_tag="0000A047", reservation_id=47))
    assert result.status == "Accepted"
    await status_reached(csms, "Reserved")
    await csms.wait_until(lambda: statuses(csms)[-1] == "Available" and
                          statuses(csms).count("Available") >= 2)


async def test_048_049_reserve_occupied_and_station(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    await start_session(cp, "0000A048")
    await csms.wait_for("StartTransaction")
    result = await csms.send(call.ReserveNow(connector_id=1, expiry_date=expiry(),
                                             id_tag="0000B048", reservation_id=48))
    assert result.status == "Occupied"  # 048_2


async def test_051_052_cancel_reservation(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    await csms.send(call.ReserveNow(connector_id=1, expiry_date=expiry(), id_tag="0000A051",
                                    reservation_id=51))
    await status_reached(csms, "Reserved")
    assert (await csms.send(call.CancelReservation(reservation_id=51))).status == "Accepted"
    await csms.wait_until(lambda: statuses(csms)[-1] == "Available")
    assert (await csms.send(call.CancelReservation(reservation_id=52))).status == "Rejected"


async def test_054_055_trigger_message(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    await status_reached(csms, "Available")
    for message in ("MeterValues", "Heartbeat", "StatusNotification",
                    "DiagnosticsStatusNotification", "FirmwareStatusNotification",
                    "BootNotification"):
        before = len(csms.calls(message))
        connector = 1 if message in ("MeterValues", "StatusNotification") else None
        if message == "MeterValues":
            await until(lambda: cp.controller.meter_reading(1) is not None)
        result = await csms.send(call.TriggerMessage(requested_message=message,
                                                     connector_id=connector))
        assert result.status == "Accepted", message
        await csms.wait_for(message, before + 1)
    result = await csms.send(call.TriggerMessage(requested_message="MeterValues",
                                                 connector_id=5))
    assert result.status == "Rejected"  # 055
    assert csms.errors_sent() == []


async def test_062_data_transfer_unknown_vendor(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    result = await csms.send(call.DataTransfer(vendor_id="com.example", message_id="x"))
    assert result.status == "UnknownVendorId"


async def test_034_unavailable_survives_reboot(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    result = await csms.send(call.ChangeAvailability(connector_id=1, type="Inoperative"))
    assert result.status == "Accepted"
    await status_reached(csms, "Unavailable")
    await cp.stop()
    frames_before = len(csms.frames)
    cp = await make_cp()
    await registered(cp)
    await csms.wait_until(lambda: any(
        f.direction == "in" and f.action == "StatusNotification"
        and f.payload["connectorId"] == 1 for f in csms.frames[frames_before:]))
    after = [f.payload["status"] for f in csms.frames[frames_before:]
             if f.direction == "in" and f.action == "StatusNotification"
             and f.payload["connectorId"] == 1]
    assert after[0] == "Unavailable"


async def test_036_038_039_offline_session_delivered_once_in_order(
        csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp(MeterValueSampleInterval=1, AllowOfflineTxForUnknownId=True,
                       LocalAuthorizeOffline=True)
    await registered(cp)
    await start_session(cp, "0000A036")
    await csms.wait_for("StartTransaction")
    await until(lambda: cp.adapter.link_state().queued == 0)  # its .conf arrived
    await csms.stop(abrupt=True)  # 036: connection lost during the transaction
    await until(lambda: not cp.adapter.link_state().connected)
    assert cp.bench is not None
    await until(lambda: cp.store.queue_length() >= 1)  # meter values queued offline
    cp.bench.tap("0000A036")  # 038: stopped offline
    await until(lambda: not cp.controller.hardware_of(1).contactor.commanded_closed)
    cp.bench.unplug(1)
    cp.bench.plug(1)  # 039: a whole transaction offline (unknown id allowed offline)
    cp.bench.tap("0000B039")
    await charging(cp)
    cp.bench.tap("0000B039")
    await until(lambda: not cp.controller.hardware_of(1).contactor.commanded_closed)
    await until(lambda: cp.store.open_transactions() == [])
    await csms.start()
    await csms.wait_for("StopTransaction", 2, timeout=20)
    await until(lambda: cp.store.queue_length() == 0)
    tx = [(f.action, f.payload.get("transactionId")) for f in csms.calls()
          if f.action in ("StartTransaction", "StopTransaction", "MeterValues")]
    starts = [a for a, _ in tx].count("StartTransaction")
    assert starts == 2
    first_stop = tx.index(("StopTransaction", 100))
    assert all(t == 100 for a, t in tx[:first_stop] if a == "MeterValues")
    assert tx[first_stop + 1] == ("StartTransaction", None)
    assert tx[-1] == ("StopTransaction", 101)
    ids = [f.unique_id for f in csms.calls()]
    assert len(ids) == len(set(ids))  # each message once
    assert csms.errors_sent() == []


async def test_069_stop_with_same_parent_id_tag(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    await csms.send(call.SendLocalList(list_version=1, update_type="Full",
                                       local_authorization_list=[
                                           {"idTag": "0000A069", "idTagInfo": {
                                               "status": "Accepted", "parentIdTag": "PARENT"}},
                                           {"idTag": "0000B069", "idTagInfo": {
                                               "status": "Accepted", "parentIdTag": "PARENT"}}]))
    csms.parent = "PARENT"  # the CSMS answers Authorize with the parent as well
    await start_session(cp, "0000A069")
    await csms.wait_for("StartTransaction")
    assert cp.bench is not None
    cp.bench.tap("0000B069")
    stop = (await csms.wait_for("StopTransaction"))[0].payload
    assert stop["idTag"] == "0000B069" and stop["reason"] == "Local"


async def test_070_sampled_meter_values(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp(MeterValueSampleInterval=1,
                       MeterValuesSampledData="Energy.Active.Import.Register,Power.Active.Import")
    await registered(cp)
    await start_session(cp, "0000A070")
    values = await csms.wait_for("MeterValues", 2)
    for mv in values:
        assert mv.payload["transactionId"] == 100
        sampled = mv.payload["meterValue"][0]["sampledValue"]
        assert {s["context"] for s in sampled} == {"Sample.Periodic"}
        assert {s["measurand"] for s in sampled} == {"Energy.Active.Import.Register",
                                                      "Power.Active.Import"}


async def test_071_clock_aligned_meter_values(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp(ClockAlignedDataInterval=1,
                       MeterValuesAlignedData="Energy.Active.Import.Register")
    await registered(cp)
    await until(lambda: cp.controller.meter_reading(1) is not None)
    values = await csms.wait_for("MeterValues", 2)
    for mv in values:
        value = mv.payload["meterValue"][0]
        assert value["sampledValue"][0]["context"] == "Sample.Clock"
        assert value["timestamp"].endswith(".000Z")  # on a wall-clock boundary
