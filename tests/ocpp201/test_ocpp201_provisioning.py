"""OCPP 2.0.1 provisioning (block B) against a loopback 2.0.1 CSMS, the full station on the
simulated bench: BootNotification, Heartbeat, StatusNotification per EVSE."""

from __future__ import annotations

from typing import Any

import pytest
from ocpp.v201 import call

from chargepoint.config import ConfigError, config_from_toml
from tests.fullstack import until
from tests.ocpp201.conftest import Cp201Maker, toml201
from tests.ocpp201.csms import Csms201


def statuses(csms: Csms201, evse: int = 1) -> list[str]:
    return [f.payload["connectorStatus"] for f in csms.calls("StatusNotification")
            if f.payload["evseId"] == evse]


async def test_boot_status_and_heartbeat(csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(connectors=2)
    boots = await csms201.wait_for("BootNotification")
    assert csms201.subprotocols == ["ocpp2.0.1"]
    assert boots[0].payload["reason"] == "PowerUp"
    assert boots[0].payload["chargingStation"]["model"]
    await csms201.wait_until(lambda: statuses(csms201, 1) and statuses(csms201, 2))
    for frame in csms201.calls("StatusNotification"):
        assert frame.payload["connectorId"] == 1
        assert frame.payload["connectorStatus"] == "Available"
    assert cp.adapter.link_state().version == "2.0.1"
    assert cp.adapter.link_state().registration == "Accepted"
    await cp.adapter.ping()
    assert len(csms201.calls("Heartbeat")) == 1
    status = await cp.status()
    assert status["ocpp"]["version"] == "2.0.1"


async def test_pending_boot_sends_nothing_else_until_accepted(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    csms201.boot_status, csms201.interval = "Pending", 1
    cp = await make_cp201()
    await csms201.wait_for("BootNotification")
    await until(lambda: cp.adapter.link_state().registration == "Pending")
    assert not csms201.calls("StatusNotification")
    csms201.boot_status = "Accepted"
    await csms201.wait_for("BootNotification", 2)
    await csms201.wait_until(lambda: statuses(csms201))
    assert [f.action for f in csms201.calls()][:2] == ["BootNotification"] * 2


async def test_rejected_boot_is_retried_after_interval(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    csms201.boot_status, csms201.interval = "Rejected", 1
    cp = await make_cp201()
    await csms201.wait_for("BootNotification", 2)
    assert cp.adapter.link_state().registration == "Rejected"
    assert not csms201.calls("StatusNotification")
    assert not csms201.calls("Heartbeat")


async def test_boot_interval_becomes_the_heartbeat_interval(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    csms201.interval = 120
    await make_cp201(**{"OCPPCommCtrlr.HeartbeatInterval": 600})
    await csms201.wait_until(lambda: statuses(csms201))
    result = await csms201.send(call.GetVariables(get_variable_data=[
        {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]))
    assert result.get_variable_result[0]["attribute_value"] == "120"


async def test_statuses_follow_the_connector(csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await csms201.wait_until(lambda: statuses(csms201) == ["Available"])
    assert cp.bench is not None
    cp.bench.plug(1)
    await csms201.wait_until(lambda: statuses(csms201)[-1:] == ["Occupied"])
    cp.bench.unplug(1)
    await csms201.wait_until(lambda: statuses(csms201)[-1:] == ["Available"])


@pytest.mark.parametrize(("key", "value", "problem"), [
    ("OCPPCommCtrlr.Nope", 1, "unknown variable"),
    ("NoSuchCtrlr.HeartbeatInterval", 1, "unknown component"),
    ("OCPPCommCtrlr.HeartbeatInterval", "soon", "must be an integer"),
    ("TxCtrlr.TxStartPoint", "Sunrise", "unknown value"),
    ("OCPPCommCtrlr.MessageTimeout", 0, "at least 1"),
])
def test_bad_variables_are_config_errors(tmp_path: Any, key: str, value: object,
                                         problem: str) -> None:
    with pytest.raises(ConfigError) as err:
        config_from_toml(toml201("ws://127.0.0.1:1/ocpp", tmp_path, 1, {key: value}))
    assert key in str(err.value)
    assert problem in str(err.value)


def test_variables_are_read_as_wire_strings(tmp_path: Any) -> None:
    config = config_from_toml(toml201("ws://127.0.0.1:1/ocpp", tmp_path, 1, {
        "AuthCtrlr.AuthorizeRemoteStart": False, "SampledDataCtrlr.TxUpdatedInterval": 10,
        "TxCtrlr.TxStartPoint": "Authorized,EVConnected"}))
    assert config.ocpp.variables == {"AuthCtrlr.AuthorizeRemoteStart": "false",
                                     "SampledDataCtrlr.TxUpdatedInterval": "10",
                                     "TxCtrlr.TxStartPoint": "Authorized,EVConnected"}


# -- B11 / B12: Reset of one EVSE


async def _registered(cp: Any, csms: Csms201) -> None:
    await until(lambda: cp.adapter.link_state().registration == "Accepted")
    await csms.wait_for("StatusNotification")


async def test_b11_reset_one_evse_immediate_ends_its_transaction_without_a_restart(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    """B11/B12 with evseId, Immediate: Accepted, the EVSE's transaction ends with
    stoppedReason ImmediateReset (triggerReason ResetCommand), the station does not restart
    and the EVSE is back in service; an unknown EVSE is Rejected."""
    cp = await make_cp201(connectors=2)
    await _registered(cp, csms201)
    assert cp.bench is not None
    cp.bench.plug(1)
    cp.bench.tap("04A1B2C3")
    await csms201.wait_until(lambda: csms201.events())
    assert (await csms201.send(call.Reset(type="Immediate", evse_id=9))).status == "Rejected"
    result = await csms201.send(call.Reset(type="Immediate", evse_id=1))
    assert result.status == "Accepted"
    ended = await csms201.wait_until(lambda: next(
        (e for e in csms201.events() if e["eventType"] == "Ended"), None))
    assert ended["transactionInfo"]["stoppedReason"] == "ImmediateReset"
    assert ended["triggerReason"] == "ResetCommand"
    assert cp.controller.restart is None
    cp.bench.unplug(1)
    await csms201.wait_until(lambda: statuses(csms201, 1)[-1:] == ["Available"])
    assert cp.controller.restart is None
    assert "Unavailable" not in statuses(csms201, 2)


async def test_b12_reset_one_evse_on_idle_is_scheduled_while_its_transaction_runs(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    """B12 with evseId, OnIdle: Accepted for an idle EVSE, Scheduled for the EVSE with a
    transaction, which runs on to its normal end; no restart follows."""
    cp = await make_cp201(connectors=2)
    await _registered(cp, csms201)
    assert cp.bench is not None
    cp.bench.plug(1)
    cp.bench.tap("04A1B2C3")
    await csms201.wait_until(lambda: csms201.events())
    assert (await csms201.send(call.Reset(type="OnIdle", evse_id=2))).status == "Accepted"
    assert (await csms201.send(call.Reset(type="OnIdle", evse_id=1))).status == "Scheduled"
    assert csms201.events()[-1]["eventType"] != "Ended"
    cp.bench.unplug(1)
    await csms201.wait_until(lambda: csms201.events()[-1]["eventType"] == "Ended")
    assert csms201.events()[-1]["transactionInfo"]["stoppedReason"] == "EVDisconnected"
    assert cp.controller.restart is None
