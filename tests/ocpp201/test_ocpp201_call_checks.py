"""The schema checks of a 2.0.1 CSMS request and of the station's answer: on the event loop
when small (no worker-thread hop; the ``ocpp`` library would hop for each), in a worker
thread when the payload holds many values (``bounds.fewer_values``)."""

from __future__ import annotations

import pytest
from ocpp.v201 import call

import chargepoint.ocppj.session as session
from tests.fullstack import until
from tests.ocpp16.test_ocpp16_call_checks import count_checks, count_hops
from tests.ocpp201.conftest import Cp201Maker
from tests.ocpp201.csms import Csms201

HEARTBEAT = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}


async def test_a_small_request_and_its_answer_are_checked_on_the_loop(
        csms201: Csms201, make_cp201: Cp201Maker, monkeypatch: pytest.MonkeyPatch) -> None:
    cp = await make_cp201()
    await until(lambda: cp.adapter.link_state().registration == "Accepted")
    hops = count_hops(monkeypatch)
    checks = count_checks(monkeypatch, "GetVariables")
    result = await csms201.send(call.GetVariables(get_variable_data=[HEARTBEAT]))
    assert result.get_variable_result[0]["attribute_status"] == "Accepted"
    assert checks == ["Call", "CallResult"]
    assert session._validate_payload not in hops


async def test_a_request_of_many_values_is_checked_in_a_worker_thread(
        csms201: Csms201, make_cp201: Cp201Maker, monkeypatch: pytest.MonkeyPatch) -> None:
    cp = await make_cp201()
    await until(lambda: cp.adapter.link_state().registration == "Accepted")
    hops = count_hops(monkeypatch)
    checks = count_checks(monkeypatch, "GetVariables")
    result = await csms201.send(call.GetVariables(get_variable_data=[HEARTBEAT] * 60))
    assert len(result.get_variable_result) == 60
    assert checks == ["Call", "CallResult"]
    assert hops.count(session._validate_payload) == 2  # both hold more than 500 values


async def test_a_request_breaking_the_schema_is_refused_as_before(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    from tests.ocpp201.test_ocpp201_bad_input import answer

    cp = await make_cp201()
    await until(lambda: cp.adapter.link_state().registration == "Accepted")
    error = await answer(csms201, '[2, "b1", "GetVariables", {"getVariableData": "all"}]', "b1")
    assert error[:3] == [4, "b1", "TypeConstraintViolation"]
