"""A broken or hostile CSMS against the whole station (issue 18, docs/security.md): the car
keeps charging, every transaction record survives, the protocol tasks live on and the
systemd watchdog sees it when one does not."""

from __future__ import annotations

import asyncio
import json

import pytest
from ocpp.v16 import call

from chargepoint.app import RunningStation
from tests.firmware.fw_helpers import refused_port
from tests.fullstack import CpMaker, registered, start_session, until
from tests.ocpp16.csms import Csms, now_iso


async def stop_session(cp: RunningStation) -> None:
    assert cp.bench is not None
    cp.bench.unplug(1)
    await until(lambda: not cp.controller.hardware_of(1).contactor.commanded_closed)


async def test_an_unstorable_transaction_id_does_not_stop_the_outbox(
        csms: Csms, make_cp: CpMaker) -> None:
    """Repro: StartTransaction.conf transactionId 10**30 killed the outbox: no
    StatusNotification / StartTransaction / StopTransaction was sent again until a restart."""
    csms.tx_ids = iter([10**30, 4711])  # type: ignore[assignment]
    cp = await make_cp(TransactionMessageRetryInterval=0)
    await registered(cp)
    await start_session(cp, "CAFE01")
    await csms.wait_for("StartTransaction", 2)  # the refused answer counted as a failure
    await stop_session(cp)
    stop = (await csms.wait_for("StopTransaction"))[0]
    assert stop.payload["transactionId"] == 4711
    await csms.wait_until(lambda: any(f.payload["status"] == "Available"
                                      for f in csms.calls("StatusNotification")[2:]))
    await until(lambda: cp.store.queue_length() == 0)
    assert cp.healthy()


async def test_an_absurd_csms_time_never_loses_the_transaction(
        csms: Csms, make_cp: CpMaker, caplog: pytest.LogCaptureFixture) -> None:
    """Repro: currentTime 9999-12-31T23:59:59Z made stamp() raise: the StartTransaction was
    never stored while the car kept charging, and the time became the next boots' fallback."""
    csms.clock = lambda: "9999-12-31T23:59:59Z"
    cp = await make_cp()
    await registered(cp)
    await start_session(cp, "CAFE01")
    await until(lambda: bool(cp.store.open_transactions()))
    assert "9999" not in (cp.store.kv_get("ocpp16.clock.anchors") or "")
    assert any("currentTime" in r.getMessage() and "refused" in r.getMessage()
               for r in caplog.records)
    csms.clock = now_iso  # the CSMS comes to its senses
    await csms.send(call.TriggerMessage(requested_message="Heartbeat"))
    start = (await csms.wait_for("StartTransaction"))[0]
    assert start.payload["timestamp"][:4] == now_iso()[:4]
    await stop_session(cp)
    await csms.wait_for("StopTransaction")
    assert cp.healthy()


async def test_a_dead_protocol_task_makes_the_station_unhealthy(
        csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    assert cp.healthy()
    outbox = next(t for t in asyncio.all_tasks() if t.get_name() == "OCPP outbox")
    outbox.cancel()
    await until(lambda: not cp.healthy())
    assert cp.adapter.unhealthy_tasks() == ["OCPP outbox"]


async def test_transfer_retries_are_clamped(
        csms: Csms, make_cp: CpMaker, caplog: pytest.LogCaptureFixture) -> None:
    """Repro: retries 2**31-1 with retryInterval 0 spun thousands of log lines."""
    cp = await make_cp()
    await registered(cp)
    await csms.send(call.GetDiagnostics(location=f"ftp://127.0.0.1:{refused_port()}/",
                                        retries=2**31 - 1, retry_interval=0))
    await csms.wait_until(lambda: any(f.payload.get("status") == "UploadFailed"
                                      for f in csms.calls("DiagnosticsStatusNotification")),
                          timeout=30)
    attempts = [r for r in caplog.records if "transfer attempt" in r.getMessage()]
    assert len(attempts) < 10
    assert any("clamped" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(("action", "payload"), [
    ("UpdateFirmware", {"location": "not a uri", "retrieveDate": "2030-01-01T00:00:00Z"}),
    ("UpdateFirmware", {"location": "http://127.0.0.1/fw", "retrieveDate": "soon"}),
    ("GetDiagnostics", {"location": "ftp://127.0.0.1/", "startTime": "2030-01-01"}),
    ("GetDiagnostics", {"location": "ftp://127.0.0.1/\n", "stopTime": "2030-01-01T00:00:00Z"}),
])
async def test_transfer_requests_with_a_bad_uri_or_date_are_refused(
        csms: Csms, make_cp: CpMaker, action: str, payload: dict[str, object]) -> None:
    cp = await make_cp()
    await registered(cp)
    answer = await csms.send_raw(json.dumps([2, "t1", action, payload]), "t1")
    assert answer.kind == 4 and answer.payload[0] == "PropertyConstraintViolation"
    await csms.send(call.TriggerMessage(requested_message="Heartbeat"))
    await csms.wait_for("Heartbeat")  # a follow-up would have reported by now
    assert csms.calls("FirmwareStatusNotification") == []
    assert csms.calls("DiagnosticsStatusNotification") == []
