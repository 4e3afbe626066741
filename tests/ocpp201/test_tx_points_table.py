"""``chargepoint.ocpp201.tx_points.TxPoints`` alone (pure): the TxStartPoint / TxStopPoint
decisions of E01-E03, E06, E07 fed with what the core reports, no station, no clock."""

from __future__ import annotations

import itertools

from chargepoint.core.types import ConnectorStatus
from chargepoint.ocpp201.tx_points import TxMessage, TxPoints


def points(start: str, stop: str = "EVConnected,Authorized") -> TxPoints:
    ids = (f"tx{i}" for i in itertools.count(1))
    return TxPoints(1, lambda: start.split(","), lambda: stop.split(","), lambda: next(ids))


def brief(messages: list[TxMessage]) -> list[tuple[str, str, str]]:
    return [(m.event_type, m.trigger, m.charging_state) for m in messages]


def test_e01_power_path_closed_waits_for_the_contactor() -> None:
    tx = points("PowerPathClosed")
    assert tx.plugged(1, 0) == []
    assert tx.core_started(1, "TAG", False, None, 1, 10.0) == []
    assert tx.status(1, ConnectorStatus.PREPARING, 1) == []
    started = tx.power_path(1, True, 2)
    assert brief(started) == [("Started", "ChargingStateChanged", "Charging")]
    assert started[0].id_tag == "TAG" and started[0].transaction_id == "tx1"
    assert tx.status(1, ConnectorStatus.CHARGING, 2) == []
    ended = tx.unplugged(1, 3)
    assert brief(ended) == [("Ended", "EVCommunicationLost", "Idle")]
    assert ended[0].stopped_reason == "EVDisconnected"
    assert tx.core_stopped(1, "EVDisconnected", "EVCommunicationLost", None,
                           "EVDisconnected", 3, 11.0) == []
    assert tx.open_transaction(1) is None


def test_e01_core_transaction_without_power_path_leaves_nothing() -> None:
    tx = points("PowerPathClosed")
    tx.plugged(1, 0)
    tx.core_started(1, "TAG", False, None, 1, 10.0)
    assert tx.core_stopped(1, "Local", "StopAuthorized", "TAG", "Local", 2, 10.0) == []
    assert tx.status(1, ConnectorStatus.FINISHING, 2) == []
    assert tx.unplugged(1, 3) == []
    assert tx.status(1, ConnectorStatus.AVAILABLE, 3) == []


def test_e02_authorized_before_ev_then_timeout() -> None:
    tx = points("Authorized")
    tx.event_seen(("TAG", False))
    started = tx.status(1, ConnectorStatus.PREPARING, 0)
    assert brief(started) == [("Started", "Authorized", "Idle")]
    tx.event_seen(timer=True)
    ended = tx.status(1, ConnectorStatus.AVAILABLE, 60)
    assert brief(ended) == [("Ended", "EVConnectTimeout", "Idle")]
    assert ended[0].stopped_reason == "Timeout"


def test_e02_remote_start_reports_its_id_once() -> None:
    tx = points("EVConnected")
    assert brief(tx.plugged(1, 0)) == [("Started", "CablePluggedIn", "EVConnected")]
    tx.expect_remote_start(1, 7)
    updated = tx.core_started(1, "TAG", False, None, 1, 0.0)
    assert brief(updated) == [("Updated", "RemoteStart", "EVConnected")]
    assert (updated[0].remote_start_id, updated[0].id_tag) == (7, "TAG")


def test_e06_energy_transfer_suspension_ends_and_no_second_transaction() -> None:
    tx = points("PowerPathClosed", "EnergyTransfer")
    tx.plugged(1, 0)
    tx.core_started(1, "TAG", False, None, 1, 0.0)
    assert len(tx.power_path(1, True, 2)) == 1
    tx.power_path(1, False, 3)
    ended = tx.status(1, ConnectorStatus.SUSPENDED_EV, 3)
    assert brief(ended) == [("Ended", "ChargingStateChanged", "EVConnected")]
    assert ended[0].stopped_reason == "StoppedByEV"
    assert tx.power_path(1, True, 4) == []  # the same session goes on: no new transaction
    assert tx.status(1, ConnectorStatus.CHARGING, 4) == []


def test_e07_stopping_core_shows_no_suspended_evse_blip() -> None:
    tx = points("PowerPathClosed")
    tx.plugged(1, 0)
    tx.core_started(1, "TAG", False, None, 1, 0.0)
    tx.power_path(1, True, 2)
    tx.core_stopping(1)
    assert tx.status(1, ConnectorStatus.SUSPENDED_EVSE, 3) == []
    assert tx.power_path(1, False, 3) == []
    ended = tx.core_stopped(1, "Local", "StopAuthorized", "TAG", "Local", 3, 1.0)
    assert brief(ended) == [("Ended", "StopAuthorized", "EVConnected")]
    assert ended[0].id_tag == "TAG"
