"""OCPP 2.0.1 device-model reports from the CSMS side: B07 GetBaseReport (Configuration-,
Full- and SummaryInventory) and B08 GetReport (by componentVariable, by componentCriteria,
both, nothing matching), each sent as paged NotifyReports."""

from __future__ import annotations

from typing import Any

from ocpp.v201 import call

from chargepoint.ocpp201.device_model import VARIABLES
from chargepoint.ocpp201.reports import REPORT_PAGE
from tests.fullstack import until
from tests.ocpp201.conftest import Cp201Maker
from tests.ocpp201.csms import Csms201


async def ready(cp: Any, csms: Csms201) -> None:
    await until(lambda: cp.adapter.link_state().registration == "Accepted")
    await csms.wait_for("StatusNotification", cp.adapter.port.connector_count)


async def report(csms: Csms201, request_id: int) -> list[dict[str, Any]]:
    """The NotifyReports of ``request_id``, once the last one (tbc false) came."""
    def done() -> list[dict[str, Any]] | None:
        pages = [f.payload for f in csms.calls("NotifyReport")
                 if f.payload["requestId"] == request_id]
        return pages if any(not p.get("tbc") for p in pages) else None

    pages: list[dict[str, Any]] = await csms.wait_until(done)
    assert [p["seqNo"] for p in pages] == list(range(len(pages)))
    assert [p["tbc"] for p in pages] == [True] * (len(pages) - 1) + [False]
    assert all(len(p["reportData"]) <= REPORT_PAGE for p in pages)
    return [entry for p in pages for entry in p["reportData"]]


def where(entry: dict[str, Any]) -> tuple[str, int | None, int | None, str]:
    component = entry["component"]
    evse = component.get("evse") or {}
    return (component["name"], evse.get("id"), evse.get("connectorId"),
            entry["variable"]["name"])


def entry_at(entries: list[dict[str, Any]], component: str, evse: int | None,
          connector: int | None, variable: str) -> dict[str, Any]:
    return next(e for e in entries if where(e) == (component, evse, connector, variable))


HARDWARE_2 = {  # ChargingStation, EVSE 1-2 and their connectors
    ("ChargingStation", None, None, v) for v in ("AvailabilityState", "Available", "Problem")
} | {
    ("EVSE", n, None, v) for n in (1, 2)
    for v in ("AvailabilityState", "Available", "Power", "Problem")
} | {
    ("Connector", n, 1, v) for n in (1, 2)
    for v in ("AvailabilityState", "Available", "ConnectorType", "SupplyPhases", "Problem")
}


async def test_b07_configuration_inventory_reports_the_controllers(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await ready(cp, csms201)
    result = await csms201.send(call.GetBaseReport(request_id=11,
                                                   report_base="ConfigurationInventory"))
    assert result.status == "Accepted"
    entries = await report(csms201, 11)
    assert {f"{e['component']['name']}.{e['variable']['name']}" for e in entries} == set(
        VARIABLES)
    assert all("evse" not in e["component"] for e in entries)


async def test_b07_full_inventory_adds_evses_and_connectors(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(connectors=2)
    await ready(cp, csms201)
    result = await csms201.send(call.GetBaseReport(request_id=12, report_base="FullInventory"))
    assert result.status == "Accepted"
    entries = await report(csms201, 12)
    places = {where(e) for e in entries}
    assert places >= HARDWARE_2
    assert {f"{n}.{v}" for n, e, c, v in places if n not in (
        "ChargingStation", "EVSE", "Connector")} == set(VARIABLES)
    power = entry_at(entries, "EVSE", 1, None, "Power")
    assert power["variableCharacteristics"]["unit"] == "W"
    assert power["variableCharacteristics"]["maxLimit"] == 32.0 * 230 * 3
    assert power["variableAttribute"][0]["mutability"] == "ReadOnly"
    kind = entry_at(entries, "Connector", 2, 1, "ConnectorType")
    assert kind["variableAttribute"][0]["value"] == "sType2"  # the station has a lock
    assert kind["variableCharacteristics"]["dataType"] == "OptionList"
    phases = entry_at(entries, "Connector", 1, 1, "SupplyPhases")
    assert phases["variableAttribute"][0]["value"] == "3"
    state = entry_at(entries, "EVSE", 2, None, "AvailabilityState")
    assert state["variableAttribute"][0]["value"] == "Available"


async def test_b07_summary_inventory_is_availability_and_problems(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(connectors=2)
    await ready(cp, csms201)
    assert cp.bench is not None
    cp.bench.plug(2)
    await csms201.wait_until(lambda: any(
        f.payload["evseId"] == 2 and f.payload["connectorStatus"] == "Occupied"
        for f in csms201.calls("StatusNotification")))
    result = await csms201.send(call.GetBaseReport(request_id=13,
                                                   report_base="SummaryInventory"))
    assert result.status == "Accepted"
    entries = await report(csms201, 13)
    assert {where(e) for e in entries} == {
        p for p in HARDWARE_2 if p[3] in ("AvailabilityState", "Available", "Problem")}
    states = {(n, e): x["variableAttribute"][0]["value"] for x in entries
              for n, e, _, v in [where(x)] if v == "AvailabilityState"}
    assert states == {("ChargingStation", None): "Available", ("EVSE", 1): "Available",
                      ("Connector", 1): "Available", ("EVSE", 2): "Occupied",
                      ("Connector", 2): "Occupied"}
    assert {entry_at(entries, "EVSE", 2, None, "Problem")["variableAttribute"][0]["value"]} == {
        "false"}


async def test_b08_get_report_by_component_variable(csms201: Csms201,
                                                    make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(connectors=2)
    await ready(cp, csms201)
    result = await csms201.send(call.GetReport(request_id=21, component_variable=[
        {"component": {"name": "EVSE", "evse": {"id": 2}}},  # every variable of EVSE 2
        {"component": {"name": "Connector"}, "variable": {"name": "ConnectorType"}},
        {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}},
        {"component": {"name": "NoCtrlr"}}]))
    assert result.status == "Accepted"
    entries = await report(csms201, 21)
    assert sorted(map(str, (where(e) for e in entries))) == sorted(map(str, [
        ("EVSE", 2, None, "AvailabilityState"), ("EVSE", 2, None, "Available"),
        ("EVSE", 2, None, "Power"), ("EVSE", 2, None, "Problem"),
        ("Connector", 1, 1, "ConnectorType"), ("Connector", 2, 1, "ConnectorType"),
        ("OCPPCommCtrlr", None, None, "HeartbeatInterval")]))


async def test_b08_get_report_by_component_criteria(csms201: Csms201,
                                                    make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await ready(cp, csms201)
    result = await csms201.send(call.GetReport(request_id=22, component_criteria=["Available"]))
    assert result.status == "Accepted"
    entries = await report(csms201, 22)
    assert {where(e)[0] for e in entries} >= {"ChargingStation", "EVSE", "Connector"}
    assert {where(e)[0] for e in entries} <= {"ChargingStation", "EVSE", "Connector"} | {
        v.component for v in VARIABLES.values() if v.name == "Available"}
    # every variable of a component that meets the criterion, not only the criterion's own
    assert ("EVSE", 1, None, "Power") in {where(e) for e in entries}
    # no component has a problem: EmptyResultSet, and no NotifyReport
    before = len(csms201.calls("NotifyReport"))
    none = await csms201.send(call.GetReport(request_id=23, component_criteria=["Problem"]))
    assert none.status == "EmptyResultSet"
    assert len(csms201.calls("NotifyReport")) == before


async def test_b08_a_faulted_evse_meets_the_problem_criterion(csms201: Csms201,
                                                              make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(connectors=2)
    await ready(cp, csms201)
    assert cp.bench is not None
    cp.bench.fault(1, "rcd")
    await csms201.wait_until(lambda: any(
        f.payload["evseId"] == 1 and f.payload["connectorStatus"] == "Faulted"
        for f in csms201.calls("StatusNotification")))
    result = await csms201.send(call.GetReport(request_id=24, component_criteria=["Problem"]))
    assert result.status == "Accepted"
    entries = await report(csms201, 24)
    assert {where(e)[:3] for e in entries if where(e)[0] != "ChargingStation"} == {
        ("EVSE", 1, None), ("Connector", 1, 1)}
    assert entry_at(entries, "EVSE", 1, None, "AvailabilityState")["variableAttribute"][0][
        "value"] == "Faulted"


async def test_b08_criteria_and_component_variables_together(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(connectors=2)
    await ready(cp, csms201)
    result = await csms201.send(call.GetReport(
        request_id=25, component_criteria=["Available", "Problem"],
        component_variable=[{"component": {"name": "Connector", "evse": {"id": 1,
                                                                      "connectorId": 1}},
                             "variable": {"name": "AvailabilityState"}},
                            {"component": {"name": "TxCtrlr"}}]))
    assert result.status == "Accepted"
    entries = await report(csms201, 25)
    # TxCtrlr has no Available / Problem variable: it does not meet the criteria
    assert [where(e) for e in entries] == [("Connector", 1, 1, "AvailabilityState")]
    nothing = await csms201.send(call.GetReport(request_id=26, component_variable=[
        {"component": {"name": "EVSE", "evse": {"id": 9}}}]))
    assert nothing.status == "EmptyResultSet"
