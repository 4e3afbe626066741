"""OCTT 2.0.1 charging-station cases of blocks A (security), E (transactions), F (remote
control), J (meter values) and M (certificate management) that no other 2.0.1 test covers,
named ``test_tc_<block>_<nn>``: the full station on the simulated bench against the loopback
2.0.1 CSMS (tests/ocpp201). Each test follows the main steps of its case and checks what the
case checks; J08 is a strict xfail describing where the station deviates."""

from __future__ import annotations

import asyncio
import ssl
import time
import warnings
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from ocpp.v201 import call

from chargepoint.app import RunningStation, start_station
from chargepoint.config import config_from_toml
from chargepoint.ocpp201.adapter import Ocpp201Adapter
from chargepoint.ocpp201.security import SecurityHandlers
from chargepoint.security.certificates import hash_data
from tests.firmware.fw_helpers import Route, http_peer, iso, make_release, refused_port
from tests.fullstack import charging, free, until
from tests.ocpp201.conftest import Cp201Maker, toml201
from tests.ocpp201.csms import Csms201
from tests.ocpp201.test_ocpp201_security import profile, raised
from tests.security.peers import tls_server
from tests.security.pki import Ca

TAG = "04A1B2C3"
CARD = {"idToken": TAG, "type": "ISO14443"}
CENTRAL = {"idToken": TAG, "type": "Central"}


async def registered(cp: RunningStation, csms: Csms201) -> None:
    await until(lambda: cp.adapter.link_state().registration == "Accepted")
    await csms.wait_for("StatusNotification")


async def event_count(csms: Csms201, count: int) -> list[dict[str, Any]]:
    await csms.wait_until(lambda: len(csms.events()) >= count)
    return csms.events()


async def ended(csms: Csms201) -> dict[str, Any]:
    await csms.wait_until(lambda: csms.events() and csms.events()[-1]["eventType"] == "Ended")
    return csms.events()[-1]


def brief(events: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(e["eventType"], e["triggerReason"], e["transactionInfo"]["chargingState"])
            for e in events]


def stop_reasons(event: dict[str, Any]) -> tuple[str, str]:
    return event["triggerReason"], event["transactionInfo"]["stoppedReason"]


def one_transaction(events: list[dict[str, Any]]) -> None:
    assert [e["seqNo"] for e in events] == list(range(len(events)))
    assert len({e["transactionInfo"]["transactionId"] for e in events}) == 1


def status(cp: RunningStation) -> str:
    return str(cp.controller.station.snapshot().connectors[0].status.value)


def connector_statuses(csms: Csms201) -> list[str]:
    return [f.payload["connectorStatus"] for f in csms.calls("StatusNotification")
            if f.payload["evseId"] == 1]


async def charging_session(cp: RunningStation, csms: Csms201) -> dict[str, Any]:
    """Plug, card, charging; returns the Started."""
    assert cp.bench is not None
    cp.bench.plug(1)
    cp.bench.tap(TAG)
    await charging(cp)
    return (await event_count(csms, 1))[0]


async def offline(cp: RunningStation, csms: Csms201) -> None:
    await until(lambda: cp.store.queue_length() == 0)
    await csms.stop()  # the port is kept: start() comes back on the same address
    await until(lambda: not cp.adapter.link_state().connected)


async def charging_session_offline(cp: RunningStation) -> None:
    """Plug, card, charging while the CSMS is away (the Started waits in the store)."""
    assert cp.bench is not None
    cp.bench.plug(1)
    cp.bench.tap(TAG)
    await charging(cp)
    await until(lambda: cp.store.queue_length() == 1)  # the Started, kept


@pytest.fixture
async def quick(csms201: Csms201, tmp_path: Path) -> AsyncIterator[Cp201Maker]:
    """Like ``make_cp201``, but a CALL unanswered for 1 s times out (E41, E42)."""
    started: list[RunningStation] = []

    async def make(**variables: Any) -> RunningStation:
        text = toml201(csms201.url, tmp_path, 1, variables).replace(
            "response_timeout_s = 3", "response_timeout_s = 1")
        running = await start_station(config_from_toml(text))
        started.append(running)
        return running

    yield make
    for running in started:
        await running.stop()


# -- A: security --------------------------------------------------------------------------

async def test_tc_a_06_tls_version_too_low(tmp_path: Path) -> None:
    """A06 (security profile 2): a CSMS that speaks at most TLS 1.1 is refused in the
    handshake (TLS 1.2 at least): security event InvalidTLSVersion, no WebSocket."""
    ca = Ca.make()
    context = ca.server_context(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = ssl.TLSVersion.TLSv1_1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    with tls_server(context) as port:
        cp = await start_station(config_from_toml(toml201(
            f"wss://127.0.0.1:{port}/ocpp", tmp_path, 1, {}, ocpp=profile(2, tmp_path, ca))))
        try:
            assert cp.security_events is not None
            await raised(cp.security_events, "InvalidTLSVersion")
            assert not cp.adapter.link_state().connected
        finally:
            await cp.stop()


# -- E: transactions -------------------------------------------------------------------------

async def test_tc_e_04_authorization_first(csms201: Csms201, make_cp201: Cp201Maker) -> None:
    """E04: card first (Authorize), then the cable: Occupied, Started with the idToken once
    the power path closes (TxStartPoint PowerPathClosed)."""
    cp = await make_cp201()
    await registered(cp, csms201)
    assert cp.bench is not None
    cp.bench.tap(TAG)
    (authorize,) = await csms201.wait_for("Authorize")
    assert authorize.payload["idToken"] == CARD
    assert csms201.events() == []
    cp.bench.plug(1)
    await charging(cp)
    started = (await event_count(csms201, 1))[0]
    assert brief([started]) == [("Started", "ChargingStateChanged", "Charging")]
    assert started["idToken"] == CARD
    assert started["evse"] == {"id": 1, "connectorId": 1}
    assert "Occupied" in connector_statuses(csms201)


async def test_tc_e_05_authorization_first_cable_plugin_timeout(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    """E05 with TxStartPoint PowerPathClosed: no cable within EVConnectionTimeOut, the
    authorization lapses; no transaction was started, so no TransactionEvent, and a cable
    plugged in afterwards does not charge."""
    cp = await make_cp201(**{"TxCtrlr.EVConnectionTimeOut": 1})
    await registered(cp, csms201)
    assert cp.bench is not None
    cp.bench.tap(TAG)
    await csms201.wait_for("Authorize")
    await until(lambda: status(cp) == "Preparing")  # authorized, waiting for the cable
    await until(lambda: status(cp) == "Available", timeout=5)
    cp.bench.plug(1)
    await csms201.wait_until(lambda: connector_statuses(csms201)[-1] == "Occupied")
    await until(lambda: status(cp) == "Preparing")
    assert not cp.controller.hardware_of(1).contactor.commanded_closed
    assert csms201.events() == []


@pytest.mark.parametrize("stop_point", ["PowerPathClosed", "Authorized", "EnergyTransfer"])
async def test_tc_e_07_e_08_e_15_local_stop_with_the_stop_point(
        csms201: Csms201, make_cp201: Cp201Maker, stop_point: str) -> None:
    """E07 (TxStopPoint PowerPathClosed), E15 (Authorized), E08 (EnergyTransfer): the card
    that started the transaction stops it: Ended with triggerReason StopAuthorized,
    stoppedReason Local and that idToken."""
    cp = await make_cp201(**{"TxCtrlr.TxStopPoint": stop_point})
    await registered(cp, csms201)
    await charging_session(cp, csms201)
    assert cp.bench is not None
    cp.bench.tap(TAG)
    last = await ended(csms201)
    assert stop_reasons(last) == ("StopAuthorized", "Local")
    assert last["idToken"] == CARD
    events = csms201.events()
    assert [e["eventType"] for e in events] == ["Started", "Ended"]
    one_transaction(events)
    await until(lambda: not cp.controller.hardware_of(1).contactor.commanded_closed)


@pytest.mark.parametrize("stop_point", ["EVConnected", "PowerPathClosed", "Authorized"])
async def test_tc_e_14_e_17_e_20_e_37_unplugged_with_the_stop_point(
        csms201: Csms201, make_cp201: Cp201Maker, stop_point: str) -> None:
    """E14, E20 (TxStopPoint EVConnected), E37 (PowerPathClosed), E17 (Authorized): the cable
    is pulled while charging (the station sees either end of the cable leave as the same
    pilot change): Ended with triggerReason EVCommunicationLost, stoppedReason
    EVDisconnected, then the EVSE is Available."""
    cp = await make_cp201(**{"TxCtrlr.TxStopPoint": stop_point})
    await registered(cp, csms201)
    await charging_session(cp, csms201)
    assert cp.bench is not None
    cp.bench.unplug(1)
    last = await ended(csms201)
    assert stop_reasons(last) == ("EVCommunicationLost", "EVDisconnected")
    assert last["transactionInfo"]["chargingState"] == "Idle"
    one_transaction(csms201.events())
    await csms201.wait_until(lambda: connector_statuses(csms201)[-1] == "Available")


def lock_locked(cp: RunningStation) -> bool:
    return bool(cp.controller.station.snapshot().connectors[0].lock_locked)


async def test_tc_e_24_ev_side_disconnect_ends_and_unlocks(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    """E24 (TxCtrlr.StopTxOnEVSideDisconnect and OCPPCommCtrlr.UnlockOnEVSideDisconnect
    true, the defaults): the EV leaves while the cable is locked in the socket: Ended
    (EVCommunicationLost, EVDisconnected) and the cable is unlocked."""
    cp = await make_cp201()
    await registered(cp, csms201)
    await charging_session(cp, csms201)
    assert lock_locked(cp)
    assert cp.bench is not None
    cp.bench.unplug(1)
    last = await ended(csms201)
    assert stop_reasons(last) == ("EVCommunicationLost", "EVDisconnected")
    await until(lambda: not lock_locked(cp))


async def test_tc_e_25_ev_side_disconnect_suspends_the_transaction(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    """E25 (StopTxOnEVSideDisconnect false, TxStopPoint Authorized): the EV leaves: the
    transaction goes on without energy (no Ended, the contactor opens, the cable stays
    locked); the EV comes back and charges in the same transaction; the card ends it."""
    cp = await make_cp201(**{"TxCtrlr.StopTxOnEVSideDisconnect": False,
                             "TxCtrlr.TxStopPoint": "Authorized"})
    await registered(cp, csms201)
    await charging_session(cp, csms201)
    assert cp.bench is not None
    cp.bench.unplug(1)
    await until(lambda: not cp.controller.hardware_of(1).contactor.commanded_closed)
    away = await csms201.wait_until(lambda: [
        e for e in csms201.events()[1:] if e["triggerReason"] == "ChargingStateChanged"])
    assert away[0]["eventType"] == "Updated"
    assert lock_locked(cp)
    cp.bench.plug(1)
    await charging(cp)
    await csms201.wait_until(lambda: csms201.events()[-1]["transactionInfo"][
        "chargingState"] == "Charging" and len(csms201.events()) >= 3)
    cp.bench.tap(TAG)
    last = await ended(csms201)
    assert stop_reasons(last) == ("StopAuthorized", "Local")
    events = csms201.events()
    assert [e["eventType"] for e in events].count("Ended") == 1
    one_transaction(events)


async def test_tc_e_25_with_stop_point_ev_connected_the_ev_leaving_ends_both(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    """StopTxOnEVSideDisconnect false but TxStopPoint EVConnected (the default stop points):
    the EV leaving ends the 2.0.1 transaction and the core's, so the EV coming back gets no
    energy outside a transaction."""
    cp = await make_cp201(**{"TxCtrlr.StopTxOnEVSideDisconnect": False})
    await registered(cp, csms201)
    await charging_session(cp, csms201)
    assert cp.bench is not None
    cp.bench.unplug(1)
    last = await ended(csms201)
    assert stop_reasons(last) == ("EVCommunicationLost", "EVDisconnected")
    await until(lambda: cp.controller.station.snapshot().connectors[0].session is None)
    await until(lambda: free(cp))  # the EV comes back once the socket is free again
    cp.bench.plug(1)
    await until(lambda: status(cp) == "Preparing")
    assert not cp.controller.hardware_of(1).contactor.commanded_closed
    assert len(csms201.events()) == 2


async def test_tc_e_26_ev_side_disconnect_keeps_the_cable_locked(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    """E26 (OCPPCommCtrlr.UnlockOnEVSideDisconnect false): the EV leaves: Ended
    (EVDisconnected), the cable stays locked in the socket (Occupied) until UnlockConnector
    frees it (Available)."""
    cp = await make_cp201(**{"OCPPCommCtrlr.UnlockOnEVSideDisconnect": False})
    await registered(cp, csms201)
    await charging_session(cp, csms201)
    assert cp.bench is not None
    cp.bench.unplug(1)
    last = await ended(csms201)
    assert stop_reasons(last) == ("EVCommunicationLost", "EVDisconnected")
    await until(lambda: cp.controller.station.snapshot().connectors[0].session is None)
    assert lock_locked(cp)
    assert connector_statuses(csms201)[-1] == "Occupied"  # the cable is still in the socket
    result = await csms201.send(call.UnlockConnector(evse_id=1, connector_id=1))
    assert result.status == "Unlocked"
    await until(lambda: not lock_locked(cp))
    await csms201.wait_until(lambda: connector_statuses(csms201)[-1] == "Available")


@pytest.mark.parametrize("start_point", ["PowerPathClosed", "EnergyTransfer"])
async def test_tc_e_38_ev_not_ready(csms201: Csms201, make_cp201: Cp201Maker,
                                    start_point: str) -> None:
    """E38: cable in and authorized, but the EV does not ask for energy: the pilot offers
    current, no transaction starts (TxStartPoint PowerPathClosed / EnergyTransfer); once the
    EV is ready the contactor closes and Started follows (ChargingStateChanged, Charging)."""
    cp = await make_cp201(**{"TxCtrlr.TxStartPoint": start_point})
    await registered(cp, csms201)
    assert cp.bench is not None
    cp.bench.plug(1)
    cp.bench.ev(1, "pause")
    cp.bench.tap(TAG)
    await csms201.wait_for("Authorize")
    await until(lambda: cp.controller.station.snapshot().connectors[0].session is not None
                and cp.controller.station.snapshot().connectors[0].pwm_a is not None)
    await until(lambda: cp.store.queue_length() == 0)
    assert csms201.events() == []
    assert not cp.controller.hardware_of(1).contactor.commanded_closed
    cp.bench.ev(1, "charge")
    await charging(cp)
    started = (await event_count(csms201, 1))[0]
    assert brief([started]) == [("Started", "ChargingStateChanged", "Charging")]
    assert started["idToken"] == CARD


async def test_tc_e_13_authorized_remote_start(csms201: Csms201,
                                               make_cp201: Cp201Maker) -> None:
    """E13 (TxStartPoint Authorized): RequestStartTransaction starts the transaction before
    the cable (triggerReason RemoteStart, remoteStartId, the CSMS's idToken); the cable
    follows as CablePluggedIn."""
    cp = await make_cp201(**{"TxCtrlr.TxStartPoint": "Authorized",
                             "AuthCtrlr.AuthorizeRemoteStart": False})
    await registered(cp, csms201)
    result = await csms201.send(call.RequestStartTransaction(
        id_token=CENTRAL, remote_start_id=13, evse_id=1))
    assert result.status == "Accepted"
    started = (await event_count(csms201, 1))[0]
    assert brief([started]) == [("Started", "RemoteStart", "Idle")]
    assert started["transactionInfo"]["remoteStartId"] == 13
    assert started["idToken"] == CENTRAL
    assert cp.bench is not None
    cp.bench.plug(1)
    events = await event_count(csms201, 3)
    assert brief(events[1:3]) == [("Updated", "CablePluggedIn", "EVConnected"),
                                  ("Updated", "ChargingStateChanged", "Charging")]
    one_transaction(events)


async def test_tc_e_16_deauthorized_by_the_transaction_event_response(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    """E16 (TxStopPoint Authorized): the CSMS answers the Started with idTokenInfo Invalid:
    the station stops the energy and ends the transaction with triggerReason Deauthorized,
    stoppedReason DeAuthorized."""
    csms201.event_token_status[TAG] = "Invalid"
    cp = await make_cp201(**{"TxCtrlr.TxStopPoint": "Authorized"})
    await registered(cp, csms201)
    assert cp.bench is not None
    cp.bench.plug(1)
    cp.bench.tap(TAG)  # (the contactor may open again before a poll sees it closed)
    last = await ended(csms201)
    assert csms201.events()[0]["transactionInfo"]["chargingState"] == "Charging"
    assert stop_reasons(last) == ("Deauthorized", "DeAuthorized")
    one_transaction(csms201.events())
    await until(lambda: not cp.controller.hardware_of(1).contactor.commanded_closed)


@pytest.mark.parametrize("stop_point", ["Authorized", "PowerPathClosed"])
async def test_tc_e_21_e_35_remote_stop_with_the_stop_point(
        csms201: Csms201, make_cp201: Cp201Maker, stop_point: str) -> None:
    """E21 (TxStopPoint Authorized), E35 (PowerPathClosed): RequestStopTransaction: Accepted,
    Ended with triggerReason RemoteStop, stoppedReason Remote."""
    cp = await make_cp201(**{"TxCtrlr.TxStopPoint": stop_point})
    await registered(cp, csms201)
    started = await charging_session(cp, csms201)
    result = await csms201.send(call.RequestStopTransaction(
        transaction_id=started["transactionInfo"]["transactionId"]))
    assert result.status == "Accepted"
    last = await ended(csms201)
    assert stop_reasons(last) == ("RemoteStop", "Remote")
    one_transaction(csms201.events())
    await until(lambda: not cp.controller.hardware_of(1).contactor.commanded_closed)


async def transaction_status(csms: Csms201, transaction_id: str | None = None
                             ) -> tuple[bool, bool | None]:
    result = await csms.send(call.GetTransactionStatus(transaction_id=transaction_id))
    return result.messages_in_queue, result.ongoing_indicator


async def test_tc_e_28_to_e_34_get_transaction_status_confirmed_messages(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    """E28-E34 with every message confirmed: no transaction (no id: nothing queued, no
    ongoingIndicator), an unknown id, an ongoing transaction, an ended one."""
    cp = await make_cp201()
    await registered(cp, csms201)
    assert await transaction_status(csms201) == (False, None)
    assert await transaction_status(csms201, "unknown-tx") == (False, False)
    started = await charging_session(cp, csms201)
    tx_id = started["transactionInfo"]["transactionId"]
    await until(lambda: cp.store.queue_length() == 0)
    assert await transaction_status(csms201, tx_id) == (False, True)
    assert await transaction_status(csms201) == (False, None)
    assert cp.bench is not None
    cp.bench.unplug(1)
    await ended(csms201)
    await until(lambda: cp.store.queue_length() == 0)
    assert await transaction_status(csms201, tx_id) == (False, False)


async def test_tc_e_28_to_e_34_get_transaction_status_with_messages_in_queue(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    """E28-E34 while a TransactionEvent waits for its confirmation: messagesInQueue true for
    the transaction (ongoing, then ended) and without an id."""
    cp = await make_cp201()
    await registered(cp, csms201)
    csms201.drop_events = 1  # the Started waits (3 s timeout, then 10 s to the retry)
    started = await charging_session(cp, csms201)
    tx_id = started["transactionInfo"]["transactionId"]
    assert await transaction_status(csms201, tx_id) == (True, True)
    assert await transaction_status(csms201) == (True, None)
    await until(lambda: cp.store.queue_length() == 0, timeout=20)  # the retry is confirmed
    assert await transaction_status(csms201, tx_id) == (False, True)
    csms201.drop_events = 1  # now the Ended waits
    assert cp.bench is not None
    cp.bench.unplug(1)
    await ended(csms201)
    assert await transaction_status(csms201, tx_id) == (True, False)
    assert await transaction_status(csms201) == (True, None)


async def test_tc_e_41_no_answer_retried_until_message_attempts(
        csms201: Csms201, quick: Cp201Maker) -> None:
    """E41: the CSMS never answers the Started: it is sent MessageAttempts times (the same
    seqNo), MessageAttemptInterval x attempt apart, then given up; the link stays up and the
    next message of the transaction follows."""
    cp = await quick(**{"OCPPCommCtrlr.MessageAttempts": 2,
                        "OCPPCommCtrlr.MessageAttemptInterval": 1})
    await registered(cp, csms201)
    csms201.drop_events = 2
    await charging_session(cp, csms201)
    loop = asyncio.get_running_loop()
    await event_count(csms201, 1)
    first = loop.time()
    await event_count(csms201, 2)
    assert loop.time() - first >= 1.5  # 1 s without an answer, then 1 s x 1
    await until(lambda: cp.store.queue_length() == 0)
    assert cp.bench is not None
    cp.bench.tap(TAG)
    last = await ended(csms201)
    events = csms201.events()
    assert [(e["eventType"], e["seqNo"]) for e in events] == [
        ("Started", 0), ("Started", 0), ("Ended", 1)]
    assert events[0] == events[1]
    assert stop_reasons(last) == ("StopAuthorized", "Local")
    assert len(csms201.subprotocols) == 1  # no reconnect


async def test_tc_e_42_no_answer_then_success_on_the_retry(
        csms201: Csms201, quick: Cp201Maker) -> None:
    """E42: the first attempt of the Started is not answered, the second is: sent twice,
    then the transaction goes on (its Ended follows with seqNo 1)."""
    cp = await quick(**{"OCPPCommCtrlr.MessageAttempts": 3,
                        "OCPPCommCtrlr.MessageAttemptInterval": 1})
    await registered(cp, csms201)
    csms201.drop_events = 1
    await charging_session(cp, csms201)
    await event_count(csms201, 2)
    await until(lambda: cp.store.queue_length() == 0)
    assert cp.bench is not None
    cp.bench.unplug(1)
    await ended(csms201)
    events = csms201.events()
    assert [(e["eventType"], e["seqNo"]) for e in events] == [
        ("Started", 0), ("Started", 0), ("Ended", 1)]
    assert len(csms201.subprotocols) == 1


async def test_tc_e_50_call_error_retried_until_message_attempts(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    """E50: every attempt of the Started gets a CALLERROR: MessageAttempts attempts,
    MessageAttemptInterval x attempt number apart (1 s, 2 s), then it is given up."""
    cp = await make_cp201(**{"OCPPCommCtrlr.MessageAttempts": 3,
                             "OCPPCommCtrlr.MessageAttemptInterval": 1})
    await registered(cp, csms201)
    csms201.refuse_events = 3
    await charging_session(cp, csms201)
    loop = asyncio.get_running_loop()
    times = []
    for count in (1, 2, 3):
        await event_count(csms201, count)
        times.append(loop.time())
    await until(lambda: cp.store.queue_length() == 0)
    assert times[1] - times[0] >= 0.8 and times[2] - times[1] >= 1.8
    assert [e["seqNo"] for e in csms201.events()] == [0, 0, 0]
    assert len(csms201.errors_sent()) == 3


async def test_tc_e_51_call_error_then_success_on_the_retry(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    """E51: the first attempt gets a CALLERROR, the retry is confirmed; the transaction goes
    on with the next seqNo."""
    cp = await make_cp201(**{"OCPPCommCtrlr.MessageAttempts": 3,
                             "OCPPCommCtrlr.MessageAttemptInterval": 1})
    await registered(cp, csms201)
    csms201.refuse_events = 1
    await charging_session(cp, csms201)
    await event_count(csms201, 2)
    await until(lambda: cp.store.queue_length() == 0)
    assert cp.bench is not None
    cp.bench.unplug(1)
    await ended(csms201)
    assert [(e["eventType"], e["seqNo"]) for e in csms201.events()] == [
        ("Started", 0), ("Started", 0), ("Ended", 1)]
    assert len(csms201.errors_sent()) == 1


async def test_tc_e_43_transaction_during_an_offline_period(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    """E43: a whole session while the CSMS cannot be reached (the unknown card is allowed
    offline): after the reconnect its Started and Ended arrive in order, offline true,
    seqNo continuous, each once."""
    cp = await make_cp201(**{"AuthCtrlr.OfflineTxForUnknownIdEnabled": True})
    await registered(cp, csms201)
    await offline(cp, csms201)
    await charging_session_offline(cp)
    assert cp.bench is not None
    cp.bench.unplug(1)
    await until(lambda: cp.store.queue_length() == 2)
    await csms201.start()
    last = await ended(csms201)
    await until(lambda: cp.store.queue_length() == 0)
    events = csms201.events()
    assert [e["eventType"] for e in events] == ["Started", "Ended"]
    assert [e["offline"] for e in events] == [True, True]
    assert events[0]["idToken"] == CARD
    assert stop_reasons(last) == ("EVCommunicationLost", "EVDisconnected")
    one_transaction(events)


async def test_tc_e_44_stop_transaction_during_an_offline_period(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    """E44: started online, the connection is lost, the same card stops the transaction
    offline: after the reconnect the Ended (StopAuthorized, Local, offline true) is sent."""
    cp = await make_cp201()
    await registered(cp, csms201)
    await charging_session(cp, csms201)
    await offline(cp, csms201)
    assert cp.bench is not None
    cp.bench.tap(TAG)
    await until(lambda: not cp.controller.hardware_of(1).contactor.commanded_closed)
    await until(lambda: cp.store.queue_length() == 1)
    await csms201.start()
    last = await ended(csms201)
    assert stop_reasons(last) == ("StopAuthorized", "Local")
    assert last["offline"] is True
    assert last["idToken"] == CARD
    one_transaction(csms201.events())
    assert len(csms201.calls("Authorize")) == 1  # the start's only


async def test_tc_e_45_stop_offline_with_the_same_group_id(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    """E45: started online by a card of group G; offline another card of the local list
    with the same groupIdToken stops it: Ended (StopAuthorized, Local, offline true) with
    that card's idToken."""
    other = "0A0B0C0D"
    csms201.token_groups[TAG] = "GROUP-45"
    cp = await make_cp201()
    await registered(cp, csms201)
    result = await csms201.send(call.SendLocalList(version_number=1, update_type="Full",
                                                   local_authorization_list=[{
        "idToken": {"idToken": other, "type": "ISO14443"},
        "idTokenInfo": {"status": "Accepted",
                        "groupIdToken": {"idToken": "GROUP-45", "type": "Central"}}}]))
    assert result.status == "Accepted"
    await charging_session(cp, csms201)
    await offline(cp, csms201)
    assert cp.bench is not None
    cp.bench.tap(other)
    await until(lambda: not cp.controller.hardware_of(1).contactor.commanded_closed)
    await csms201.start()
    last = await ended(csms201)
    assert stop_reasons(last) == ("StopAuthorized", "Local")
    assert last["offline"] is True
    assert last["idToken"] == {"idToken": other, "type": "ISO14443"}
    one_transaction(csms201.events())


# -- F: remote control ------------------------------------------------------------------------

@pytest.mark.parametrize("authorize", [True, False])
async def test_tc_f_02_f_03_remote_start_first(
        csms201: Csms201, make_cp201: Cp201Maker, authorize: bool) -> None:
    """F02 (AuthorizeRemoteStart true: Authorize first), F03 (false: none): the remote start
    comes before the cable; Started (triggerReason RemoteStart, remoteStartId) once the
    cable is in and the power path closes."""
    cp = await make_cp201(**{"AuthCtrlr.AuthorizeRemoteStart": authorize})
    await registered(cp, csms201)
    result = await csms201.send(call.RequestStartTransaction(
        id_token=CENTRAL, remote_start_id=23))
    assert result.status == "Accepted"
    if authorize:
        (request,) = await csms201.wait_for("Authorize")
        assert request.payload["idToken"] == CENTRAL
    await until(lambda: status(cp) == "Preparing")  # authorized, waiting for the cable
    assert cp.bench is not None
    cp.bench.plug(1)
    await charging(cp)
    started = (await event_count(csms201, 1))[0]
    assert (started["eventType"], started["triggerReason"]) == ("Started", "RemoteStart")
    assert started["transactionInfo"]["remoteStartId"] == 23
    assert started["idToken"] == CENTRAL
    assert bool(csms201.calls("Authorize")) is authorize


async def test_tc_f_04_remote_start_first_cable_plugin_timeout(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    """F04 (TxStartPoint Authorized): remote start, no cable within EVConnectionTimeOut:
    Started (RemoteStart), then Ended with triggerReason EVConnectTimeout, stoppedReason
    Timeout; the EVSE is free again."""
    cp = await make_cp201(**{"TxCtrlr.TxStartPoint": "Authorized",
                             "TxCtrlr.EVConnectionTimeOut": 1,
                             "AuthCtrlr.AuthorizeRemoteStart": False})
    await registered(cp, csms201)
    result = await csms201.send(call.RequestStartTransaction(
        id_token=CENTRAL, remote_start_id=4, evse_id=1))
    assert result.status == "Accepted"
    events = await event_count(csms201, 2)
    assert brief(events) == [("Started", "RemoteStart", "Idle"),
                             ("Ended", "EVConnectTimeout", "Idle")]
    assert events[1]["transactionInfo"]["stoppedReason"] == "Timeout"
    one_transaction(events)
    await until(lambda: status(cp) == "Available")


async def test_tc_f_06_unlock_with_a_cable_and_no_transaction(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    """F06: a cable is in, no transaction: UnlockConnector is Unlocked."""
    cp = await make_cp201()
    await registered(cp, csms201)
    assert cp.bench is not None
    cp.bench.plug(1)
    await csms201.wait_until(lambda: connector_statuses(csms201)[-1] == "Occupied")
    result = await csms201.send(call.UnlockConnector(evse_id=1, connector_id=1))
    assert result.status == "Unlocked"
    assert csms201.events() == []


async def test_tc_f_24_trigger_status_notification_occupied(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    """F24: TriggerMessage StatusNotification for the EVSE and connector with a cable in:
    Accepted, then StatusNotification Occupied."""
    cp = await make_cp201()
    await registered(cp, csms201)
    assert cp.bench is not None
    cp.bench.plug(1)
    await csms201.wait_until(lambda: connector_statuses(csms201)[-1] == "Occupied")
    before = len(csms201.calls("StatusNotification"))
    result = await csms201.send(call.TriggerMessage(
        requested_message="StatusNotification", evse={"id": 1, "connector_id": 1}))
    assert result.status == "Accepted"
    sent = (await csms201.wait_for("StatusNotification", before + 1))[-1].payload
    assert (sent["evseId"], sent["connectorId"], sent["connectorStatus"]) == (1, 1, "Occupied")


async def test_tc_f_16_trigger_log_status_notification_uploading(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    """F16: TriggerMessage LogStatusNotification while a GetLog upload is under way (here
    waiting between its attempts): Accepted, LogStatusNotification Uploading with the
    request's requestId."""
    cp = await make_cp201()
    await registered(cp, csms201)
    answer = await csms201.send(call.GetLog(
        log={"remoteLocation": f"ftp://127.0.0.1:{refused_port()}/"}, log_type="SecurityLog",
        request_id=16, retries=3, retry_interval=600))
    assert answer.status == "Accepted"
    await csms201.wait_for("LogStatusNotification")
    result = await csms201.send(call.TriggerMessage(requested_message="LogStatusNotification"))
    assert result.status == "Accepted"
    sent = await csms201.wait_for("LogStatusNotification", 2)
    assert [f.payload for f in sent] == [{"status": "Uploading", "requestId": 16}] * 2


async def test_tc_f_17_f_19_trigger_firmware_status_notification_downloading(
        csms201: Csms201, make_cp201: Cp201Maker, tmp_path: Path) -> None:
    """F19: TriggerMessage FirmwareStatusNotification while the firmware downloads:
    Downloading with the requestId; F17: an ``evse`` in the request is not relevant to this
    message and is ignored (Accepted, the same notification)."""
    (tmp_path / "releases" / "1.0.0").mkdir(parents=True)
    (tmp_path / "releases" / "current").symlink_to("1.0.0")
    with http_peer() as http:
        http.routes["/fw.tar.gz"] = Route(make_release("1.1.0"), mode="slow")  # never ends
        cp = await make_cp201(extra=f"""
[firmware]
releases_dir = "{tmp_path / 'releases'}"
roots_dir = "{tmp_path / 'roots'}"
allow_unsigned = true
""")
        await registered(cp, csms201)
        answer = await csms201.send(call.UpdateFirmware(request_id=19, firmware={
            "location": http.url("/fw.tar.gz"), "retrieveDateTime": iso(time.time())}))
        assert answer.status == "Accepted"
        await csms201.wait_until(lambda: [f.payload["status"] for f in csms201.calls(
            "FirmwareStatusNotification")][-1:] == ["Downloading"])
        before = len(csms201.calls("FirmwareStatusNotification"))
        for evse in (None, {"id": 1}):
            result = await csms201.send(call.TriggerMessage(
                requested_message="FirmwareStatusNotification", evse=evse))
            assert result.status == "Accepted", evse
            before += 1
            sent = (await csms201.wait_for("FirmwareStatusNotification", before))[-1]
            assert sent.payload == {"status": "Downloading", "requestId": 19}
        await cp.stop()


# -- J: meter values --------------------------------------------------------------------------

async def test_tc_j_06_no_aligned_values_during_a_transaction(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    """J06 (AlignedDataCtrlr.SendDuringIdle true): clock-aligned MeterValues while idle, none
    (no MeterValues, no MeterValueClock Updated) while the transaction runs, again after."""
    cp = await make_cp201(**{"AlignedDataCtrlr.Interval": 1,
                             "AlignedDataCtrlr.SendDuringIdle": True,
                             "SampledDataCtrlr.TxUpdatedInterval": 1})
    await registered(cp, csms201)
    await csms201.wait_for("MeterValues")
    started = await charging_session(cp, csms201)
    await event_count(csms201, 4)  # Started and 3 periodic Updated: 3 boundaries passed
    assert cp.bench is not None
    cp.bench.unplug(1)
    last = await ended(csms201)
    after = len(csms201.calls("MeterValues")) + 1
    await csms201.wait_for("MeterValues", after)
    during = [f for f in csms201.calls("MeterValues")
              if started["timestamp"] <= f.payload["meterValue"][0]["timestamp"]
              <= last["timestamp"]]
    assert during == []
    assert not [e for e in csms201.events() if e["triggerReason"] == "MeterValueClock"]


@pytest.mark.xfail(strict=True, reason="an authorization before the EV (TxStartPoint "
                   "Authorized) on a station with several EVSEs opens its transaction on "
                   "EVSE 1; the EV plugged into another EVSE ends it (Deauthorized) and a "
                   "second transaction starts there")
async def test_tc_j_08_transaction_begin_when_the_evse_is_not_known(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    """J08 (TxStartPoint Authorized, two EVSEs): the card comes before the EV, so the EVSE is
    not known: Started without ``evse``; once the EV is in EVSE 2 the same transaction goes
    on with an Updated naming EVSE 2 that carries the Transaction.Begin meter values."""
    cp = await make_cp201(connectors=2, **{"TxCtrlr.TxStartPoint": "Authorized"})
    await registered(cp, csms201)
    await until(lambda: cp.controller.meter_reading(2) is not None)
    assert cp.bench is not None
    cp.bench.tap(TAG)
    started = (await event_count(csms201, 1))[0]
    assert "evse" not in started
    cp.bench.plug(2)
    events = await event_count(csms201, 2)
    assert events[1]["eventType"] == "Updated"
    assert events[1]["evse"] == {"id": 2, "connectorId": 1}
    assert "Transaction.Begin" in {v["context"] for m in events[1]["meterValue"]
                                   for v in m["sampledValue"]}
    await charging(cp, 2)
    assert "Ended" not in [e["eventType"] for e in csms201.events()]
    one_transaction(csms201.events())


# -- M: certificate management ----------------------------------------------------------------

def _hash(cert: Any, issuer_key: Any) -> dict[str, str]:
    found = hash_data(cert, issuer_key)
    return {"hash_algorithm": found.hash_algorithm, "issuer_name_hash": found.issuer_name_hash,
            "issuer_key_hash": found.issuer_key_hash, "serial_number": found.serial_number}


def _serials(result: Any) -> list[tuple[str, str]]:
    return sorted((c["certificate_type"], c["certificate_hash_data"]["serial_number"])
                  for c in result.certificate_hash_data_chain)


async def test_tc_m_12_to_m_19_installed_certificate_ids_by_type(
        csms201: Csms201, make_cp201: Cp201Maker, tmp_path: Path) -> None:
    """M12-M19: GetInstalledCertificateIds per type asked for: each root type alone, several
    types, none (all); the 15118 types the station never holds: NotFound."""
    cp = await make_cp201(extra=f'[firmware]\nroots_dir = "{tmp_path / "fw-roots"}"\n')
    await registered(cp, csms201)
    csms_root, maker = Ca.make("CSMS Root"), Ca.make("Maker Root")
    for kind, root in (("CSMSRootCertificate", csms_root),
                       ("ManufacturerRootCertificate", maker)):
        assert (await csms201.send(call.InstallCertificate(
            certificate_type=kind, certificate=root.pem))).status == "Accepted"
    csms_id = ("CSMSRootCertificate", _hash(csms_root.cert, csms_root.cert.public_key())[
        "serial_number"])
    maker_id = ("ManufacturerRootCertificate", _hash(maker.cert, maker.cert.public_key())[
        "serial_number"])
    for asked, expected in ((["CSMSRootCertificate"], [csms_id]),
                            (["ManufacturerRootCertificate"], [maker_id]),
                            (["CSMSRootCertificate", "ManufacturerRootCertificate",
                              "V2GRootCertificate"], sorted([csms_id, maker_id])),
                            (None, sorted([csms_id, maker_id]))):
        result = await csms201.send(call.GetInstalledCertificateIds(certificate_type=asked))
        assert result.status == "Accepted", asked
        assert _serials(result) == expected, asked
    for kind in ("V2GRootCertificate", "MORootCertificate", "V2GCertificateChain"):
        result = await csms201.send(call.GetInstalledCertificateIds(certificate_type=[kind]))
        assert result.status == "NotFound", kind


async def test_tc_m_07_install_an_invalid_root_is_rejected(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    """M07: an expired root certificate is Rejected and not installed (a leaf or no
    certificate at all: test_ocpp201_security.py::test_m05_install_certificate)."""
    cp = await make_cp201()
    await registered(cp, csms201)
    expired = Ca.make("Expired Root", days=-1)
    result = await csms201.send(call.InstallCertificate(
        certificate_type="CSMSRootCertificate", certificate=expired.pem))
    assert result.status == "Rejected"
    result = await csms201.send(call.GetInstalledCertificateIds(
        certificate_type=["CSMSRootCertificate"]))
    assert result.status == "NotFound"


def _security(cp: RunningStation) -> SecurityHandlers:
    assert isinstance(cp.adapter, Ocpp201Adapter)
    return next(h for h in cp.adapter.extra_handlers if isinstance(h, SecurityHandlers))


async def test_tc_m_23_the_charging_station_certificate_cannot_be_deleted(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    """M23: DeleteCertificate naming the station's own ChargingStationCertificate (installed
    by CertificateSigned) is Failed; the certificate stays."""
    cp = await make_cp201(**{"SecurityCtrlr.OrganizationName": "Test CPO"})
    await registered(cp, csms201)
    ca = Ca.make("CSMS Root")
    assert (await csms201.send(call.InstallCertificate(
        certificate_type="CSMSRootCertificate", certificate=ca.pem))).status == "Accepted"
    assert await _security(cp).trigger_sign_certificate()
    (sign,) = await csms201.wait_for("SignCertificate")
    signed = ca.sign_csr(sign.payload["csr"])
    assert (await csms201.send(call.CertificateSigned(certificate_chain=signed))
            ).status == "Accepted"
    leaf = x509.load_pem_x509_certificate(signed.encode())
    result = await csms201.send(call.DeleteCertificate(
        certificate_hash_data=_hash(leaf, ca.cert.public_key())))
    assert result.status == "Failed"
    pair = _security(cp).identity.client_pair()
    assert pair is not None and x509.load_pem_x509_certificates(pair[0].read_bytes())[0] == leaf
