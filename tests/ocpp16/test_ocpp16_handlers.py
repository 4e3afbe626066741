"""Every CSMS-initiated message of Core, LocalAuthList, Reservation and RemoteTrigger."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from ocpp.v16 import call

from chargepoint.core.actions import ReportStatus, RequestAuthorization, StartTransaction
from chargepoint.core.events import (
    AuthorizationResult,
    AvailabilityChanged,
    CsmsLinkChanged,
    RemoteStartRequested,
    RemoteStopRequested,
    ReservationCancelled,
    ReservationMade,
    SettingsChanged,
    TransactionConfirmed,
    UnlockRequested,
)
from chargepoint.core.types import AuthStatus, ConnectorStatus
from chargepoint.store.api import AuthEntry
from hardware.interfaces import MeterReading
from tests.ocpp16.conftest import StationFactory
from tests.ocpp16.csms import Csms
from tests.ocpp16.harness import Station

REPLIES = {"RemoteStartRequested": "Accepted", "RemoteStopRequested": "Accepted",
           "UnlockRequested": "Unlocked", "ReservationMade": "Accepted",
           "ReservationCancelled": "Accepted", "AvailabilityChanged": "Scheduled"}


@pytest.fixture
async def station(csms: Csms, make_station: StationFactory) -> AsyncIterator[Station]:
    st = await make_station(replies=REPLIES, connectors=2)
    await st.port.wait_for(CsmsLinkChanged)
    yield st


async def test_change_availability(csms: Csms, station: Station) -> None:
    result = await csms.send(call.ChangeAvailability(connector_id=1, type="Inoperative"))
    assert result.status == "Scheduled"
    assert station.port.of(AvailabilityChanged) == [AvailabilityChanged(1, False)]
    # the station persists availability (chargepoint.persistence); the answer waited for it
    assert station.port.durable_waits == 1
    result = await csms.send(call.ChangeAvailability(connector_id=3, type="Operative"))
    assert result.status == "Rejected"


async def test_change_and_get_configuration(csms: Csms, station: Station) -> None:
    result = await csms.send(call.ChangeConfiguration(key="heartbeatinterval", value="77"))
    assert result.status == "Accepted"
    assert station.port.of(SettingsChanged)
    result = await csms.send(call.ChangeConfiguration(key="NoSuchKey", value="1"))
    assert result.status == "NotSupported"  # OCTT 040_1
    result = await csms.send(call.ChangeConfiguration(key="HeartbeatInterval", value="x"))
    assert result.status == "Rejected"  # OCTT 040_2
    result = await csms.send(call.GetConfiguration(key=["HeartbeatInterval", "Nope"]))
    assert result.configuration_key == [
        {"key": "HeartbeatInterval", "readonly": False, "value": "77"}]
    assert result.unknown_key == ["Nope"]
    result = await csms.send(call.GetConfiguration())
    keys = {kv["key"] for kv in result.configuration_key}
    assert {"NumberOfConnectors", "MeterValueSampleInterval", "AuthorizeRemoteTxRequests"} <= keys


async def test_clear_cache(csms: Csms, station: Station) -> None:
    station.store.cache_put(AuthEntry("TAG1", "Accepted", None, None))
    result = await csms.send(call.ClearCache())
    assert result.status == "Accepted"
    assert station.store.cache_get("TAG1") is None


async def test_data_transfer_unknown_vendor_and_hook(csms: Csms, station: Station) -> None:
    result = await csms.send(call.DataTransfer(vendor_id="acme", message_id="x", data="1"))
    assert result.status == "UnknownVendorId"  # OCTT 062
    station.adapter.hooks.data_transfer.append(
        lambda vendor, msg, data: ("Accepted", f"echo {data}") if vendor == "acme" else None)
    result = await csms.send(call.DataTransfer(vendor_id="acme", message_id="x", data="1"))
    assert (result.status, result.data) == ("Accepted", "echo 1")


async def test_local_list_version_and_send(csms: Csms, station: Station) -> None:
    result = await csms.send(call.GetLocalListVersion())
    assert result.list_version == 0
    result = await csms.send(call.SendLocalList(list_version=3, update_type="Full",
                                                local_authorization_list=[
                                                    {"idTag": "AB", "idTagInfo": {
                                                        "status": "Accepted"}}]))
    assert result.status == "Accepted"
    result = await csms.send(call.GetLocalListVersion())
    assert result.list_version == 3
    result = await csms.send(call.SendLocalList(list_version=2, update_type="Differential"))
    assert result.status == "VersionMismatch"


async def test_remote_start(csms: Csms, station: Station) -> None:
    result = await csms.send(call.RemoteStartTransaction(id_tag="TAG1", connector_id=1))
    assert result.status == "Accepted"
    assert station.port.of(RemoteStartRequested) == [
        RemoteStartRequested(1, "TAG1", authorized=True, limit_a=None)]
    result = await csms.send(call.RemoteStartTransaction(id_tag="TAG1", connector_id=0))
    assert result.status == "Rejected"  # OCTT 027
    profile = {"chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxProfile",
               "chargingProfileKind": "Absolute", "chargingSchedule": {
                   "chargingRateUnit": "A", "chargingSchedulePeriod": [
                       {"startPeriod": 0, "limit": 10.0}]}}
    await csms.send(call.ChangeConfiguration(key="AuthorizeRemoteTxRequests", value="true"))
    result = await csms.send(call.RemoteStartTransaction(id_tag="T2", charging_profile=profile))
    assert result.status == "Accepted"
    # The profile is not a limit of the request: it becomes the TxProfile of the transaction
    # that starts (OCTT 059, tests/ocpp16/scenarios/test_ocpp16_scn_smart.py).
    assert station.port.of(RemoteStartRequested)[-1] == RemoteStartRequested(
        None, "T2", authorized=False, limit_a=None)
    profile["chargingProfilePurpose"] = "TxDefaultProfile"
    result = await csms.send(call.RemoteStartTransaction(id_tag="T2", charging_profile=profile))
    assert result.status == "Rejected"  # OCTT 060


async def test_remote_stop(csms: Csms, station: Station) -> None:
    result = await csms.send(call.RemoteStopTransaction(transaction_id=4711))
    assert result.status == "Rejected"  # OCTT 028
    station.adapter.perform(StartTransaction(2, "TAG1", 0.0, time.monotonic()))
    await csms.wait_for("StartTransaction")
    async with asyncio.timeout(5):
        while station.store.transaction_by_csms_id("100") is None:
            await asyncio.sleep(0.01)
    result = await csms.send(call.RemoteStopTransaction(transaction_id=100))
    assert result.status == "Accepted"
    assert station.port.of(RemoteStopRequested) == [RemoteStopRequested(2)]


async def test_reserve_now_and_cancel(csms: Csms, station: Station) -> None:
    expiry = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    result = await csms.send(call.ReserveNow(connector_id=1, expiry_date=expiry, id_tag="T",
                                             reservation_id=7))
    assert result.status == "Accepted"
    made = station.port.of(ReservationMade)[0]
    assert (made.reservation_id, made.connector, made.id_tag) == (7, 1, "T")
    assert 200 < made.expires_at - time.monotonic() <= 301  # the CSMS clock has ms steps
    assert [r.reservation_id for r in station.store.reservations()] == [7]
    result = await csms.send(call.ReserveNow(connector_id=0, expiry_date=expiry, id_tag="T",
                                             reservation_id=8))
    assert result.status == "Accepted"  # ReserveConnectorZeroSupported (OCTT 049)
    result = await csms.send(call.ReserveNow(connector_id=9, expiry_date=expiry, id_tag="T",
                                             reservation_id=9))
    assert result.status == "Rejected"
    result = await csms.send(call.CancelReservation(reservation_id=7))
    assert result.status == "Accepted"
    assert station.port.of(ReservationCancelled) == [ReservationCancelled(7)]


async def test_reset_answers_before_restarting(csms: Csms, station: Station) -> None:
    result = await csms.send(call.Reset(type="Hard"))
    assert result.status == "Accepted"
    async with asyncio.timeout(5):
        while not station.port.restarts:
            await station.port.changed.wait()
            station.port.changed.clear()
    assert station.port.restarts == [True]
    await csms.send(call.Reset(type="Soft"))
    async with asyncio.timeout(5):
        while len(station.port.restarts) < 2:
            await station.port.changed.wait()
            station.port.changed.clear()
    assert station.port.restarts == [True, False]


async def test_unlock_connector(csms: Csms, station: Station) -> None:
    result = await csms.send(call.UnlockConnector(connector_id=1))
    assert result.status == "Unlocked"
    assert station.port.of(UnlockRequested) == [UnlockRequested(1)]
    result = await csms.send(call.UnlockConnector(connector_id=3))
    assert result.status == "NotSupported"  # OCTT 031


@pytest.mark.parametrize("message,action", [
    ("BootNotification", "BootNotification"), ("Heartbeat", "Heartbeat"),
    ("FirmwareStatusNotification", "FirmwareStatusNotification"),
    ("DiagnosticsStatusNotification", "DiagnosticsStatusNotification")])
async def test_trigger_message(csms: Csms, station: Station, message: str, action: str) -> None:
    before = len(csms.calls(action))
    result = await csms.send(call.TriggerMessage(requested_message=message))
    assert result.status == "Accepted"
    sent = await csms.wait_for(action, before + 1)
    if action.endswith("StatusNotification"):
        assert sent[-1].payload == {"status": "Idle"}


async def test_trigger_status_and_meter_values(csms: Csms, station: Station) -> None:
    result = await csms.send(call.TriggerMessage(requested_message="MeterValues",
                                                 connector_id=1))
    assert result.status == "Rejected"  # no reading to send
    station.port.readings[1] = MeterReading(energy_import_wh=42.0)
    result = await csms.send(call.TriggerMessage(requested_message="MeterValues",
                                                 connector_id=1))
    assert result.status == "Accepted"
    mv = (await csms.wait_for("MeterValues"))[0].payload
    assert mv["meterValue"][0]["sampledValue"][0]["context"] == "Trigger"
    assert mv["meterValue"][0]["sampledValue"][0]["value"] == "42"
    station.adapter.perform(ReportStatus(2, ConnectorStatus.AVAILABLE))
    await csms.wait_for("StatusNotification")
    result = await csms.send(call.TriggerMessage(requested_message="StatusNotification",
                                                 connector_id=2))
    assert result.status == "Accepted"
    sent = await csms.wait_for("StatusNotification", 2)
    assert sent[-1].payload["connectorId"] == 2
    result = await csms.send(call.TriggerMessage(requested_message="StatusNotification",
                                                 connector_id=7))
    assert result.status == "Rejected"  # OCTT 055
    assert csms.errors_sent() == []


async def test_authorization_online_and_offline(csms: Csms, station: Station) -> None:
    csms.tag_status["BAD"] = "Blocked"
    station.adapter.perform(RequestAuthorization(1, "GOOD", 1))
    station.adapter.perform(RequestAuthorization(2, "BAD", 1))
    results = await station.port.wait_for(AuthorizationResult, 2)
    assert {(r.request_id, r.status) for r in results} == {
        (1, AuthStatus.ACCEPTED), (2, AuthStatus.BLOCKED)}
    await csms.stop()
    await station.port.wait_for(CsmsLinkChanged, 2)
    # Offline: the cached GOOD is accepted (LocalAuthorizeOffline), an unknown tag is not.
    station.adapter.perform(RequestAuthorization(3, "GOOD", 1))
    station.adapter.perform(RequestAuthorization(4, "OTHER", 1))
    results = await station.port.wait_for(AuthorizationResult, 4)
    assert {(r.request_id, r.status) for r in results[2:]} == {
        (3, AuthStatus.ACCEPTED), (4, AuthStatus.INVALID)}


async def test_failing_handler_answers_internal_error_and_link_stays(
        csms: Csms, station: Station) -> None:
    def broken(vendor: str, msg: str | None, data: str | None) -> tuple[str, str | None]:
        raise RuntimeError("vendor hook bug")

    station.adapter.hooks.data_transfer.append(broken)
    with pytest.raises(Exception) as info:
        await csms.send(call.DataTransfer(vendor_id="acme"))
    assert "InternalError" in type(info.value).__name__ or "Internal" in str(info.value)
    result = await csms.send(call.GetLocalListVersion())
    assert result.list_version == 0
    assert len(csms.paths) == 1


async def test_outgoing_data_transfer(csms: Csms, station: Station) -> None:
    status, data = await station.adapter.data_transfer("com.example", "hello", "42")
    assert (status, data) == ("UnknownVendorId", None)
    sent = (await csms.wait_for("DataTransfer"))[0].payload
    assert sent == {"vendorId": "com.example", "messageId": "hello", "data": "42"}


async def test_start_confirmed_invalid_reaches_the_core_and_cache(
        csms: Csms, station: Station) -> None:
    csms.tag_status["0BAD"] = "Invalid"
    station.adapter.perform(StartTransaction(1, "0BAD", 0.0, time.monotonic()))
    confirmed = await station.port.wait_for(TransactionConfirmed)
    assert confirmed == [TransactionConfirmed(1, AuthStatus.INVALID)]
    entry = station.store.cache_get("0BAD")
    assert entry is not None and entry.status == "Invalid"


async def test_local_list_conflict_reports_status(csms: Csms, station: Station) -> None:
    await csms.send(call.SendLocalList(list_version=1, update_type="Full",
                                       local_authorization_list=[
                                           {"idTag": "LISTED", "idTagInfo": {
                                               "status": "Accepted"}}]))
    csms.tag_status["LISTED"] = "Blocked"
    station.adapter.perform(RequestAuthorization(9, "LISTED", 1))
    await station.port.wait_for(AuthorizationResult)
    sent = await csms.wait_until(lambda: [f for f in csms.calls("StatusNotification")
                                          if f.payload["errorCode"] == "LocalListConflict"])
    assert sent[0].payload["connectorId"] == 0
