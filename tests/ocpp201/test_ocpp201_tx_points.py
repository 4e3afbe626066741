"""OCPP 2.0.1 TxStartPoint / TxStopPoint (E01-E03, E06, E07) and the Updated events of a
running transaction (ChargingStateChanged, Authorized, CablePluggedIn), end to end: the full
station on the simulated bench against the loopback 2.0.1 CSMS."""

from __future__ import annotations

from typing import Any

from ocpp.v201 import call

from chargepoint.core.actions import StopTransaction
from tests.fullstack import charging, until
from tests.ocpp201.conftest import Cp201Maker
from tests.ocpp201.csms import Csms201

TAG = "04A1B2C3"
CARD = {"idToken": TAG, "type": "ISO14443"}


async def registered(cp: Any, csms: Csms201) -> None:
    await until(lambda: cp.adapter.link_state().registration == "Accepted")
    await csms.wait_for("StatusNotification")


async def event_count(csms: Csms201, count: int) -> list[dict[str, Any]]:
    await csms.wait_until(lambda: len(csms.events()) >= count)
    return csms.events()


def connector(cp: Any) -> Any:
    return cp.controller.station.snapshot().connectors[0]


def brief(events: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(e["eventType"], e["triggerReason"], e["transactionInfo"]["chargingState"])
            for e in events]


def one_transaction(events: list[dict[str, Any]]) -> str:
    """Every event of one transactionId, seqNo 0.. without gaps; returns the id."""
    assert [e["seqNo"] for e in events] == list(range(len(events)))
    ids = {e["transactionInfo"]["transactionId"] for e in events}
    assert len(ids) == 1
    return ids.pop()


async def test_e01_default_power_path_closed_starts_when_the_contactor_closes(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()  # TxStartPoint PowerPathClosed, TxStopPoint EVConnected,Authorized
    await registered(cp, csms201)
    assert cp.bench is not None
    cp.bench.plug(1)
    cp.bench.tap(TAG)
    await charging(cp)
    started = (await event_count(csms201, 1))[0]
    assert (started["eventType"], started["triggerReason"]) == ("Started",
                                                                "ChargingStateChanged")
    assert started["transactionInfo"]["chargingState"] == "Charging"
    assert started["idToken"] == CARD
    assert started["meterValue"][0]["sampledValue"][0]["context"] == "Transaction.Begin"
    cp.bench.unplug(1)
    events = await event_count(csms201, 2)
    assert brief(events) == [("Started", "ChargingStateChanged", "Charging"),
                             ("Ended", "EVCommunicationLost", "Idle")]
    assert events[1]["transactionInfo"]["stoppedReason"] == "EVDisconnected"
    one_transaction(events)


async def test_e01_power_path_never_closed_sends_no_transaction(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await registered(cp, csms201)
    stops: list[StopTransaction] = []
    cp.controller.observe(lambda item: stops.append(item)
                          if isinstance(item, StopTransaction) else None)
    assert cp.bench is not None
    cp.bench.plug(1)
    cp.bench.ev(1, "pause")  # the EV never asks for energy: the contactor stays open
    cp.bench.tap(TAG)
    await csms201.wait_for("Authorize")
    await until(lambda: connector(cp).session is not None and connector(cp).pwm_a is not None)
    cp.bench.tap(TAG)  # the core's transaction ends before the start point was reached
    await until(lambda: stops)
    await until(lambda: cp.store.queue_length() == 0)
    cp.bench.unplug(1)
    await until(lambda: connector(cp).status.value == "Available")
    assert csms201.events() == []
    assert cp.store.open_transactions() == []


async def test_e01_ev_connected_start_then_authorized_and_charging_updates(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(**{"TxCtrlr.TxStartPoint": "EVConnected"})
    await registered(cp, csms201)
    assert cp.bench is not None
    cp.bench.plug(1)
    started = (await event_count(csms201, 1))[0]
    assert brief([started]) == [("Started", "CablePluggedIn", "EVConnected")]
    assert "idToken" not in started
    # the store's record of the transaction, opened by Started (no core transaction yet)
    await until(lambda: [r.csms_id for r in cp.store.open_transactions()] == [
        started["transactionInfo"]["transactionId"]])
    status = await cp.status()
    assert status["connectors"][0]["transaction"]["id"] == (
        started["transactionInfo"]["transactionId"])
    cp.bench.tap(TAG)
    events = await event_count(csms201, 3)
    assert brief(events[1:3]) == [("Updated", "Authorized", "EVConnected"),
                                  ("Updated", "ChargingStateChanged", "Charging")]
    assert events[1]["idToken"] == CARD
    cp.bench.unplug(1)
    await csms201.wait_until(lambda: csms201.events()[-1]["eventType"] == "Ended")
    events = csms201.events()
    assert events[-1]["triggerReason"] == "EVCommunicationLost"
    assert events[-1]["transactionInfo"]["stoppedReason"] == "EVDisconnected"
    one_transaction(events)
    await until(lambda: cp.store.queue_length() == 0)
    assert cp.store.open_transactions() == []


async def test_e01_ev_connected_start_ends_when_unplugged_unauthorized(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(**{"TxCtrlr.TxStartPoint": "EVConnected"})
    await registered(cp, csms201)
    assert cp.bench is not None
    cp.bench.plug(1)
    await event_count(csms201, 1)
    cp.bench.unplug(1)
    events = await event_count(csms201, 2)
    assert brief(events) == [("Started", "CablePluggedIn", "EVConnected"),
                             ("Ended", "EVCommunicationLost", "Idle")]
    assert events[1]["transactionInfo"]["stoppedReason"] == "EVDisconnected"
    assert not any("idToken" in e for e in events)
    one_transaction(events)
    await until(lambda: cp.store.queue_length() == 0)
    assert cp.store.open_transactions() == []


async def test_e02_authorized_start_before_the_ev_then_cable_plugged_in(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(**{"TxCtrlr.TxStartPoint": "Authorized"})
    await registered(cp, csms201)
    assert cp.bench is not None
    cp.bench.tap(TAG)  # no EV yet
    started = (await event_count(csms201, 1))[0]
    assert brief([started]) == [("Started", "Authorized", "Idle")]
    assert started["idToken"] == CARD
    cp.bench.plug(1)
    events = await event_count(csms201, 3)
    assert brief(events[1:3]) == [("Updated", "CablePluggedIn", "EVConnected"),
                                  ("Updated", "ChargingStateChanged", "Charging")]
    cp.bench.tap(TAG)  # stop with the same card
    await csms201.wait_until(lambda: csms201.events()[-1]["eventType"] == "Ended")
    events = csms201.events()
    ended = events[-1]
    assert (ended["triggerReason"], ended["transactionInfo"]["stoppedReason"]) == (
        "StopAuthorized", "Local")
    assert ended["transactionInfo"]["chargingState"] == "EVConnected"
    assert ended["idToken"] == CARD
    one_transaction(events)


async def test_e02_authorized_start_with_ev_connected_first(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(**{"TxCtrlr.TxStartPoint": "Authorized"})
    await registered(cp, csms201)
    assert cp.bench is not None
    cp.bench.plug(1)
    await until(lambda: connector(cp).status.value == "Preparing")  # the core saw the EV
    cp.bench.tap(TAG)
    events = await event_count(csms201, 2)
    assert brief(events[:2]) == [("Started", "Authorized", "EVConnected"),
                                 ("Updated", "ChargingStateChanged", "Charging")]
    assert events[0]["idToken"] == CARD


async def test_e03_authorized_start_ends_with_ev_connect_timeout(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(**{"TxCtrlr.TxStartPoint": "Authorized",
                             "TxCtrlr.EVConnectionTimeOut": 1})
    await registered(cp, csms201)
    assert cp.bench is not None
    cp.bench.tap(TAG)
    events = await event_count(csms201, 2)
    assert brief(events) == [("Started", "Authorized", "Idle"),
                             ("Ended", "EVConnectTimeout", "Idle")]
    assert events[1]["transactionInfo"]["stoppedReason"] == "Timeout"
    one_transaction(events)
    await until(lambda: cp.store.queue_length() == 0)
    assert cp.store.open_transactions() == []


async def test_e06_stop_point_ev_connected_keeps_the_transaction_after_a_card_stop(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(**{"TxCtrlr.TxStopPoint": "EVConnected"})
    await registered(cp, csms201)
    assert cp.bench is not None
    cp.bench.plug(1)
    cp.bench.tap(TAG)
    await charging(cp)
    await event_count(csms201, 1)
    cp.bench.tap(TAG)  # energy stops, the transaction goes on until the EV leaves
    events = await event_count(csms201, 2)
    assert brief(events[1:2]) == [("Updated", "StopAuthorized", "EVConnected")]
    await until(lambda: not cp.controller.hardware_of(1).contactor.commanded_closed)
    cp.bench.unplug(1)
    events = await event_count(csms201, 3)
    ended = events[2]
    assert brief([ended]) == [("Ended", "EVCommunicationLost", "Idle")]
    assert ended["transactionInfo"]["stoppedReason"] == "EVDisconnected"
    assert ended["idToken"] == CARD  # the card that ended the authorization
    one_transaction(events)


async def test_e06_stop_point_energy_transfer_ends_when_the_ev_suspends(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(**{"TxCtrlr.TxStopPoint": "EnergyTransfer"})
    await registered(cp, csms201)
    assert cp.bench is not None
    cp.bench.plug(1)
    cp.bench.tap(TAG)
    await charging(cp)
    await event_count(csms201, 1)
    cp.bench.ev(1, "pause")
    events = await event_count(csms201, 2)
    assert brief(events) == [("Started", "ChargingStateChanged", "Charging"),
                             ("Ended", "ChargingStateChanged", "EVConnected")]
    assert events[1]["transactionInfo"]["stoppedReason"] == "StoppedByEV"
    one_transaction(events)
    cp.bench.ev(1, "charge")  # the same session: no second transaction
    await charging(cp)
    cp.bench.unplug(1)
    await until(lambda: connector(cp).status.value == "Available")
    await until(lambda: cp.store.queue_length() == 0)
    assert len(csms201.events()) == 2


async def test_e_charging_state_changed_suspended_ev_and_back(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await registered(cp, csms201)
    assert cp.bench is not None
    cp.bench.plug(1)
    cp.bench.tap(TAG)
    await charging(cp)
    await event_count(csms201, 1)
    cp.bench.ev(1, "pause")
    await event_count(csms201, 2)
    cp.bench.ev(1, "charge")
    await event_count(csms201, 3)
    cp.bench.tap(TAG)
    await csms201.wait_until(lambda: csms201.events()[-1]["eventType"] == "Ended")
    events = csms201.events()
    assert brief(events) == [("Started", "ChargingStateChanged", "Charging"),
                             ("Updated", "ChargingStateChanged", "SuspendedEV"),
                             ("Updated", "ChargingStateChanged", "Charging"),
                             ("Ended", "StopAuthorized", "EVConnected")]
    one_transaction(events)  # no SuspendedEVSE blip while the card stop winds down


async def test_f01_remote_start_after_ev_connected_start_is_an_updated(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(**{"TxCtrlr.TxStartPoint": "EVConnected",
                             "AuthCtrlr.AuthorizeRemoteStart": False})
    await registered(cp, csms201)
    assert cp.bench is not None
    cp.bench.plug(1)
    await event_count(csms201, 1)
    result = await csms201.send(call.RequestStartTransaction(
        id_token={"idToken": TAG, "type": "Central"}, remote_start_id=9, evse_id=1))
    assert result.status == "Accepted"
    events = await event_count(csms201, 2)
    updated = events[1]
    assert (updated["eventType"], updated["triggerReason"]) == ("Updated", "RemoteStart")
    assert updated["transactionInfo"]["remoteStartId"] == 9
    assert updated["idToken"]["idToken"] == TAG


async def test_b12_on_idle_reset_waits_for_an_ev_connected_transaction(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(**{"TxCtrlr.TxStartPoint": "EVConnected"})
    await registered(cp, csms201)
    assert cp.bench is not None
    cp.bench.plug(1)  # a 2.0.1 transaction, none of the core's (no authorization)
    await event_count(csms201, 1)
    result = await csms201.send(call.Reset(type="OnIdle"))
    assert result.status == "Scheduled"
    assert cp.controller.restart is None
    cp.bench.unplug(1)
    await until(lambda: cp.controller.restart == "soft")
    assert cp.store.open_transactions() == []  # Ended was stored before the restart
    await csms201.wait_until(lambda: csms201.events()[-1]["eventType"] == "Ended")
