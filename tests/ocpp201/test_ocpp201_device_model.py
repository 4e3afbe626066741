"""OCPP 2.0.1 device model and provisioning requests (blocks B, G) from the CSMS side:
GetVariables, SetVariables (persisted, winning over ``[ocpp.variables]`` after a reboot),
GetBaseReport -> NotifyReport (paged), Reset and ChangeAvailability."""

from __future__ import annotations

from typing import Any

from ocpp.v201 import call

from chargepoint.ocpp201.device_model import VARIABLES
from chargepoint.ocpp201.reports import REPORT_PAGE
from tests.fullstack import until
from tests.ocpp201.conftest import Cp201Maker
from tests.ocpp201.csms import Csms201


def ref(component: str, variable: str) -> dict[str, Any]:
    return {"component": {"name": component}, "variable": {"name": variable}}


async def ready(cp: Any, csms: Csms201) -> None:
    await until(lambda: cp.adapter.link_state().registration == "Accepted")
    await csms.wait_for("StatusNotification")


async def get(csms: Csms201, component: str, variable: str) -> dict[str, Any]:
    result = await csms.send(call.GetVariables(get_variable_data=[ref(component, variable)]))
    return dict(result.get_variable_result[0])


async def test_get_variables_answers_each_item(csms201: Csms201,
                                               make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(**{"TxCtrlr.EVConnectionTimeOut": 90})
    await ready(cp, csms201)
    result = await csms201.send(call.GetVariables(get_variable_data=[
        ref("TxCtrlr", "EVConnectionTimeOut"), ref("TxCtrlr", "TxStartPoint"),
        ref("TxCtrlr", "Nope"), ref("NoCtrlr", "X"),
        {**ref("AuthCtrlr", "LocalPreAuthorize"), "attributeType": "Target"}]))
    answers = [(r["attribute_status"], r.get("attribute_value"))
               for r in result.get_variable_result]
    assert answers == [("Accepted", "90"), ("Accepted", "PowerPathClosed"),
                       ("UnknownVariable", None), ("UnknownComponent", None),
                       ("NotSupportedAttributeType", None)]


async def test_set_variables_checks_persists_and_wins_after_reboot(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(**{"SampledDataCtrlr.TxUpdatedInterval": 10})
    await ready(cp, csms201)
    result = await csms201.send(call.SetVariables(set_variable_data=[
        {**ref("SampledDataCtrlr", "TxUpdatedInterval"), "attributeValue": "30"},
        {**ref("TxCtrlr", "TxStopPoint"), "attributeValue": "EVConnected"},
        {**ref("OCPPCommCtrlr", "MessageTimeout"), "attributeValue": "5"},
        {**ref("TxCtrlr", "TxStartPoint"), "attributeValue": "Sunrise"},
        {**ref("AuthCtrlr", "AuthorizeRemoteStart"), "attributeValue": "maybe"},
        {**ref("NoCtrlr", "X"), "attributeValue": "1"}]))
    assert [r["attribute_status"] for r in result.set_variable_result] == [
        "Accepted", "Accepted", "Rejected", "Rejected", "Rejected", "UnknownComponent"]
    assert (await get(csms201, "SampledDataCtrlr", "TxUpdatedInterval"))[
        "attribute_value"] == "30"
    await cp.stop()
    again = await make_cp201(**{"SampledDataCtrlr.TxUpdatedInterval": 10})
    await csms201.wait_for("BootNotification", 2)
    await until(lambda: again.adapter.link_state().registration == "Accepted")
    assert (await get(csms201, "SampledDataCtrlr", "TxUpdatedInterval"))[
        "attribute_value"] == "30"
    assert (await get(csms201, "TxCtrlr", "TxStopPoint"))["attribute_value"] == "EVConnected"


async def test_ev_connection_timeout_reaches_the_core(csms201: Csms201,
                                                      make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await ready(cp, csms201)
    await csms201.send(call.SetVariables(set_variable_data=[
        {**ref("TxCtrlr", "EVConnectionTimeOut"), "attributeValue": "45"}]))
    await until(lambda: cp.controller.station.settings.connection_timeout_s == 45.0)


async def test_base_report_comes_in_pages(csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await ready(cp, csms201)
    result = await csms201.send(call.GetBaseReport(request_id=5,
                                                   report_base="ConfigurationInventory"))
    assert result.status == "Accepted"
    pages = -(-len(VARIABLES) // REPORT_PAGE)
    reports = [f.payload for f in await csms201.wait_for("NotifyReport", pages)]
    assert [r["seqNo"] for r in reports] == list(range(pages))
    assert [r["tbc"] for r in reports] == [True] * (pages - 1) + [False]
    assert {r["requestId"] for r in reports} == {5}
    entries = [e for r in reports for e in r["reportData"]]
    keys = {f'{e["component"]["name"]}.{e["variable"]["name"]}': e for e in entries}
    assert set(keys) == set(VARIABLES)
    timeout = keys["OCPPCommCtrlr.MessageTimeout"]["variableAttribute"][0]
    assert timeout["mutability"] == "ReadOnly"
    assert keys["TxCtrlr.TxStartPoint"]["variableCharacteristics"]["dataType"] == "MemberList"


async def test_change_availability_of_an_evse(csms201: Csms201,
                                              make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await ready(cp, csms201)
    result = await csms201.send(call.ChangeAvailability(
        operational_status="Inoperative", evse={"id": 1}))
    assert result.status == "Accepted"
    await csms201.wait_until(lambda: csms201.calls("StatusNotification")[-1].payload[
        "connectorStatus"] == "Unavailable")
    assert cp.store.availability().get(1) is False
    back = await csms201.send(call.ChangeAvailability(operational_status="Operative",
                                                      evse={"id": 1}))
    assert back.status == "Accepted"
    await csms201.wait_until(lambda: csms201.calls("StatusNotification")[-1].payload[
        "connectorStatus"] == "Available")
    wrong = await csms201.send(call.ChangeAvailability(
        operational_status="Inoperative", evse={"id": 9}))
    assert wrong.status == "Rejected"


async def test_reset_restarts_and_boots_with_remote_reset(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await ready(cp, csms201)
    result = await csms201.send(call.Reset(type="Immediate"))
    assert result.status == "Accepted"
    await until(lambda: cp.controller.restart is not None)
    await cp.stop()
    await make_cp201()
    boots = await csms201.wait_for("BootNotification", 2)
    assert boots[1].payload["reason"] == "RemoteReset"
    assert (await csms201.send(call.Reset(type="Immediate", evse_id=9))).status == "Rejected"


async def test_on_idle_reset_waits_for_the_transaction(csms201: Csms201,
                                                       make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await ready(cp, csms201)
    assert cp.bench is not None
    cp.bench.plug(1)
    cp.bench.tap("04A1B2C3")
    await csms201.wait_until(lambda: csms201.events())
    result = await csms201.send(call.Reset(type="OnIdle"))
    assert result.status == "Scheduled"
    assert cp.controller.restart is None  # the transaction runs on
    cp.bench.unplug(1)
    await until(lambda: cp.controller.restart == "soft")
    await csms201.wait_until(lambda: csms201.events()[-1]["eventType"] == "Ended")
    assert csms201.events()[-1]["transactionInfo"]["stoppedReason"] == "EVDisconnected"
