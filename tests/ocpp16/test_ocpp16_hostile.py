"""A broken or hostile CSMS (issue 18): every input is refused at the edge with the OCPP-J 1.6
CALLERROR that fits, nothing half-done, no task lost, no secret logged (docs/security.md)."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from typing import Any

import pytest
from ocpp.v16 import call

from chargepoint.core.actions import ReportStatus, StartTransaction, StopTransaction
from chargepoint.core.events import (
    CsmsLinkChanged,
    RemoteStartRequested,
    RemoteStopRequested,
    ReservationMade,
)
from chargepoint.core.types import ConnectorStatus, StopReason
from chargepoint.logs import FRAME_LOGGER
from tests.ocpp16.conftest import StationFactory
from tests.ocpp16.csms import Csms, now_iso
from tests.ocpp16.harness import Station

SECRET = "Sup3r-Secret-Key-0001"


@pytest.fixture
def frame_log() -> Any:
    """The frame log on (as with ``[logging] frames = true``)."""
    logger = logging.getLogger(FRAME_LOGGER)
    level = logger.level
    logger.setLevel(logging.INFO)
    yield logger
    logger.setLevel(level)


async def registered(station: Station) -> None:
    await station.port.wait_for(CsmsLinkChanged)


def frame(unique_id: str, action: str, payload: dict[str, Any]) -> str:
    return json.dumps([2, unique_id, action, payload])


async def error_code(csms: Csms, unique_id: str, action: str, payload: dict[str, Any]) -> str:
    answer = await csms.send_raw(frame(unique_id, action, payload), unique_id)
    assert answer.kind == 4, answer.raw
    return str(answer.payload[0])


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.exc_info]


# -- 1. the outbox survives an answer it cannot store

async def test_transaction_id_beyond_int32_is_a_failed_confirmation(
        csms: Csms, make_station: StationFactory, caplog: pytest.LogCaptureFixture) -> None:
    """Repro: transactionId 10**30 raised OverflowError in sqlite and killed the outbox."""
    csms.tx_ids = iter([10**30, 2**31, 101])  # type: ignore[assignment]
    station = await make_station(config={"TransactionMessageAttempts": "3"})
    await registered(station)
    station.adapter.perform(StartTransaction(1, "TAG1", 1000.0, at=time.monotonic()))
    await csms.wait_for("StartTransaction", 3)
    station.adapter.perform(StopTransaction(1, "TAG1", 1500.0, at=time.monotonic(),
                                            reason=StopReason.LOCAL))
    stop = (await csms.wait_for("StopTransaction"))[0]
    assert stop.payload["transactionId"] == 101  # the first storable id
    assert any("StartTransaction.conf refused" in r.getMessage() for r in caplog.records)
    assert station.adapter.healthy()


async def test_transaction_id_never_storable_is_discarded_and_logged_not_lost_silently(
        csms: Csms, make_station: StationFactory, caplog: pytest.LogCaptureFixture) -> None:
    csms.tx_ids = iter([10**30] * 5 + [300])  # type: ignore[assignment]
    station = await make_station(config={"TransactionMessageAttempts": "2"})
    await registered(station)
    station.adapter.perform(StartTransaction(1, "TAG1", 1000.0, at=time.monotonic()))
    await csms.wait_for("StartTransaction", 2)
    station.adapter.perform(StartTransaction(1, "TAG2", 1000.0, at=time.monotonic()))
    starts = await csms.wait_for("StartTransaction", 3)
    assert starts[2].payload["idTag"] == "TAG2"  # the outbox went on
    assert any("failed 2 times" in r.getMessage() and "discarded" in r.getMessage()
               for r in caplog.records)


# -- 2. clock sanity

@pytest.mark.parametrize("bad", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z"])
async def test_implausible_csms_time_is_refused_and_never_persisted(
        csms: Csms, make_station: StationFactory, bad: str) -> None:
    csms.clock = lambda: bad
    station = await make_station()
    await registered(station)
    assert not station.adapter.clock.known
    anchors = station.store.kv_get("ocpp16.clock.anchors") or ""
    assert bad[:4] not in anchors
    station.adapter.perform(StartTransaction(1, "TAG1", 1000.0, at=time.monotonic()))
    async with asyncio.timeout(5):
        while not station.store.open_transactions():
            await asyncio.sleep(0.01)
    # The CSMS comes to its senses: the waiting StartTransaction leaves with a real time.
    csms.clock = now_iso
    await csms.send(call.TriggerMessage(requested_message="Heartbeat"))
    start = (await csms.wait_for("StartTransaction"))[0]
    assert start.payload["timestamp"].startswith(now_iso()[:4])


async def test_a_large_clock_jump_is_a_security_event(
        csms: Csms, make_station: StationFactory) -> None:
    station = await make_station()
    await registered(station)
    events: list[tuple[str, str]] = []
    station.adapter.clock.security_event = lambda kind, info: events.append((kind, info))
    csms.clock = lambda: "2031-06-01T00:00:00Z"
    await csms.send(call.TriggerMessage(requested_message="Heartbeat"))
    await csms.wait_for("Heartbeat")
    async with asyncio.timeout(5):
        while not events:
            await asyncio.sleep(0.01)
    assert events[0][0] == "SettingSystemTime"
    assert station.adapter.clock.wall_now().year == 2031  # type: ignore[union-attr]


# -- 3. input bounds

async def test_deeply_nested_frame_is_a_formation_violation_without_traceback(
        csms: Csms, make_station: StationFactory, caplog: pytest.LogCaptureFixture,
        frame_log: logging.Logger) -> None:
    """Repro: RecursionError per frame; with the frame log on, the connection dropped."""
    station = await make_station()
    await registered(station)
    deep = '[2,"deep1","DataTransfer",{"vendorId":"x","data":' + "[" * 100_000 + "]" * 100_000
    answer = await csms.send_raw(deep + "}]", "deep1")
    assert answer.payload[0] == "FormationViolation"
    deep_object = '[2,"deep2","Reset",' + '{"a":' * 50 + "1" + "}" * 50 + "]"
    answer = await csms.send_raw(deep_object, "deep2")
    assert answer.payload[0] == "FormationViolation"
    result = await csms.send(call.GetConfiguration(key=["HeartbeatInterval"]))
    assert result.configuration_key
    assert len(csms.paths) == 1  # the connection stayed up
    assert tracebacks(caplog) == []


async def test_non_finite_numbers_are_not_json(csms: Csms, make_station: StationFactory) -> None:
    station = await make_station()
    await registered(station)
    text = '[2,"nan1","ReserveNow",{"connectorId":1,"expiryDate":"2030-01-01T00:00:00Z",' \
           '"idTag":"T","reservationId":NaN}]'
    answer = await csms.send_raw(text, "-1")
    assert answer.payload[0] == "FormationViolation"
    assert station.port.of(ReservationMade) == []


async def test_frames_up_to_the_limit_are_read_larger_ones_close_the_link(
        csms: Csms, make_station: StationFactory, caplog: pytest.LogCaptureFixture) -> None:
    station = await make_station()
    await registered(station)
    big = frame("big1", "DataTransfer", {"vendorId": "x", "data": "A" * (2 * 2**20)})
    answer = await csms.send_raw(big, "big1")  # 2 MiB: answered (1 MiB was the old limit)
    assert answer.payload == {"status": "UnknownVendorId"}
    assert len(csms.paths) == 1
    peer = await csms.connected()
    await peer.ws.send(frame("huge", "DataTransfer", {"vendorId": "x", "data": "A" * 5 * 2**20}))
    await csms.wait_until(lambda: len(csms.paths) == 2)  # closed (1009), then reconnected
    assert any("larger than 4194304 bytes" in r.getMessage() for r in caplog.records)
    assert station.adapter.healthy()


# -- 4. all or nothing: refused at the edge, no state change, no follow-up

async def test_reservation_id_beyond_int32_is_refused_before_the_core_sees_it(
        csms: Csms, make_station: StationFactory) -> None:
    """Repro: InternalError, yet the connector became Reserved."""
    station = await make_station()
    await registered(station)
    code = await error_code(csms, "r1", "ReserveNow", {
        "connectorId": 1, "expiryDate": "2030-01-01T00:00:00Z", "idTag": "T",
        "reservationId": 10**30})
    assert code == "TypeConstraintViolation"
    assert station.port.of(ReservationMade) == []
    assert station.store.reservations() == []


async def test_transaction_id_and_limits_outside_what_the_station_stores(
        csms: Csms, make_station: StationFactory) -> None:
    station = await make_station(replies={"RemoteStartRequested": "Accepted"})
    await registered(station)
    assert await error_code(csms, "s1", "RemoteStopTransaction",
                            {"transactionId": 2**63}) == "TypeConstraintViolation"
    profile = {"chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxProfile",
               "chargingProfileKind": "Relative", "chargingSchedule": {
                   "chargingRateUnit": "A",
                   "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 1e30}]}}
    assert await error_code(csms, "s2", "RemoteStartTransaction",
                            {"idTag": "T", "chargingProfile": profile}) == (
        "PropertyConstraintViolation")
    assert station.port.of(RemoteStartRequested) == []
    assert station.port.of(RemoteStopRequested) == []


@pytest.mark.parametrize(("action", "payload"), [
    ("ReserveNow", {"connectorId": 1, "expiryDate": "tomorrow", "idTag": "T",
                    "reservationId": 1}),
    ("ReserveNow", {"connectorId": 1, "expiryDate": "2030-02-31T00:00:00Z", "idTag": "T",
                    "reservationId": 1}),
    ("SendLocalList", {"listVersion": 1, "updateType": "Full", "localAuthorizationList": [
        {"idTag": "A", "idTagInfo": {"status": "Accepted", "expiryDate": "never"}}]}),
])
async def test_date_time_and_uri_formats_are_checked(
        csms: Csms, make_station: StationFactory, action: str, payload: dict[str, Any]) -> None:
    """(UpdateFirmware / GetDiagnostics: tests/station/test_station_hostile.py.)"""
    station = await make_station(config={"LocalAuthListEnabled": "true"})
    await registered(station)
    assert await error_code(csms, "f1", action, payload) == "PropertyConstraintViolation"
    assert station.port.of(ReservationMade) == []
    assert station.store.local_list_size() == 0


async def test_a_rejected_trigger_starts_no_follow_up(
        csms: Csms, make_station: StationFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Repro: the library ran @after for a Rejected TriggerMessage too (a meter read of a
    connector that does not exist crashed a background task)."""
    station = await make_station()
    await registered(station)
    triggered: list[int | None] = []

    async def trigger(connector: int | None) -> None:
        triggered.append(connector)

    monkeypatch.setattr(station.adapter.sampler, "trigger", trigger)
    result = await csms.send(call.TriggerMessage(requested_message="MeterValues",
                                                 connector_id=5))
    assert result.status == "Rejected"
    result = await csms.send(call.TriggerMessage(requested_message="Heartbeat"))
    assert result.status == "Accepted"
    await csms.wait_for("Heartbeat")  # the follow-up of the Accepted one ran
    assert triggered == []


# -- 5. write-only keys are never logged

async def test_a_refused_authorization_key_is_never_logged(
        csms: Csms, make_station: StationFactory, caplog: pytest.LogCaptureFixture,
        frame_log: logging.Logger) -> None:
    caplog.set_level(logging.DEBUG)
    station = await make_station()
    await registered(station)
    result = await csms.send(call.ChangeConfiguration(key="AuthorizationKey", value="short-1"))
    assert result.status == "Rejected"
    long_value = SECRET * 30  # beyond CiString500: refused by the schema
    answer = await csms.send_raw(frame("k2", "ChangeConfiguration",
                                       {"key": "AuthorizationKey", "value": long_value}), "k2")
    assert answer.payload[0] == "TypeConstraintViolation"
    assert SECRET not in answer.raw  # the CALLERROR's description names no value either
    station_side = [r for r in caplog.records if r.name.startswith(("chargepoint", "websockets"))
                    and not r.name.startswith("websockets.server")]  # not the test CSMS
    text = "\n".join(r.getMessage() for r in station_side)
    assert "short-1" not in text and SECRET not in text
    assert "ChangeConfiguration" in text


# -- 6. large frames are parsed off the event loop

async def test_a_large_frame_is_parsed_in_a_worker_thread(
        csms: Csms, make_station: StationFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    station = await make_station(config={"LocalAuthListEnabled": "true"})
    await registered(station)
    threads: list[str] = []
    original = json.loads

    def loads(text: Any, *args: Any, **kwargs: Any) -> Any:
        if len(text) > 500_000 and '"SendLocalList"' in str(text[:100]):
            threads.append(threading.current_thread().name)
        return original(text, *args, **kwargs)

    monkeypatch.setattr(json, "loads", loads)
    entries = [{"idTag": f"T{i:07d}", "idTagInfo": {"status": "Accepted",
                                                   "expiryDate": "2030-01-01T00:00:00Z",
                                                   "parentIdTag": f"P{i:07d}"}}
               for i in range(9_000)]
    text = frame("sll", "SendLocalList", {"listVersion": 5, "updateType": "Full",
                                          "localAuthorizationList": entries})
    assert len(text) > 900_000
    answer = await csms.send_raw(text, "sll", timeout=30)
    assert answer.kind in (3, 4)
    assert threads and threading.main_thread().name not in threads


async def test_answers_to_nothing_are_dropped_not_queued(
        csms: Csms, make_station: StationFactory) -> None:
    station = await make_station()
    await registered(station)
    peer = await csms.connected()
    for n in range(200):
        await peer.ws.send(json.dumps([3, f"nothing-{n}", {"status": "Accepted"}]))
    result = await csms.send(call.GetConfiguration(key=["HeartbeatInterval"]))
    assert result.configuration_key
    client = station.adapter._client
    assert client is not None and client._response_queue.qsize() == 0
    await station.adapter.heartbeat()  # our own requests still get their answers


# -- 8. a TriggerMessage storm does not bury the driver

async def test_a_trigger_storm_sends_each_triggered_message_once_at_a_time(
        csms: Csms, make_station: StationFactory) -> None:
    """Repro (bench, hostile mix): 200 TriggerMessages per burst queued 200 CALLs, one at a
    time, and a driver's Authorize waited behind all of them. Every trigger is Accepted and
    followed by a message sent after it, but a storm collapses to a few."""
    station = await make_station()
    await registered(station)
    station.adapter.perform(ReportStatus(1, ConnectorStatus.AVAILABLE))
    await csms.wait_for("StatusNotification")
    before = {a: len(csms.calls(a)) for a in ("Heartbeat", "StatusNotification")}
    peer = await csms.connected()
    storm = [("Heartbeat", {}), ("StatusNotification", {"connectorId": 1})] * 100
    for n, (message, extra) in enumerate(storm):  # back to back, no waiting for answers
        await peer.ws.send(frame(f"t{n}", "TriggerMessage",
                                 {"requestedMessage": message, **extra}))
    answers = await csms.wait_until(lambda: (a := [
        f for f in csms.frames if f.direction == "in" and f.kind == 3
        and f.unique_id.startswith("t")]) and len(a) == len(storm) and a)
    assert {f.payload["status"] for f in answers} == {"Accepted"}
    await csms.wait_for("Heartbeat", before["Heartbeat"] + 1)
    result = await station.adapter.request("Authorize", {"idTag": "DRIVER"})  # still served
    assert result["idTagInfo"]["status"] == "Accepted"
    await csms.wait_for("StatusNotification", before["StatusNotification"] + 1)
    for _ in range(1000):  # every follow-up done (internal state: no frame tells it)
        if station.adapter.triggers.idle() and not station.adapter.outbox._statuses:
            break
        await asyncio.sleep(0.01)
    sent = {a: len(csms.calls(a)) - before[a] for a in before}
    assert 1 <= sent["Heartbeat"] <= 20, sent
    assert 1 <= sent["StatusNotification"] <= 20, sent
