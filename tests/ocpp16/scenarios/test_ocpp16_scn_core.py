"""OCTT 1.6 charge point cases: boot, sessions, remote control, reset, unlock, config."""

from __future__ import annotations

from ocpp.v16 import call

from chargepoint.core.events import AuthorizationResult
from tests.fullstack import (
    CpMaker,
    charging,
    registered,
    start_session,
    status_reached,
    statuses,
    until,
)
from tests.ocpp16.csms import Csms


async def test_001_cold_boot(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    await status_reached(csms, "Available", 1)
    await status_reached(csms, "Available", 0)
    assert csms.calls()[0].action == "BootNotification"


async def test_002_cold_boot_pending(csms: Csms, make_cp: CpMaker) -> None:
    csms.boot_status = "Pending"
    cp = await make_cp()
    await csms.wait_for("BootNotification")
    result = await csms.send(call.GetConfiguration(key=["HeartbeatInterval"]))
    assert result.configuration_key
    assert {f.action for f in csms.calls()} == {"BootNotification"}
    csms.boot_status = "Accepted"
    result = await csms.send(call.TriggerMessage(requested_message="BootNotification"))
    assert result.status == "Accepted"
    await registered(cp)
    await status_reached(csms, "Available", 1)


async def test_003_regular_session_plug_first(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    assert cp.bench is not None
    cp.bench.plug(1)
    await status_reached(csms, "Preparing")
    cp.bench.tap("AA000003")
    start = (await csms.wait_for("StartTransaction"))[0].payload
    assert start["idTag"] == "AA000003"
    await status_reached(csms, "Charging")
    cp.bench.tap("AA000003")
    stop = (await csms.wait_for("StopTransaction"))[0].payload
    assert stop["reason"] == "Local" and stop["transactionId"] == 100
    cp.bench.unplug(1)
    await csms.wait_until(lambda: statuses(csms)[-1:] == ["Available"] and len(statuses(csms)) > 3)
    assert statuses(csms) == ["Available", "Preparing", "Charging", "Finishing", "Available"]
    assert [f.action for f in csms.calls()].count("Authorize") == 1


async def test_004_1_identification_first(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    assert cp.bench is not None
    cp.bench.tap("AA000041")
    await status_reached(csms, "Preparing")
    cp.bench.plug(1)
    await csms.wait_for("StartTransaction")
    await charging(cp)


async def test_004_2_connection_timeout(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp(ConnectionTimeOut=1)
    await registered(cp)
    assert cp.bench is not None
    cp.bench.tap("AA000042")
    await status_reached(csms, "Preparing")
    await csms.wait_until(lambda: statuses(csms)[-1] == "Available" and len(statuses(csms)) >= 3)
    assert csms.calls("StartTransaction") == []


async def test_005_1_ev_side_disconnect(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp(StopTransactionOnEVSideDisconnect=True)
    await registered(cp)
    await start_session(cp, "AA000051")
    cp.bench.unplug(1)
    stop = (await csms.wait_for("StopTransaction"))[0].payload
    assert stop["reason"] == "EVDisconnected"


async def test_010_remote_start_cable_first(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    assert cp.bench is not None
    cp.bench.plug(1)
    await status_reached(csms, "Preparing")
    result = await csms.send(call.RemoteStartTransaction(id_tag="REMOTE10", connector_id=1))
    assert result.status == "Accepted"
    start = (await csms.wait_for("StartTransaction"))[0].payload
    assert start["idTag"] == "REMOTE10"
    await charging(cp)


async def test_011_1_remote_start_first(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    assert cp.bench is not None
    result = await csms.send(call.RemoteStartTransaction(id_tag="REMOTE11", connector_id=1))
    assert result.status == "Accepted"
    cp.bench.plug(1)
    await csms.wait_for("StartTransaction")
    await charging(cp)


async def test_012_remote_stop(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    assert cp.bench is not None
    cp.bench.plug(1)
    cp.bench.tap("AA000012")
    await csms.wait_for("StartTransaction")
    await until(lambda: cp.store.transaction_by_csms_id("100") is not None)
    result = await csms.send(call.RemoteStopTransaction(transaction_id=100))
    assert result.status == "Accepted"
    stop = (await csms.wait_for("StopTransaction"))[0].payload
    assert stop["reason"] == "Remote" and stop["transactionId"] == 100


async def test_013_014_reset_without_transaction(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    result = await csms.send(call.Reset(type="Hard"))
    assert result.status == "Accepted"
    await until(lambda: cp.controller.restart == "hard")
    assert csms.calls("StopTransaction") == []


async def test_015_016_reset_with_transaction(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    assert cp.bench is not None
    cp.bench.plug(1)
    cp.bench.tap("AA000015")
    await csms.wait_for("StartTransaction")
    result = await csms.send(call.Reset(type="Soft"))
    assert result.status == "Accepted"
    stop = (await csms.wait_for("StopTransaction"))[0].payload
    assert stop["reason"] == "SoftReset"
    await until(lambda: cp.controller.restart == "soft")


async def test_017_unlock_without_session(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    result = await csms.send(call.UnlockConnector(connector_id=1))
    assert result.status in ("Unlocked", "NotSupported")  # NotSupported: fixed cable


async def test_018_unlock_with_session(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    assert cp.bench is not None
    cp.bench.plug(1)
    cp.bench.tap("AA000018")
    await csms.wait_for("StartTransaction")
    result = await csms.send(call.UnlockConnector(connector_id=1))
    assert result.status == "Unlocked"
    stop = (await csms.wait_for("StopTransaction"))[0].payload
    assert stop["reason"] == "UnlockCommand"


async def test_019_021_040_configuration(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    result = await csms.send(call.GetConfiguration())
    keys = {kv["key"] for kv in result.configuration_key}
    assert {"HeartbeatInterval", "ConnectionTimeOut", "NumberOfConnectors",
            "SupportedFeatureProfiles", "MeterValueSampleInterval"} <= keys
    result = await csms.send(call.ChangeConfiguration(key="MeterValueSampleInterval",
                                                      value="30"))
    assert result.status == "Accepted"
    result = await csms.send(call.GetConfiguration(key=["MeterValueSampleInterval"]))
    assert result.configuration_key[0]["value"] == "30"
    assert (await csms.send(call.ChangeConfiguration(key="Xyz", value="1"))).status == (
        "NotSupported")
    assert (await csms.send(call.ChangeConfiguration(key="MeterValueSampleInterval",
                                                     value="-3"))).status == "Rejected"


async def test_023_authorize_invalid(csms: Csms, make_cp: CpMaker) -> None:
    csms.tag_status["BAD0BAD0"] = "Invalid"
    cp = await make_cp()
    await registered(cp)
    assert cp.bench is not None
    seen: list[object] = []
    cp.controller.listeners.append(seen.append)
    cp.bench.plug(1)
    cp.bench.tap("BAD0BAD0")
    await until(lambda: any(isinstance(e, AuthorizationResult) for e in seen))
    assert csms.calls("StartTransaction") == []
    cp.bench.tap("600D600D")
    start = (await csms.wait_for("StartTransaction"))[0].payload
    assert start["idTag"] == "600D600D"


async def test_026_027_028_remote_rejections(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    assert cp.bench is not None
    cp.bench.plug(1)
    cp.bench.tap("AA000026")
    await csms.wait_for("StartTransaction")
    await charging(cp)
    result = await csms.send(call.RemoteStartTransaction(id_tag="OTHER", connector_id=1))
    assert result.status == "Rejected"  # 026 busy
    result = await csms.send(call.RemoteStartTransaction(id_tag="OTHER", connector_id=0))
    assert result.status == "Rejected"  # 027
    result = await csms.send(call.RemoteStopTransaction(transaction_id=4242))
    assert result.status == "Rejected"  # 028


async def test_031_unlock_unknown_connector(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    result = await csms.send(call.UnlockConnector(connector_id=2))
    assert result.status == "NotSupported"


async def test_068_stop_with_same_id_tag(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    assert cp.bench is not None
    cp.bench.plug(1)
    cp.bench.tap("AA000068")
    await csms.wait_for("StartTransaction")
    await charging(cp)
    cp.bench.tap("AA000068")
    stop = (await csms.wait_for("StopTransaction"))[0].payload
    assert stop["idTag"] == "AA000068" and stop["reason"] == "Local"
