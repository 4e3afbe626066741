"""Connection, registration and heartbeat (OCPP-J 1.6 section 3; OCPP 1.6 4.2, 4.6)."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from ocpp.v16 import call

from chargepoint.core.actions import ReportStatus
from chargepoint.core.events import CsmsLinkChanged, Link
from chargepoint.core.types import ConnectorStatus
from tests.ocpp16.conftest import StationFactory
from tests.ocpp16.csms import Csms


def assert_one_in_flight(csms: Csms) -> None:
    """The station never had two CALLs waiting for an answer."""
    open_ids: set[str] = set()
    for f in csms.frames:
        if f.direction == "in" and f.kind == 2:
            assert not open_ids, f"CALL {f.action} sent while {open_ids} unanswered"
            if f.unique_id not in csms.swallowed:  # those timed out at the station
                open_ids.add(f.unique_id)
        elif f.direction == "out" and f.kind in (3, 4):
            open_ids.discard(f.unique_id)


async def test_url_has_percent_encoded_station_id_and_ocpp16_subprotocol(
        csms: Csms, make_station: StationFactory) -> None:
    await make_station(station_id="CP 1/a")
    await csms.wait_for("BootNotification")
    assert csms.paths[0] == "/ocpp/CP%201%2Fa"
    assert csms.subprotocols[0] == "ocpp1.6"


async def test_connection_without_ocpp16_is_refused_and_retried(
        csms: Csms, make_station: StationFactory) -> None:
    csms.offer_subprotocol = False
    await csms.stop()
    await csms.start()
    station = await make_station()
    await csms.wait_until(lambda: len(csms.paths) >= 3)
    assert csms.calls() == []  # not one OCPP message on a connection without ocpp1.6
    assert station.adapter.link_state().registration == "Unknown"


async def test_boot_accepted_sends_every_field_sets_interval_and_goes_online(
        csms: Csms, make_station: StationFactory) -> None:
    csms.interval = 123
    station = await make_station()
    boot = (await csms.wait_for("BootNotification"))[0]
    assert boot.payload == {
        "chargePointVendor": "TestVendor", "chargePointModel": "TestModel",
        "chargePointSerialNumber": "SN1", "chargeBoxSerialNumber": "SN1",
        "firmwareVersion": "1.2.3", "meterType": "SDM630", "meterSerialNumber": "M1"}
    await station.port.wait_for(CsmsLinkChanged)
    assert station.port.of(CsmsLinkChanged) == [CsmsLinkChanged(Link.ONLINE)]
    assert station.adapter.config.get_int("HeartbeatInterval") == 123
    assert station.adapter.clock.known
    state = station.adapter.link_state()
    assert (state.version, state.connected, state.registration, state.queued) == (
        "1.6", True, "Accepted", 0)


async def test_pending_answers_requests_sends_nothing_else_until_accepted(
        csms: Csms, make_station: StationFactory) -> None:
    csms.boot_status, csms.interval = "Pending", 60
    station = await make_station()
    await csms.wait_for("BootNotification")
    station.adapter.perform(ReportStatus(1, ConnectorStatus.AVAILABLE))
    result = await csms.send(call.GetConfiguration(key=["HeartbeatInterval"]))
    assert result.configuration_key[0]["key"] == "HeartbeatInterval"
    assert [f.action for f in csms.calls()] == ["BootNotification"]
    assert station.adapter.link_state().registration == "Pending"
    assert station.port.of(CsmsLinkChanged) == []
    csms.boot_status = "Accepted"
    result = await csms.send(call.TriggerMessage(requested_message="BootNotification"))
    assert result.status == "Accepted"
    status = (await csms.wait_for("StatusNotification"))[0]
    assert status.payload["status"] == "Available"
    assert [f.action for f in csms.calls()] == [
        "BootNotification", "BootNotification", "StatusNotification"]
    assert_one_in_flight(csms)


async def test_rejected_retries_after_interval_and_sends_nothing_else(
        csms: Csms, make_station: StationFactory) -> None:
    csms.boot_status, csms.interval = "Rejected", 1
    station = await make_station()
    station.adapter.perform(ReportStatus(1, ConnectorStatus.AVAILABLE))
    await csms.wait_for("BootNotification", 2)
    assert {f.action for f in csms.calls()} == {"BootNotification"}
    csms.boot_status = "Accepted"
    await csms.wait_for("StatusNotification")
    assert station.adapter.link_state().registration == "Accepted"


async def test_heartbeat_only_when_idle_and_sets_clock(
        csms: Csms, make_station: StationFactory) -> None:
    csms.interval = 1
    station = await make_station()
    await csms.wait_for("Heartbeat", 2)
    calls = csms.calls()
    # Heartbeats are at least one interval after the previous exchange: never back to back
    # with the BootNotification answer.
    assert calls[0].action == "BootNotification"
    assert station.adapter.clock.known
    assert await station.adapter.ping() >= 0.0


async def test_ping_raises_when_offline(csms: Csms, make_station: StationFactory) -> None:
    await csms.stop()
    station = await make_station()
    with pytest.raises(ConnectionError):
        await station.adapter.ping()


async def test_reconnects_after_csms_stops_and_reports_statuses_changed_offline(
        csms: Csms, make_station: StationFactory) -> None:
    station = await make_station()
    await station.port.wait_for(CsmsLinkChanged)
    await csms.stop()
    await station.port.wait_for(CsmsLinkChanged, 2)
    assert station.port.of(CsmsLinkChanged)[-1] == CsmsLinkChanged(Link.OFFLINE)
    assert not station.adapter.link_state().connected
    station.adapter.perform(ReportStatus(1, ConnectorStatus.PREPARING))
    station.adapter.perform(ReportStatus(1, ConnectorStatus.UNAVAILABLE))
    await csms.start()
    status = (await csms.wait_for("StatusNotification"))[0]
    assert status.payload["status"] == "Unavailable"  # the latest, once
    await station.port.wait_for(CsmsLinkChanged, 3)
    assert len(csms.paths) >= 2
    assert [f.action for f in csms.calls()].count("BootNotification") == 1


async def test_dead_peer_detected_by_ping_timeout_and_reconnected(
        csms: Csms, make_station: StationFactory) -> None:
    station = await make_station(config={"WebSocketPingInterval": "1"})
    peer = await csms.connected()
    await station.port.wait_for(CsmsLinkChanged)
    peer.ws.transport.pause_reading()  # the CSMS hangs: no pongs any more
    await station.port.wait_for(CsmsLinkChanged, 2, timeout=10)
    await csms.wait_until(lambda: len(csms.paths) >= 2)


async def test_changed_ping_interval_applies_to_the_open_connection(
        csms: Csms, make_station: StationFactory) -> None:
    station = await make_station()
    await station.port.wait_for(CsmsLinkChanged)
    result = await csms.send(call.ChangeConfiguration(key="WebSocketPingInterval", value="1"))
    assert result.status == "Accepted"
    peer = await csms.connected()
    peer.ws.transport.pause_reading()
    await station.port.wait_for(CsmsLinkChanged, 2, timeout=10)


async def test_frame_log_redacts_authorization_key_and_password(
        csms: Csms, make_station: StationFactory, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="chargepoint.frames")
    station = await make_station()
    await station.port.wait_for(CsmsLinkChanged)
    await csms.send(call.ChangeConfiguration(key="AuthorizationKey",
                                             value="0123456789abcdef0123"))
    await csms.send(call.GetConfiguration(key=["AuthorizationKey"]))
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "AuthorizationKey" in text
    assert "0123456789abcdef0123" not in text
    assert "BootNotification" in text


async def test_malformed_frames_get_callerrors_and_connection_stays_up(
        csms: Csms, make_station: StationFactory) -> None:
    station = await make_station()
    await station.port.wait_for(CsmsLinkChanged)
    cases = [
        ("[2,\"m1\",\"Reset\",{\"type\":\"Soft\"", "-1", "FormationViolation"),  # not JSON
        (json.dumps([2, "m2", "Reset"]), "m2", "FormationViolation"),
        (json.dumps([2, "m3", "Reset", []]), "m3", "FormationViolation"),
        (json.dumps([2, "m4", "Reset", {}]), "m4", "OccurenceConstraintViolation"),
        (json.dumps([2, "m5", "Reset", {"type": "Warm"}]), "m5",
         "PropertyConstraintViolation"),
        (json.dumps([2, "m6", "ChangeAvailability", {"connectorId": "1", "type": "Operative"}]),
         "m6", "TypeConstraintViolation"),
        (json.dumps([2, "m7", "Reset", {"type": "Soft", "x": 1}]), "m7", "FormationViolation"),
        (json.dumps([2, "m8", "FlyToTheMoon", {}]), "m8", "NotImplemented"),
        (json.dumps([2, "m9", "GetDiagnostics", {"location": "ftp://127.0.0.1/"}]), "m9",
         "NotSupported"),  # a known action without a handler here (no FirmwareManagement)
        (json.dumps([2, "m10", "ChangeConfiguration", {"key": "K" * 51, "value": "1"}]),
         "m10", "TypeConstraintViolation"),
    ]
    for text, unique_id, code in cases:
        answer = await csms.send_raw(text, unique_id)
        assert answer.kind == 4, text
        assert answer.payload[0] == code, text
    assert station.port.restarts == []
    result = await csms.send(call.GetConfiguration(key=["HeartbeatInterval"]))
    assert result.configuration_key
    assert len(csms.paths) == 1


async def test_unknown_message_type_is_ignored(
        csms: Csms, make_station: StationFactory) -> None:
    station = await make_station()
    await station.port.wait_for(CsmsLinkChanged)
    peer = await csms.connected()
    await peer.ws.send(json.dumps([7, "x", "Reset", {}]))
    result = await csms.send(call.GetConfiguration(key=["HeartbeatInterval"]))
    assert result.configuration_key
    assert not [f for f in csms.frames if f.direction == "in" and f.unique_id == "x"]


async def test_reconnect_backoff_grows_between_attempts() -> None:
    from chargepoint.ocppj.connection import Backoff

    class Rng:
        def random(self) -> float:
            return 0.0

    backoff = Backoff(1.0, 8.0, 0.5, rng=Rng())  # type: ignore[arg-type]
    assert [backoff.next_delay() for _ in range(5)] == [1.0, 2.0, 4.0, 8.0, 8.0]
    backoff.reset()
    assert backoff.next_delay() == 1.0
    await asyncio.sleep(0)


async def test_library_log_of_a_failed_request_is_redacted(
        csms: Csms, make_station: StationFactory, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="chargepoint.ocpp")
    station = await make_station(security_profile=1, password="pw-SECRET-123456")
    await station.port.wait_for(CsmsLinkChanged)

    def broken(vendor: str, msg: str | None, data: str | None) -> tuple[str, str | None]:
        raise RuntimeError("vendor hook bug")

    station.adapter.hooks.data_transfer.append(broken)
    with pytest.raises(Exception):  # noqa: B017 - the CSMS gets a CALLERROR
        await csms.send(call.DataTransfer(vendor_id="x", data="pw-SECRET-123456"))
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "DataTransfer handler failed" in text
    assert "pw-SECRET-123456" not in text
