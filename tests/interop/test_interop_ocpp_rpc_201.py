"""Interoperability under OCPP 2.0.1: the whole station (``[ocpp] version = "2.0.1"``, simulated
bench) against ocpp-rpc (npm) as a strict-mode 2.0.1 CSMS (``csms_peer.js 2.0.1``).

ocpp-rpc validates every frame both ways against the official 2.0.1 schemas: a slip of ours in
a CALL shows up as ``strictValidationFailure`` (and a CALLERROR to the station), a slip in an
answer to the peer's request as a failed request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from chargepoint.app import RunningStation, start_station
from chargepoint.config import config_from_toml
from tests.fullstack import until
from tests.interop.test_interop_ocpp_rpc import Peer, run_peer
from tests.ocpp201.conftest import toml201

pytestmark = pytest.mark.interop

CARD = "04A1B2C3"
MEASURANDS = "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage"


@pytest.fixture
async def peer201() -> AsyncIterator[Peer]:
    async for p in run_peer("2.0.1"):
        yield p


@pytest.fixture
async def station201(peer201: Peer, tmp_path: Path) -> AsyncIterator[RunningStation]:
    config = config_from_toml(toml201(
        f"ws://127.0.0.1:{peer201.port}/ocpp", tmp_path, 1,
        {"SampledDataCtrlr.TxUpdatedInterval": 1,
         "SampledDataCtrlr.TxUpdatedMeasurands": MEASURANDS}))
    running = await start_station(config)
    await peer201.wait_call("StatusNotification")
    yield running
    await running.stop()


def ref(component: str, variable: str, **more: Any) -> dict[str, Any]:
    return {"component": {"name": component, **more}, "variable": {"name": variable}}


def events(peer: Peer, kind: str) -> list[dict[str, Any]]:
    return [e for e in peer.calls("TransactionEvent") if e["eventType"] == kind]


async def test_boot_status_and_heartbeat(peer201: Peer, station201: RunningStation) -> None:
    connected = next(e for e in peer201.events if e["event"] == "connected")
    assert connected["identity"] == "CP-201" and connected["protocol"] == "ocpp2.0.1"
    boot = (await peer201.wait_call("BootNotification"))[0]
    assert boot["reason"] == "PowerUp" and boot["chargingStation"]["model"]
    status = peer201.calls("StatusNotification")[0]
    assert (status["evseId"], status["connectorId"], status["connectorStatus"]) == (
        1, 1, "Available")
    assert await station201.adapter.ping() >= 0
    await peer201.wait_call("Heartbeat")
    assert peer201.failures() == []


async def test_a_session_passes_the_strict_validator(peer201: Peer,
                                                     station201: RunningStation) -> None:
    bench = station201.bench
    assert bench is not None
    bench.plug(1)
    await peer201.wait(lambda: any(s["connectorStatus"] == "Occupied"
                                   for s in peer201.calls("StatusNotification")))
    bench.tap(CARD)
    assert (await peer201.wait_call("Authorize"))[0]["idToken"] == {
        "idToken": CARD, "type": "ISO14443"}
    await peer201.wait(lambda: events(peer201, "Started"))
    await peer201.wait(lambda: events(peer201, "Updated"))
    bench.tap(CARD)
    await peer201.wait(lambda: events(peer201, "Ended"))
    bench.unplug(1)
    await peer201.wait(lambda: peer201.calls("StatusNotification")[-1]["connectorStatus"]
                       == "Available")
    await until(lambda: station201.adapter.link_state().queued == 0)
    sent = peer201.calls("TransactionEvent")
    assert [e["seqNo"] for e in sent] == list(range(len(sent)))
    assert len({e["transactionInfo"]["transactionId"] for e in sent}) == 1
    (started,), (ended,) = events(peer201, "Started"), events(peer201, "Ended")
    assert started["idToken"] == {"idToken": CARD, "type": "ISO14443"}
    assert ended["transactionInfo"]["stoppedReason"] == "Local"
    updated = events(peer201, "Updated")[0]
    measurands = {s.get("measurand") for s in updated["meterValue"][0]["sampledValue"]}
    assert {"Energy.Active.Import.Register", "Current.Import", "Voltage"} <= measurands
    assert peer201.failures() == []


async def test_device_model_requests_from_the_peer(peer201: Peer,
                                                   station201: RunningStation) -> None:
    got = await peer201.request("GetVariables", {"getVariableData": [
        ref("OCPPCommCtrlr", "HeartbeatInterval"),
        ref("EVSE", "AvailabilityState", evse={"id": 1}),
        ref("Connector", "ConnectorType", evse={"id": 1, "connectorId": 1}),
        ref("NoCtrlr", "X")]})
    assert [(r["attributeStatus"], r.get("attributeValue"))
            for r in got["getVariableResult"]] == [
        ("Accepted", "300"), ("Accepted", "Available"), ("Accepted", "sType2"),
        ("UnknownComponent", None)]
    changed = await peer201.request("SetVariables", {"setVariableData": [
        {**ref("SampledDataCtrlr", "TxUpdatedInterval"), "attributeValue": "5"},
        {**ref("OCPPCommCtrlr", "MessageTimeout"), "attributeValue": "5"}]})
    assert [r["attributeStatus"] for r in changed["setVariableResult"]] == [
        "Accepted", "Rejected"]

    async def report(method: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        assert await peer201.request(method, params) == {"status": "Accepted"}
        request_id = params["requestId"]
        pages = await peer201.wait(lambda: [
            r for r in peer201.calls("NotifyReport") if r["requestId"] == request_id
        ] if any(r["requestId"] == request_id and not r.get("tbc")
                 for r in peer201.calls("NotifyReport")) else None)
        assert [p["seqNo"] for p in pages] == list(range(len(pages)))
        return [entry for page in pages for entry in page["reportData"]]

    full = await report("GetBaseReport", {"requestId": 7, "reportBase": "FullInventory"})
    names = {e["component"]["name"] for e in full}
    assert {"OCPPCommCtrlr", "EVSE", "Connector"} <= names
    summary = await report("GetBaseReport", {"requestId": 8, "reportBase": "SummaryInventory"})
    assert {e["variable"]["name"] for e in summary} <= {"AvailabilityState", "Available",
                                                          "Problem"}
    criteria = await report("GetReport", {"requestId": 9, "componentCriteria": ["Available"]})
    assert {e["component"]["name"] for e in criteria} >= {"EVSE", "Connector"}
    assert peer201.failures() == []


async def test_a_malformed_request_gets_the_2_0_1_callerror(peer201: Peer,
                                                            station201: RunningStation) -> None:
    wrong_type = await peer201.raw('[2,"raw-1","GetVariables",{"getVariableData":"all"}]')
    assert wrong_type[:3] == [4, "raw-1", "TypeConstraintViolation"], wrong_type
    incomplete = await peer201.raw('[2,"raw-2","SetVariables",{}]')
    assert incomplete[:3] == [4, "raw-2", "ProtocolError"], incomplete
    unsupported = await peer201.raw('[2,"raw-3","MakeCoffee",{}]')
    assert unsupported[:3] == [4, "raw-3", "NotImplemented"], unsupported
    got = await peer201.request("GetVariables", {"getVariableData": [
        ref("OCPPCommCtrlr", "HeartbeatInterval")]})  # the link stays up
    assert got["getVariableResult"][0]["attributeStatus"] == "Accepted"
    assert peer201.failures() == []


async def test_triggers_unlock_and_fault_events_pass_the_strict_validator(
        peer201: Peer, station201: RunningStation) -> None:
    await until(lambda: station201.controller.meter_reading(1) is not None)
    assert await peer201.request("TriggerMessage", {
        "requestedMessage": "MeterValues", "evse": {"id": 1}}) == {"status": "Accepted"}
    sent = (await peer201.wait_call("MeterValues"))[0]
    assert sent["evseId"] == 1
    assert await peer201.request("TriggerMessage", {
        "requestedMessage": "StatusNotification", "evse": {"id": 1, "connectorId": 1}}) \
        == {"status": "Accepted"}
    assert await peer201.request("TriggerMessage", {"requestedMessage": "BootNotification"}) \
        == {"status": "Rejected"}
    assert await peer201.request("UnlockConnector", {"evseId": 1, "connectorId": 1}) \
        == {"status": "Unlocked"}
    assert await peer201.request("DataTransfer", {"vendorId": "org.example"}) \
        == {"status": "UnknownVendorId"}
    bench = station201.bench
    assert bench is not None
    bench.fault(1, "rcd")
    event = (await peer201.wait_call("NotifyEvent"))[0]["eventData"][0]
    assert (event["component"]["name"], event["actualValue"]) == ("RCD", "true")
    assert peer201.failures() == []
