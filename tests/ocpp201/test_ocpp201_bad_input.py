"""Bad frames from a 2.0.1 CSMS get the 2.0.1 RPC framework's CALLERRORs and the link stays
up (the station still answers afterwards)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from ocpp.v201 import call

from tests.fullstack import until
from tests.ocpp201.conftest import Cp201Maker
from tests.ocpp201.csms import Csms201


async def answer(csms: Csms201, text: str, unique_id: str) -> list[Any]:
    peer = await csms.connected()
    await peer.ws.send(text)
    frame = await csms.wait_until(lambda: next(
        (f for f in csms.frames if f.direction == "in" and f.kind == 4
         and f.unique_id == unique_id), None))
    return [frame.kind, frame.unique_id, *frame.payload]


@pytest.mark.parametrize(("text", "unique_id", "code"), [
    ("this is not json", "-1", "RpcFrameworkError"),
    ('{"a": 1}', "-1", "RpcFrameworkError"),
    ('[7, "m7", "Heartbeat", {}]', "m7", "MessageTypeNotSupported"),
    ('[2, "m1", "GetDisplayMessages", {"requestId": 1}]', "m1", "NotSupported"),
    ('[2, "m2", "MakeCoffee", {}]', "m2", "NotImplemented"),
    ('[2, "m3", "GetVariables", {"getVariableData": "all"}]', "m3", "TypeConstraintViolation"),
    ('[2, "m4", "GetVariables", {}]', "m4", "ProtocolError"),  # incomplete (2.0.1)
])
async def test_bad_frames_get_the_2_0_1_errors(csms201: Csms201, make_cp201: Cp201Maker,
                                               text: str, unique_id: str, code: str) -> None:
    cp = await make_cp201()
    await until(lambda: cp.adapter.link_state().registration == "Accepted")
    error = await answer(csms201, text, unique_id)
    assert error[:3] == [4, unique_id, code], json.dumps(error)
    result = await csms201.send(call.GetVariables(get_variable_data=[
        {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]))
    assert result.get_variable_result[0]["attribute_status"] == "Accepted"
