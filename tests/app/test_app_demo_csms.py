"""The demo CSMS and timeline, driven by the `ocpp` library's charge point side over a real
WebSocket on 127.0.0.1."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from ocpp.v16 import ChargePoint, call  # type: ignore[import-untyped]
from websockets.asyncio.client import connect

from chargepoint.demo.csms import DemoCsms
from chargepoint.demo.timeline import TO_CP, TO_CSMS, Timeline, format_summary


@pytest.fixture
async def csms() -> AsyncIterator[DemoCsms]:
    async with DemoCsms(Timeline(io.StringIO())) as server:
        yield server


async def station(csms: DemoCsms) -> AsyncIterator[Any]:
    async with connect(f"{csms.url}/CP-7", subprotocols=["ocpp1.6"]) as ws:  # type: ignore[list-item]
        cp = ChargePoint("CP-7", ws)
        task = asyncio.create_task(cp.start())
        try:
            yield cp
        finally:
            task.cancel()


async def test_a_whole_session_is_answered_and_recorded(csms: DemoCsms) -> None:
    assert csms.url.startswith("ws://127.0.0.1:")
    async for cp in station(csms):
        boot = await cp.call(call.BootNotification(charge_point_vendor="V", charge_point_model="M"))
        assert boot.status == "Accepted" and boot.interval == 300
        await cp.call(call.StatusNotification(connector_id=1, error_code="NoError",
                                              status="Preparing"))
        auth = await cp.call(call.Authorize(id_tag="04A1B2C3"))
        assert auth.id_tag_info["status"] == "Accepted"
        start = await cp.call(call.StartTransaction(connector_id=1, id_tag="04A1B2C3",
                                                    meter_start=1000,
                                                    timestamp="2026-01-01T00:00:00Z"))
        assert start.transaction_id == 1
        await cp.call(call.MeterValues(connector_id=1, transaction_id=1, meter_value=[{
            "timestamp": "2026-01-01T00:00:01Z", "sampledValue": [
                {"value": "1.0125", "measurand": "Energy.Active.Import.Register",
                 "unit": "kWh"},
                {"value": "11040", "measurand": "Power.Active.Import", "unit": "W"}]}]))
        await cp.call(call.StopTransaction(meter_stop=1025, timestamp="2026-01-01T00:00:02Z",
                                           transaction_id=1, reason="Local"))
        again = await cp.call(call.StartTransaction(connector_id=1, id_tag="X", meter_start=0,
                                                    timestamp="2026-01-01T00:00:03Z"))
        assert again.transaction_id == 2
        assert list(csms.stations) == ["CP-7"]

    tl = csms.timeline
    lines = [(e.direction, e.kind, e.action, e.text) for e in tl.entries]
    assert lines[0] == (TO_CSMS, "call", "BootNotification", "V M, firmware ?")
    assert lines[1] == (TO_CP, "result", "BootNotification", "Accepted, heartbeat every 300 s")
    assert (TO_CSMS, "call", "StatusNotification", "connector 1: Preparing") in lines
    assert (TO_CSMS, "call", "MeterValues", "connector 1, transaction 1: 1012.5 Wh, 11.04 kW") \
        in lines
    assert (TO_CP, "result", "StartTransaction", "transaction 1, Accepted") in lines
    summary = tl.summary()
    assert summary["energy_wh"] == 25.0  # transaction 1 (transaction 2 is not stopped)
    printed = tl.out.getvalue()  # type: ignore[union-attr]
    assert "CP -> CSMS  StopTransaction" in printed
    assert "transaction 1, meterStop 1025 Wh, reason Local" in printed
    assert format_summary(summary).startswith("Summary: 25.0 Wh charged")


async def test_summary_of_a_finished_transaction() -> None:
    tl = Timeline(None, live=False)
    tl.frame(TO_CSMS, json.dumps([2, "a", "StartTransaction", {"connectorId": 1, "idTag": "T",
                                                               "meterStart": 500}]))
    tl.frame(TO_CP, json.dumps([3, "a", {"transactionId": 9, "idTagInfo": {"status": "Accepted"}}]))
    tl.frame(TO_CSMS, json.dumps([2, "b", "StopTransaction", {"transactionId": 9,
                                                              "meterStop": 612}]))
    tl.frame(TO_CP, json.dumps([4, "b", "InternalError", "boom", {}]))
    tl.frame(TO_CSMS, "not json")
    s = tl.summary()
    assert s["energy_wh"] == 112.0 and s["messages"] == 5 and s["to_csms"] == 3
    assert tl.entries[3].kind == "error" and tl.entries[3].action == "StopTransaction"
    assert tl.entries[4].text.startswith("malformed frame")


async def test_wait_for_awaits_new_entries_and_times_out() -> None:
    tl = Timeline(None, live=False)
    waiter = asyncio.create_task(tl.wait_for(lambda e: e.text == "plugged", 10))
    await asyncio.sleep(0)
    tl.note("tap")
    tl.note("plugged")
    assert (await waiter).text == "plugged"
    with pytest.raises(TimeoutError, match=r"no StopTransaction within 0\.05 s"):
        await tl.wait_for(lambda e: False, 0.05, what="StopTransaction")
    assert (await tl.wait_for(lambda e: e.text == "tap", 1, since=0)).text == "tap"
    with pytest.raises(TimeoutError):
        await tl.wait_for(lambda e: e.text == "tap", 0.05, since=2)


async def test_the_2_0_1_csms_answers_a_session_and_the_timeline_tells_it() -> None:
    from ocpp.v201 import ChargePoint as ChargePoint201
    from ocpp.v201 import call as call201

    from chargepoint.demo.csms201 import DemoCsms201

    def event(kind: str, seq: int, energy: float, **more: Any) -> Any:
        return call201.TransactionEvent(
            event_type=kind, timestamp="2026-01-01T00:00:00Z", seq_no=seq,
            trigger_reason=more.pop("trigger", "Authorized"), evse={"id": 1, "connectorId": 1},
            transaction_info={"transactionId": "abcdef12-3456", **more.pop("info", {})},
            meter_value=[{"timestamp": "2026-01-01T00:00:00Z", "sampledValue": [
                {"value": energy, "measurand": "Energy.Active.Import.Register",
                 "unitOfMeasure": {"unit": "Wh"}}]}], **more)

    async with DemoCsms201(Timeline(io.StringIO())) as csms, connect(
            f"{csms.url}/CP-8", subprotocols=["ocpp2.0.1"]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == "ocpp2.0.1"
        cp = ChargePoint201("CP-8", ws)
        task = asyncio.create_task(cp.start())
        try:
            boot = await cp.call(call201.BootNotification(
                charging_station={"model": "M", "vendorName": "V"}, reason="PowerUp"))
            assert boot.status == "Accepted" and boot.interval == 300
            await cp.call(call201.StatusNotification(
                timestamp="2026-01-01T00:00:00Z", connector_status="Occupied", evse_id=1,
                connector_id=1))
            auth = await cp.call(call201.Authorize(
                id_token={"idToken": "04A1", "type": "ISO14443"}))
            assert auth.id_token_info["status"] == "Accepted"
            started = await cp.call(event("Started", 0, 1000.0,
                                          id_token={"idToken": "04A1", "type": "ISO14443"}))
            assert started.id_token_info["status"] == "Accepted"
            await cp.call(event("Updated", 1, 1010.0, trigger="MeterValuePeriodic"))
            ended = await cp.call(event("Ended", 2, 1025.5, trigger="StopAuthorized",
                                        info={"stoppedReason": "Local"}))
            assert ended.id_token_info is None
            assert (await cp.call(call201.NotifyReport(
                request_id=1, generated_at="2026-01-01T00:00:00Z", seq_no=0))) is not None
        finally:
            task.cancel()
    tl = csms.timeline
    lines = [(e.direction, e.kind, e.action, e.text) for e in tl.entries]
    assert lines[0] == (TO_CSMS, "call", "BootNotification", "V M, firmware ?, reason PowerUp")
    assert (TO_CSMS, "call", "StatusNotification", "EVSE 1: Occupied") in lines
    assert (TO_CP, "result", "Authorize", "Accepted") in lines
    assert (TO_CSMS, "call", "TransactionEvent", "Started #0, EVSE 1, transaction abcdef12, "
            "trigger Authorized, idToken 04A1: 1000.0 Wh") in lines
    assert (TO_CSMS, "call", "TransactionEvent", "Ended #2, EVSE 1, transaction abcdef12, "
            "trigger StopAuthorized, reason Local: 1025.5 Wh") in lines
    summary = tl.summary()
    assert summary["energy_wh"] == 25.5 and summary["transaction_updates"] == 1
    assert format_summary(summary).endswith("1 TransactionEvent Updated)")
