"""OCPP 2.0.1 transactions (blocks C, E, F) end to end: the full station on the simulated
bench against the loopback 2.0.1 CSMS. Plug, tap a card, TransactionEvent Started / Updated /
Ended with one station-chosen transactionId and a continuous seqNo; remote start and stop;
offline queueing; PowerLoss recovery once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ocpp.v201 import call

from chargepoint.core.events import AuthorizationResult
from chargepoint.core.types import AuthStatus
from chargepoint.store.api import MessageKind
from chargepoint.store.db import Store
from tests.fullstack import charging, until
from tests.ocpp201.conftest import Cp201Maker
from tests.ocpp201.csms import Csms201

TAG = "04A1B2C3"


def energy(event: dict[str, Any]) -> float:
    values = event["meterValue"][0]["sampledValue"]
    return float(next(v["value"] for v in values
                      if v.get("measurand") == "Energy.Active.Import.Register"))


def context(event: dict[str, Any]) -> str:
    return str(event["meterValue"][0]["sampledValue"][0]["context"])


async def registered(cp: Any, csms: Csms201) -> None:
    await until(lambda: cp.adapter.link_state().registration == "Accepted")
    await csms.wait_for("StatusNotification")


async def test_card_session_plug_tap_unplug(csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(**{"SampledDataCtrlr.TxUpdatedInterval": 1})
    await registered(cp, csms201)
    assert cp.bench is not None
    cp.bench.plug(1)
    cp.bench.tap(TAG)
    await charging(cp)
    authorize = (await csms201.wait_for("Authorize"))[0].payload
    assert authorize["idToken"] == {"idToken": TAG, "type": "ISO14443"}
    await csms201.wait_until(lambda: len(csms201.events()) >= 2)  # Started, Updated
    started = csms201.events()[0]
    tx_id = started["transactionInfo"]["transactionId"]
    assert isinstance(tx_id, str) and tx_id
    assert started["eventType"] == "Started"
    assert started["seqNo"] == 0
    assert started["triggerReason"] == "ChargingStateChanged"  # TxStartPoint PowerPathClosed
    assert started["offline"] is False
    assert started["evse"] == {"id": 1, "connectorId": 1}
    assert started["idToken"] == {"idToken": TAG, "type": "ISO14443"}
    assert started["transactionInfo"]["chargingState"] == "Charging"
    assert context(started) == "Transaction.Begin"
    status = await cp.status()
    assert status["connectors"][0]["transaction"]["id"] == tx_id
    assert status["connectors"][0]["transaction"]["id_tag"] == TAG
    updated = csms201.events()[1]
    assert updated["eventType"] == "Updated"
    assert updated["triggerReason"] == "MeterValuePeriodic"
    assert context(updated) == "Sample.Periodic"
    cp.bench.unplug(1)
    await csms201.wait_until(lambda: csms201.events()[-1]["eventType"] == "Ended")
    events = csms201.events()
    ended = events[-1]
    assert [e["seqNo"] for e in events] == list(range(len(events)))
    assert {e["transactionInfo"]["transactionId"] for e in events} == {tx_id}
    assert ended["transactionInfo"]["stoppedReason"] == "EVDisconnected"
    assert ended["triggerReason"] == "EVCommunicationLost"
    assert context(ended) == "Transaction.End"
    assert energy(ended) >= energy(started)
    await until(lambda: cp.store.queue_length() == 0)
    assert not csms201.errors_sent()


async def test_card_stop_ends_with_stop_authorized(csms201: Csms201,
                                                  make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await registered(cp, csms201)
    assert cp.bench is not None
    cp.bench.plug(1)
    cp.bench.tap(TAG)
    await csms201.wait_until(lambda: csms201.events())
    cp.bench.tap(TAG)
    await csms201.wait_until(lambda: csms201.events()[-1]["eventType"] == "Ended")
    ended = csms201.events()[-1]
    assert ended["triggerReason"] == "StopAuthorized"
    assert ended["transactionInfo"]["stoppedReason"] == "Local"
    assert ended["transactionInfo"]["chargingState"] == "EVConnected"
    assert ended["idToken"] == {"idToken": TAG, "type": "ISO14443"}
    assert ended["seqNo"] == 1


async def test_refused_card_starts_nothing(csms201: Csms201, make_cp201: Cp201Maker) -> None:
    csms201.token_status[TAG] = "Invalid"
    cp = await make_cp201()
    await registered(cp, csms201)
    results: list[AuthorizationResult] = []
    cp.controller.observe(lambda item: results.append(item)
                          if isinstance(item, AuthorizationResult) else None)
    assert cp.bench is not None
    cp.bench.plug(1)
    cp.bench.tap(TAG)
    await until(lambda: results)
    assert results[0].status is AuthStatus.INVALID
    status = await cp.status()
    assert status["connectors"][0]["transaction"] is None
    assert not cp.controller.hardware_of(1).contactor.commanded_closed
    assert not csms201.events()


async def test_remote_start_and_stop(csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(**{"AuthCtrlr.AuthorizeRemoteStart": False})
    await registered(cp, csms201)
    assert cp.bench is not None
    cp.bench.plug(1)
    result = await csms201.send(call.RequestStartTransaction(
        id_token={"idToken": TAG, "type": "Central"}, remote_start_id=42, evse_id=1))
    assert result.status == "Accepted"
    await charging(cp)
    await csms201.wait_until(lambda: csms201.events())
    started = csms201.events()[0]
    assert started["triggerReason"] == "RemoteStart"
    assert started["transactionInfo"]["remoteStartId"] == 42
    assert not csms201.calls("Authorize")  # AuthorizeRemoteStart = false
    tx_id = started["transactionInfo"]["transactionId"]
    unknown = await csms201.send(call.RequestStopTransaction(transaction_id="nope"))
    assert unknown.status == "Rejected"
    stop = await csms201.send(call.RequestStopTransaction(transaction_id=tx_id))
    assert stop.status == "Accepted"
    await csms201.wait_until(lambda: csms201.events()[-1]["eventType"] == "Ended")
    ended = csms201.events()[-1]
    assert ended["transactionInfo"]["stoppedReason"] == "Remote"
    assert ended["triggerReason"] == "RemoteStop"
    assert ended["seqNo"] == 1


async def test_remote_start_authorizes_first_by_default(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await registered(cp, csms201)
    assert cp.bench is not None
    cp.bench.plug(1)
    result = await csms201.send(call.RequestStartTransaction(
        id_token={"idToken": TAG, "type": "ISO14443"}, remote_start_id=7))
    assert result.status == "Accepted"
    await csms201.wait_until(lambda: csms201.events())
    assert csms201.calls("Authorize")


async def test_refused_remote_start_does_not_label_the_next_card_start(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(**{"AuthCtrlr.AuthorizeRemoteStart": False})
    await registered(cp, csms201)
    off = await csms201.send(call.ChangeAvailability(operational_status="Inoperative",
                                                     evse={"id": 1}))
    assert off.status == "Accepted"
    refused = await csms201.send(call.RequestStartTransaction(
        id_token={"idToken": TAG, "type": "Central"}, remote_start_id=99, evse_id=1))
    assert refused.status == "Rejected"
    on = await csms201.send(call.ChangeAvailability(operational_status="Operative",
                                                    evse={"id": 1}))
    assert on.status == "Accepted"
    assert cp.bench is not None
    cp.bench.plug(1)
    cp.bench.tap(TAG)
    await csms201.wait_until(lambda: csms201.events())
    started = csms201.events()[0]
    assert started["triggerReason"] == "ChargingStateChanged"  # not RemoteStart
    assert "remoteStartId" not in started["transactionInfo"]


async def test_offline_end_is_queued_and_sent_once_with_offline_flag(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await registered(cp, csms201)
    assert cp.bench is not None
    cp.bench.plug(1)
    cp.bench.tap(TAG)
    await csms201.wait_until(lambda: csms201.events())
    await until(lambda: cp.store.queue_length() == 0)
    await csms201.stop()
    await until(lambda: cp.adapter.link_state().registration != "Accepted"
                or not cp.adapter.link_state().connected)
    cp.bench.unplug(1)
    await until(lambda: cp.store.queue_length() == 1)
    await csms201.start()  # same port
    await csms201.wait_until(lambda: csms201.events()[-1]["eventType"] == "Ended")
    await until(lambda: cp.store.queue_length() == 0)
    events = csms201.events()
    assert [e["eventType"] for e in events] == ["Started", "Ended"]
    assert events[1]["offline"] is True
    assert events[1]["seqNo"] == 1


async def test_power_loss_recovery_ends_the_transaction_once(
        csms201: Csms201, make_cp201: Cp201Maker, tmp_path: Path) -> None:
    # A transaction left open by a crash: Started was queued (and seqNo 1 is next).
    store = Store.open(tmp_path / "state.db")
    local_id = store.begin_transaction(1, TAG, 1000.0, "2026-01-01T00:00:00.000Z", None, {
        "eventType": "Started", "timestamp": "2026-01-01T00:00:00.000Z",
        "triggerReason": "Authorized", "seqNo": 0, "offline": False,
        "transactionInfo": {"transactionId": "tx-crashed", "chargingState": "Charging"},
        "evse": {"id": 1, "connectorId": 1}, "idToken": {"idToken": TAG, "type": "ISO14443"}})
    store.set_csms_transaction_id(local_id, "tx-crashed")
    store.kv_set(f"ocpp201.seq.{local_id}", "1")
    store.close()
    cp = await make_cp201()
    await csms201.wait_until(lambda: len(csms201.events()) == 2)
    await until(lambda: cp.store.queue_length() == 0)
    started, ended = csms201.events()
    assert started["seqNo"] == 0 and ended["seqNo"] == 1
    assert ended["transactionInfo"] == {"transactionId": "tx-crashed", "chargingState": "Idle",
                                        "stoppedReason": "PowerLoss"}
    assert ended["offline"] is True
    await cp.stop()
    again = await make_cp201()  # a second start recovers nothing
    await csms201.wait_for("BootNotification", 2)
    await until(lambda: again.adapter.link_state().registration == "Accepted")
    await until(lambda: again.store.queue_length() == 0)
    assert len(csms201.events()) == 2
    assert again.store.open_transactions() == []
    assert MessageKind.TRANSACTION_STOP  # the store queued the end by kind


async def test_free_vend_starts_with_no_authorization(csms201: Csms201,
                                                      make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(extra="[charging]\nfree_vend = true\n")
    await registered(cp, csms201)
    assert cp.bench is not None
    cp.bench.plug(1)
    await csms201.wait_until(lambda: csms201.events())
    started = csms201.events()[0]
    assert started["idToken"] == {"idToken": "", "type": "NoAuthorization"}
    assert not csms201.calls("Authorize")
    cp.bench.unplug(1)
    await csms201.wait_until(lambda: csms201.events()[-1]["eventType"] == "Ended")
    assert csms201.events()[-1]["transactionInfo"]["stoppedReason"] == "EVDisconnected"
