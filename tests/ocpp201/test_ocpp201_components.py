"""OCPP 2.0.1 B05 GetVariables / B06 SetVariables addressing the hardware components from the
CSMS side: ``EVSE`` by ``evse.id``, ``Connector`` by ``evse.id`` and ``connectorId``; what no
component answers to; attributes other than Actual."""

from __future__ import annotations

from typing import Any

from ocpp.v201 import call

from tests.fullstack import until
from tests.ocpp201.conftest import Cp201Maker
from tests.ocpp201.csms import Csms201


def ref(component: str, variable: str, evse: int | None = None, connector: int | None = None,
        **more: Any) -> dict[str, Any]:
    address: dict[str, Any] = {"name": component}
    if evse is not None:
        address["evse"] = {"id": evse} if connector is None else {"id": evse,
                                                                  "connectorId": connector}
    return {"component": address, "variable": {"name": variable}, **more}


async def ready(cp: Any, csms: Csms201) -> None:
    await until(lambda: cp.adapter.link_state().registration == "Accepted")
    await csms.wait_for("StatusNotification", cp.adapter.port.connector_count)


async def get_all(csms: Csms201, *items: dict[str, Any]) -> list[tuple[str, str | None]]:
    result = await csms.send(call.GetVariables(get_variable_data=list(items)))
    return [(r["attribute_status"], r.get("attribute_value"))
            for r in result.get_variable_result]


async def test_b05_get_variables_of_evses_and_connectors(csms201: Csms201,
                                                         make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(connectors=2)
    await ready(cp, csms201)
    assert await get_all(
        csms201, ref("EVSE", "AvailabilityState", 2), ref("EVSE", "Available", 1),
        ref("Connector", "ConnectorType", 1, 1), ref("Connector", "SupplyPhases", 2, 1),
        ref("Connector", "AvailabilityState", 2, 1), ref("EVSE", "Problem", 1),
        ref("ChargingStation", "AvailabilityState")) == [
        ("Accepted", "Available"), ("Accepted", "true"), ("Accepted", "sType2"),
        ("Accepted", "3"), ("Accepted", "Available"), ("Accepted", "false"),
        ("Accepted", "Available")]
    result = await csms201.send(call.GetVariables(get_variable_data=[
        ref("Connector", "ConnectorType", 2, 1)]))
    (answer,) = result.get_variable_result
    assert answer["component"] == {"name": "Connector", "evse": {"id": 2, "connector_id": 1}}
    (status, power), = await get_all(csms201, ref("EVSE", "Power", 1))
    assert status == "Accepted" and float(power or "nan") >= 0


async def test_b05_availability_state_follows_the_evse(csms201: Csms201,
                                                       make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await ready(cp, csms201)
    assert cp.bench is not None
    cp.bench.plug(1)
    await csms201.wait_until(lambda: csms201.calls("StatusNotification")[-1].payload[
        "connectorStatus"] == "Occupied")
    assert await get_all(csms201, ref("EVSE", "AvailabilityState", 1),
                         ref("Connector", "AvailabilityState", 1, 1)) == [
        ("Accepted", "Occupied"), ("Accepted", "Occupied")]
    await csms201.send(call.ChangeAvailability(operational_status="Inoperative",
                                               evse={"id": 1}))
    cp.bench.unplug(1)
    await csms201.wait_until(lambda: csms201.calls("StatusNotification")[-1].payload[
        "connectorStatus"] == "Unavailable")
    assert await get_all(csms201, ref("EVSE", "AvailabilityState", 1)) == [
        ("Accepted", "Unavailable")]


async def test_b05_unknown_addresses_and_attributes(csms201: Csms201,
                                                    make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await ready(cp, csms201)
    assert [s for s, _ in await get_all(
        csms201,
        ref("EVSE", "AvailabilityState", 9),  # no EVSE 9
        ref("EVSE", "AvailabilityState"),  # an EVSE needs its id
        ref("EVSE", "AvailabilityState", 1, 1),  # that is the connector
        ref("Connector", "ConnectorType", 1, 2),  # one connector per EVSE
        ref("OCPPCommCtrlr", "HeartbeatInterval", 1),  # a controller has no EVSE instances
        {"component": {"name": "OCPPCommCtrlr", "instance": "2"},
         "variable": {"name": "HeartbeatInterval"}},
        {"component": {"name": "OCPPCommCtrlr"},
         "variable": {"name": "HeartbeatInterval", "instance": "x"}},
        ref("EVSE", "Voltage", 1),
        ref("EVSE", "Power", 1, attributeType="Target"),
        ref("EVSE", "Power", 1, attributeType="MaxSet"),
        ref("OCPPCommCtrlr", "HeartbeatInterval", attributeType="MinSet"))] == [
        "UnknownComponent", "UnknownComponent", "UnknownComponent", "UnknownComponent",
        "UnknownComponent", "UnknownComponent", "UnknownVariable", "UnknownVariable",
        "NotSupportedAttributeType", "NotSupportedAttributeType",
        "NotSupportedAttributeType"]


async def test_b06_set_variables_of_the_hardware_are_refused(csms201: Csms201,
                                                             make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await ready(cp, csms201)
    result = await csms201.send(call.SetVariables(set_variable_data=[
        ref("EVSE", "Power", 1, attributeValue="1000"),
        ref("Connector", "ConnectorType", 1, 1, attributeValue="cType2"),
        ref("EVSE", "AvailabilityState", 3, attributeValue="Unavailable"),
        ref("OCPPCommCtrlr", "HeartbeatInterval", attributeValue="60", attributeType="Target"),
        ref("OCPPCommCtrlr", "HeartbeatInterval", attributeValue="60")]))
    assert [(r["attribute_status"], (r.get("attribute_status_info") or {}).get("reason_code"))
            for r in result.set_variable_result] == [
        ("Rejected", "ReadOnly"), ("Rejected", "ReadOnly"),
        ("UnknownComponent", "UnknownComponent"),
        ("NotSupportedAttributeType", "UnsupportedAttribute"), ("Accepted", None)]
    assert await get_all(csms201, ref("Connector", "ConnectorType", 1, 1)) == [
        ("Accepted", "sType2")]


async def test_b05_a_fixed_cable_station_has_a_ctype2_connector(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(extra="has_lock = false")  # lands in [hardware]
    await ready(cp, csms201)
    assert await get_all(csms201, ref("Connector", "ConnectorType", 1, 1)) == [
        ("Accepted", "cType2")]
