"""The schema check of the station's own CALLs and their answers (``ocppj.session``): on the
event loop for small payloads (no worker-thread hop), in a worker thread for big ones, and
skipped once for a payload ``precheck`` found valid."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any

import pytest
from ocpp.exceptions import OCPPError

import chargepoint.ocppj.session as session
from chargepoint.core.events import CsmsLinkChanged
from tests.ocpp16.conftest import StationFactory
from tests.ocpp16.csms import Csms

STAMP = "2026-11-27T00:00:00.000Z"


def meter_values(samples: int) -> dict[str, Any]:
    return {"connectorId": 1, "meterValue": [
        {"timestamp": STAMP, "sampledValue": [{"value": str(n), "measurand": "Voltage"}
                                              for n in range(samples)]}]}


def count_hops(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Functions handed to a worker thread from now on (``asyncio.to_thread`` hands over
    ``partial(context.run, f, ...)``: recorded as ``f``)."""
    hops: list[object] = []
    loop = asyncio.get_running_loop()
    real = loop.run_in_executor

    def run_in_executor(executor: Any, func: Callable[..., Any], *args: Any) -> Any:
        hops.append(func.args[0] if isinstance(func, functools.partial) else func)
        return real(executor, func, *args)

    monkeypatch.setattr(loop, "run_in_executor", run_in_executor)
    return hops


def count_checks(monkeypatch: pytest.MonkeyPatch, action: str | None = None) -> list[str]:
    """The station's schema checks from now on, of ``action`` messages only if given (the test
    CSMS, the ``ocpp`` library's server side, calls the library's own function, not this one)."""
    checks: list[str] = []
    real = session._validate_payload

    def check(message: Any, version: str) -> None:
        if action is None or message.action == action:
            checks.append(type(message).__name__)
        real(message, version)

    monkeypatch.setattr(session, "_validate_payload", check)
    return checks


async def test_a_small_call_and_its_answer_are_checked_without_a_thread_hop(
        csms: Csms, make_station: StationFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    station = await make_station()
    await station.port.wait_for(CsmsLinkChanged)
    hops = count_hops(monkeypatch)
    checks = count_checks(monkeypatch)
    await station.adapter.request("MeterValues", meter_values(3))
    assert checks == ["Call", "CallResult"]
    assert session._validate_payload not in hops


async def test_a_big_call_is_checked_in_a_worker_thread(
        csms: Csms, make_station: StationFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    station = await make_station()
    await station.port.wait_for(CsmsLinkChanged)
    hops = count_hops(monkeypatch)
    checks = count_checks(monkeypatch)
    await station.adapter.request("MeterValues", meter_values(400))
    assert checks == ["Call", "CallResult"]
    # the CALL's check in a thread; its answer is small
    assert [h for h in hops if h is session._validate_payload] == [session._validate_payload]
    assert len(csms.calls("MeterValues")) == 1


async def test_a_prechecked_payload_is_not_checked_again_a_changed_one_is(
        csms: Csms, make_station: StationFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    station = await make_station()
    await station.port.wait_for(CsmsLinkChanged)
    a = station.adapter
    checks = count_checks(monkeypatch)
    payload = meter_values(2)
    await a.precheck("MeterValues", payload)
    await a.request("MeterValues", payload)
    assert checks == ["Call", "CallResult"]  # the precheck's, then only the answer's
    checks.clear()
    await a.precheck("MeterValues", payload)
    await a.request("MeterValues", meter_values(2))  # an equal payload, not the same object
    await a.request("MeterValues", payload)  # skipped once only
    assert checks == ["Call", "Call", "CallResult", "Call", "CallResult"]


async def test_an_invalid_call_is_refused_even_after_its_precheck(
        csms: Csms, make_station: StationFactory) -> None:
    station = await make_station()
    await station.port.wait_for(CsmsLinkChanged)
    a = station.adapter
    bad = {"connectorId": "one", "meterValue": []}
    await a.precheck("MeterValues", bad)  # never raises
    with pytest.raises(OCPPError):
        await a.request("MeterValues", bad)
    assert csms.calls("MeterValues") == []


def test_fewer_values_counts_keys_values_and_items_and_stops_at_the_limit() -> None:
    from chargepoint.ocppj.bounds import fewer_values

    assert fewer_values({}, 2)
    assert fewer_values({"a": 1}, 4) and not fewer_values({"a": 1}, 3)  # object, key, value
    assert fewer_values([1, [2, 3]], 6) and not fewer_values([1, [2, 3]], 5)
    huge = [[0] * 1000 for _ in range(1000)]  # a million values: stops after the first rows
    assert not fewer_values(huge, 500)
    assert fewer_values(meter_values(3))
    assert not fewer_values(meter_values(400))


# -- requests of the CSMS: the request's check and our answer's, on the loop when small

def hops_of(hops: list[object], func: Callable[..., Any]) -> list[object]:
    """The hops of ``func``, a function or any object's method of that function."""
    return [h for h in hops if h is func or getattr(h, "__func__", None) is func]


async def test_a_small_csms_request_and_its_answer_are_checked_without_a_thread_hop(
        csms: Csms, make_station: StationFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    from ocpp.v16 import call

    from chargepoint.ocpp16.client import OcppClient

    station = await make_station()
    await station.port.wait_for(CsmsLinkChanged)
    hops = count_hops(monkeypatch)
    checks = count_checks(monkeypatch)
    result = await csms.send(call.GetConfiguration(key=["HeartbeatInterval"]))
    assert result.configuration_key
    assert checks == ["CallResult"]  # the request's own check is frames.schema_error
    assert hops_of(hops, OcppClient._validate) == []
    assert session._validate_payload not in hops


async def test_a_csms_request_of_many_values_is_checked_in_a_worker_thread(
        csms: Csms, make_station: StationFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Below the size parsed off the loop (``bounds.THREAD_PARSE_BYTES``) but with many
    values: its schema check still leaves the loop."""
    from ocpp.v16 import call

    from chargepoint.ocpp16.client import OcppClient
    from chargepoint.ocppj import bounds

    station = await make_station(config={"LocalAuthListEnabled": "true"})
    await station.port.wait_for(CsmsLinkChanged)
    hops = count_hops(monkeypatch)
    entries = [{"idTag": f"T{i:04d}", "idTagInfo": {"status": "Accepted"}} for i in range(200)]
    request = call.SendLocalList(list_version=3, update_type="Full",
                                 local_authorization_list=entries)
    assert not bounds.fewer_values({"localAuthorizationList": entries})
    result = await csms.send(request)
    assert result.status == "Accepted"
    assert len(hops_of(hops, OcppClient._validate)) == 1
