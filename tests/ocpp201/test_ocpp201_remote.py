"""OCPP 2.0.1 remote control (block F: TriggerMessage F06, UnlockConnector F05), DataTransfer
(P01, P02) and NotifyEvent of the station's faults (N07-style) end to end: the full station on
the simulated bench (faults injected with the bench's ``fault`` and reader commands) against
the loopback 2.0.1 CSMS."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from ocpp.v201 import call

from chargepoint.app import RunningStation
from chargepoint.core.events import FaultCleared, FaultRaised
from chargepoint.core.types import FaultKind
from chargepoint.ocpp201.adapter import Ocpp201Adapter
from chargepoint.ocpp201.problems import REPORTED_KEY
from tests.fullstack import charging, until
from tests.ocpp201.conftest import Cp201Maker
from tests.ocpp201.csms import Csms201

TAG = "04A1B2C3"


def adapter201(cp: RunningStation) -> Ocpp201Adapter:
    assert isinstance(cp.adapter, Ocpp201Adapter)
    return cp.adapter


async def registered(cp: RunningStation, csms: Csms201) -> None:
    await until(lambda: cp.adapter.link_state().registration == "Accepted")
    await csms.wait_for("StatusNotification")


async def trigger(csms: Csms201, message: str, evse: dict[str, int] | None = None) -> str:
    result = await csms.send(call.TriggerMessage(requested_message=message, evse=evse))
    return str(result.status)


def event_data(csms: Csms201) -> list[dict[str, Any]]:
    """Every eventData the station sent in NotifyEvent, in order."""
    return [d for f in csms.calls("NotifyEvent") for d in f.payload["eventData"]]


def problems(csms: Csms201, component: str) -> list[str]:
    return [d["actualValue"] for d in event_data(csms) if d["component"]["name"] == component]


async def start_transaction(cp: RunningStation, csms: Csms201) -> str:
    assert cp.bench is not None
    cp.bench.plug(1)
    cp.bench.tap(TAG)
    await charging(cp)
    await csms.wait_until(lambda: csms.events())
    return str(csms.events()[0]["transactionInfo"]["transactionId"])


# -- F06 TriggerMessage -----------------------------------------------------------------------

async def test_f06_trigger_boot_while_pending_then_rejected_once_accepted(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    csms201.boot_status, csms201.interval = "Pending", 300  # no retry of its own in this test
    cp = await make_cp201()
    await csms201.wait_for("BootNotification")
    await until(lambda: cp.adapter.link_state().registration == "Pending")
    csms201.boot_status = "Accepted"
    assert await trigger(csms201, "BootNotification") == "Accepted"
    boots = await csms201.wait_for("BootNotification", 2)
    assert boots[1].payload["reason"] == "Triggered"
    await registered(cp, csms201)
    assert await trigger(csms201, "BootNotification") == "Rejected"  # F06.FR.17
    assert len(csms201.calls("BootNotification")) == 2


async def test_f06_trigger_heartbeat_and_status_notification(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(connectors=2)
    await registered(cp, csms201)
    await csms201.wait_for("StatusNotification", 2)  # both EVSEs told
    assert await trigger(csms201, "Heartbeat") == "Accepted"
    await csms201.wait_for("Heartbeat")
    before = len(csms201.calls("StatusNotification"))
    assert await trigger(csms201, "StatusNotification", {"id": 2, "connector_id": 1}) \
        == "Accepted"
    status = (await csms201.wait_for("StatusNotification", before + 1))[-1].payload
    assert (status["evseId"], status["connectorId"], status["connectorStatus"]) \
        == (2, 1, "Available")
    # F06.FR.12: the EVSE and connector must be named; unknown ones are refused
    assert await trigger(csms201, "StatusNotification") == "Rejected"
    assert await trigger(csms201, "StatusNotification", {"id": 1}) == "Rejected"
    assert await trigger(csms201, "StatusNotification", {"id": 3, "connector_id": 1}) \
        == "Rejected"
    assert await trigger(csms201, "StatusNotification", {"id": 1, "connector_id": 2}) \
        == "Rejected"
    assert len(csms201.calls("StatusNotification")) == before + 1


async def test_f06_trigger_meter_values_with_the_current_readings(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(connectors=2)
    await registered(cp, csms201)
    await until(lambda: all(cp.controller.meter_reading(c) is not None for c in (1, 2)))
    assert await trigger(csms201, "MeterValues", {"id": 2}) == "Accepted"
    sent = (await csms201.wait_for("MeterValues"))[0].payload
    assert sent["evseId"] == 2
    values = sent["meterValue"][0]["sampledValue"]
    assert {v["context"] for v in values} == {"Trigger"}
    assert {"Energy.Active.Import.Register", "Voltage"} <= {v["measurand"] for v in values}
    assert await trigger(csms201, "MeterValues") == "Accepted"  # every EVSE
    more = await csms201.wait_for("MeterValues", 3)
    assert sorted(f.payload["evseId"] for f in more[1:]) == [1, 2]


async def test_f06_trigger_transaction_event_updated_with_trigger_reason(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await registered(cp, csms201)
    assert await trigger(csms201, "TransactionEvent", {"id": 1}) == "Rejected"  # none runs
    tx_id = await start_transaction(cp, csms201)
    assert await trigger(csms201, "TransactionEvent", {"id": 1}) == "Accepted"
    await csms201.wait_until(lambda: len(csms201.events()) >= 2)
    updated = csms201.events()[1]
    assert updated["eventType"] == "Updated"
    assert updated["triggerReason"] == "Trigger"  # F06.FR.07
    assert updated["transactionInfo"]["transactionId"] == tx_id
    assert updated["seqNo"] == 1
    assert {v["context"] for v in updated["meterValue"][0]["sampledValue"]} == {"Trigger"}
    await until(lambda: cp.store.queue_length() == 0)  # (none while one is unconfirmed)
    assert await trigger(csms201, "TransactionEvent") == "Accepted"  # any EVSE
    await csms201.wait_until(lambda: len(csms201.events()) >= 3)
    assert csms201.events()[2]["seqNo"] == 2


async def test_f06_trigger_storm_queues_few_messages(csms201: Csms201,
                                                     make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await registered(cp, csms201)
    await start_transaction(cp, csms201)
    await until(lambda: cp.store.queue_length() == 0)
    peer = await csms201.connected()
    storm = 300
    for i in range(storm):
        message = "TransactionEvent" if i % 2 else "StatusNotification"
        await peer.ws.send(json.dumps([2, f"storm-{i}", "TriggerMessage", {
            "requestedMessage": message, "evse": {"id": 1, "connectorId": 1}}]))
    await csms201.wait_until(lambda: sum(
        1 for f in csms201.frames if f.direction == "in" and f.kind == 3
        and f.unique_id.startswith("storm-")) == storm, timeout=20)
    await until(lambda: cp.store.queue_length() == 0 and adapter201(cp).triggers.idle())
    triggered = [e for e in csms201.events() if e.get("triggerReason") == "Trigger"]
    assert 1 <= len(triggered) <= 10  # 150 triggers answered
    statuses = [f for f in csms201.calls("StatusNotification") if f.payload["evseId"] == 1]
    assert len(statuses) <= 20  # 150 triggers answered


async def test_f06_trigger_firmware_and_log_status(csms201: Csms201,
                                                   make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await registered(cp, csms201)
    assert await trigger(csms201, "FirmwareStatusNotification") == "Accepted"
    firmware = (await csms201.wait_for("FirmwareStatusNotification"))[0].payload
    assert firmware == {"status": "Idle"}
    assert await trigger(csms201, "LogStatusNotification") == "Accepted"
    log = (await csms201.wait_for("LogStatusNotification"))[0].payload
    assert log == {"status": "Idle"}


async def test_f06_trigger_hooks_of_other_blocks(csms201: Csms201,
                                                 make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await registered(cp, csms201)
    assert await trigger(csms201, "SignCombinedCertificate") == "NotImplemented"
    assert await trigger(csms201, "PublishFirmwareStatusNotification") == "NotImplemented"
    sent = asyncio.Event()

    async def send() -> None:
        sent.set()

    hooks = adapter201(cp).trigger_hooks
    hooks.register("SignCombinedCertificate", send)
    hooks.register("PublishFirmwareStatusNotification", send, accepts=lambda evse: False)
    assert await trigger(csms201, "SignCombinedCertificate") == "Accepted"
    await asyncio.wait_for(sent.wait(), 10)
    assert await trigger(csms201, "PublishFirmwareStatusNotification") == "Rejected"
    assert await trigger(csms201, "SignCombinedCertificate", {"id": 2}) == "Rejected"
    with pytest.raises(ValueError):
        hooks.register("Heartbeat", send)


# -- F05 UnlockConnector ----------------------------------------------------------------------

async def test_f05_unlock_connector_answers(csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await registered(cp, csms201)
    unknown = await csms201.send(call.UnlockConnector(evse_id=2, connector_id=1))
    assert unknown.status == "UnknownConnector"
    unknown = await csms201.send(call.UnlockConnector(evse_id=1, connector_id=2))
    assert unknown.status == "UnknownConnector"
    idle = await csms201.send(call.UnlockConnector(evse_id=1, connector_id=1))
    assert idle.status == "Unlocked"
    await start_transaction(cp, csms201)
    ongoing = await csms201.send(call.UnlockConnector(evse_id=1, connector_id=1))
    assert ongoing.status == "OngoingAuthorizedTransaction"  # F05.FR.02
    assert cp.controller.hardware_of(1).contactor.commanded_closed  # the charging goes on
    assert [e["eventType"] for e in csms201.events()] == ["Started"]


async def test_f05_unlock_on_a_fixed_cable_fails_with_no_lock(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(extra="has_lock = false\n")  # in [hardware]
    await registered(cp, csms201)
    result = await csms201.send(call.UnlockConnector(evse_id=1, connector_id=1))
    assert result.status == "UnlockFailed"
    assert result.status_info["reason_code"] == "NoLock"


async def test_f05_unlock_failed_and_n07_lock_problem(csms201: Csms201,
                                                      make_cp201: Cp201Maker) -> None:
    csms201.call_timeout = 20.0  # the answer waits for the lock's time limit
    cp = await make_cp201()
    await registered(cp, csms201)
    await start_transaction(cp, csms201)
    assert cp.bench is not None
    cp.bench.fault(1, "lock")  # the lock feedback does not follow any more
    cp.bench.tap(TAG)  # the card ends the transaction: the lock is commanded open, stays shut
    await csms201.wait_until(lambda: csms201.events()[-1]["eventType"] == "Ended")
    await csms201.wait_until(lambda: problems(csms201, "ConnectorPlugRetentionLock"))
    lock = next(d for d in event_data(csms201)
                if d["component"]["name"] == "ConnectorPlugRetentionLock")
    assert lock["component"]["evse"] == {"id": 1, "connectorId": 1}
    assert lock["variable"] == {"name": "Problem"}
    assert lock["actualValue"] == "true"
    assert lock["techCode"] == "ConnectorLockFailure"
    result = await csms201.send(call.UnlockConnector(evse_id=1, connector_id=1))
    assert result.status == "UnlockFailed"
    cp.bench.fault(1, "none")  # repaired: the lock follows the next command again
    result = await csms201.send(call.UnlockConnector(evse_id=1, connector_id=1))
    assert result.status == "Unlocked"
    # (the lock is driven again on each command: the problem may come and go meanwhile)
    await until(lambda: not cp.controller.station.snapshot().connectors[0].faults)
    await csms201.wait_until(lambda: problems(csms201, "ConnectorPlugRetentionLock")[-1]
                             == "false")


# -- N07 NotifyEvent of faults ----------------------------------------------------------------

async def test_n07_notify_event_when_a_fault_appears_and_clears(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await registered(cp, csms201)
    assert cp.bench is not None
    cp.bench.fault(1, "rcd")
    await csms201.wait_until(lambda: problems(csms201, "RCD"))
    cp.bench.fault(1, "none")
    await csms201.wait_until(lambda: problems(csms201, "RCD") == ["true", "false"])
    tripped, cleared = [d for d in event_data(csms201) if d["component"]["name"] == "RCD"]
    assert tripped["component"] == {"name": "RCD", "evse": {"id": 1}}
    assert tripped["variable"] == {"name": "Tripped"}
    assert tripped["trigger"] == "Delta"
    assert tripped["eventNotificationType"] == "HardWiredNotification"
    assert tripped["techCode"] == "GroundFailure"
    assert cleared["cleared"] is True
    assert cleared["eventId"] > tripped["eventId"]
    cp.bench.reader.fail()
    await csms201.wait_until(lambda: problems(csms201, "TokenReader"))
    reader = event_data(csms201)[-1]
    assert reader["component"] == {"name": "TokenReader"}  # station-wide: no evse
    assert reader["techCode"] == "ReaderFailure"
    assert reader["eventId"] > cleared["eventId"]
    for frame in csms201.calls("NotifyEvent"):
        assert frame.payload["seqNo"] == 0 and frame.payload["tbc"] is False


async def test_n07_a_fault_raised_and_cleared_at_once_is_reported_both_ways(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await registered(cp, csms201)
    # raised and cleared (and raised again) before the sender runs: every transition, in order
    cp.controller.submit(FaultRaised(1, FaultKind.RCD, "tripped"))
    cp.controller.submit(FaultCleared(1, FaultKind.RCD))
    cp.controller.submit(FaultRaised(1, FaultKind.RCD, "again"))
    await csms201.wait_until(lambda: problems(csms201, "RCD") == ["true", "false", "true"])
    first, cleared, again = event_data(csms201)
    assert first["techCode"] == "GroundFailure" and first["techInfo"] == "tripped"
    assert "techCode" not in cleared and cleared["cleared"] is True
    assert again["techInfo"] == "again"
    assert first["eventId"] < cleared["eventId"] < again["eventId"]
    assert first["timestamp"] <= cleared["timestamp"] <= again["timestamp"]
    await until(lambda: cp.store.kv_get(REPORTED_KEY) == '[["RCD", "Tripped", 1]]')
    cp.controller.submit(FaultCleared(1, FaultKind.RCD))
    cp.controller.submit(FaultRaised(1, FaultKind.RCD, "third"))
    cp.controller.submit(FaultRaised(1, FaultKind.RCD, "no change"))  # no eventData
    cp.controller.submit(FaultCleared(1, FaultKind.RCD))
    await csms201.wait_until(lambda: len(problems(csms201, "RCD")) >= 6)
    assert problems(csms201, "RCD") == ["true", "false", "true", "false", "true", "false"]
    ids = [d["eventId"] for d in event_data(csms201)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    await until(lambda: cp.store.kv_get(REPORTED_KEY) == "[]")


async def test_n07_meter_problem(csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await registered(cp, csms201)
    assert cp.bench is not None
    cp.bench.fault(1, "meter")  # the meter stops answering
    cp.bench.plug(1)  # an idle meter is read every idle_poll_interval_s, a busy one at once
    await csms201.wait_until(lambda: problems(csms201, "FiscalMetering"))
    meter = next(d for d in event_data(csms201) if d["component"]["name"] == "FiscalMetering")
    assert meter["component"]["evse"] == {"id": 1}
    assert meter["variable"] == {"name": "Problem"}
    assert meter["techCode"] == "PowerMeterFailure"
    cp.bench.fault(1, "none")  # a failing meter is read at the fast rate: back within a poll
    await csms201.wait_until(lambda: problems(csms201, "FiscalMetering") == ["true", "false"])


async def test_n07_offline_the_current_state_is_sent_after_reconnect(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await registered(cp, csms201)
    await csms201.stop()
    await until(lambda: not cp.adapter.link_state().connected)
    assert cp.bench is not None
    cp.bench.fault(1, "rcd")  # still there at the reconnect
    cp.bench.reader.fail()  # gone again before it
    await until(lambda: FaultKind.READER in cp.controller.station.snapshot().faults)
    cp.bench.reader.recover()
    await until(lambda: not cp.controller.station.snapshot().faults)
    await until(lambda: FaultKind.RCD in cp.controller.station.snapshot().connectors[0].faults)
    await csms201.start()  # same port
    await csms201.wait_for("NotifyEvent")
    await registered(cp, csms201)
    assert [(d["component"]["name"], d["actualValue"]) for d in event_data(csms201)] \
        == [("RCD", "true")]


async def test_n07_a_fault_that_cleared_while_off_is_reported_cleared_after_the_boot(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await registered(cp, csms201)
    assert cp.bench is not None
    cp.bench.fault(1, "rcd")
    await csms201.wait_until(lambda: problems(csms201, "RCD") == ["true"])
    await until(lambda: cp.store.kv_get(REPORTED_KEY) == '[["RCD", "Tripped", 1]]')
    await cp.stop()
    await make_cp201()  # a new bench: the RCD is closed again
    await csms201.wait_until(lambda: problems(csms201, "RCD") == ["true", "false"])
    first, second = [d for d in event_data(csms201) if d["component"]["name"] == "RCD"]
    assert second["eventId"] > first["eventId"]  # counted on across the restart


# -- P01, P02 DataTransfer --------------------------------------------------------------------

async def test_p02_data_transfer_from_the_csms_unknown_vendor(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await registered(cp, csms201)
    result = await csms201.send(call.DataTransfer(vendor_id="com.example", message_id="Ping",
                                                  data={"n": 1}))
    assert result.status == "UnknownVendorId"


async def test_p01_data_transfer_from_the_station(csms201: Csms201,
                                                  make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await registered(cp, csms201)
    remote = adapter201(cp).remote
    assert await remote.data_transfer("org.example", "Ping", {"n": 1}) == ("Accepted", {"n": 1})
    sent = (await csms201.wait_for("DataTransfer"))[0].payload
    assert sent == {"vendorId": "org.example", "messageId": "Ping", "data": {"n": 1}}
    csms201.data_transfer_status = "UnknownVendorId"
    status, _ = await remote.data_transfer("org.example")
    assert status == "UnknownVendorId"
