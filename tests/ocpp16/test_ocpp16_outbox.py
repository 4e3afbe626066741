"""The durable queue: order, one CALL in flight, retries, ids, restarts (OCPP 1.6 4.x)."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from ocpp.v16 import call

from chargepoint.core.actions import ReportStatus, StartTransaction, StopTransaction
from chargepoint.core.events import CsmsLinkChanged, TransactionConfirmed
from chargepoint.core.types import AuthStatus, ConnectorStatus, StopReason
from chargepoint.store.db import Store
from hardware.interfaces import MeterReading
from tests.ocpp16.conftest import StationFactory
from tests.ocpp16.csms import Csms
from tests.ocpp16.harness import Station, start_station
from tests.ocpp16.test_ocpp16_connection import assert_one_in_flight


async def wait_queue_empty(station: Station) -> None:
    """Until the CSMS confirmed everything (dequeuing follows the answer in a thread)."""
    async with asyncio.timeout(10):
        while station.store.queue_length():
            await asyncio.sleep(0.01)


async def wait_sent_ok(station: Station, count: int) -> None:
    """Until the outbox counted ``count`` confirmed messages, and not one more: it counts on
    the loop after the confirm's commit returned, which can be after the queue is seen
    empty."""
    async with asyncio.timeout(10):
        while station.adapter.outbox.sent_ok < count:
            await asyncio.sleep(0.01)
    assert station.adapter.outbox.sent_ok == count


def start(connector: int = 1, tag: str = "TAG1", wh: float = 1000.0) -> StartTransaction:
    return StartTransaction(connector, tag, wh, at=time.monotonic())


def stop(connector: int = 1, wh: float = 1500.0,
         reason: StopReason = StopReason.LOCAL) -> StopTransaction:
    return StopTransaction(connector, "TAG1", wh, at=time.monotonic(), reason=reason)


async def test_session_online_in_order_with_real_transaction_id(
        csms: Csms, make_station: StationFactory) -> None:
    station = await make_station()
    await station.port.wait_for(CsmsLinkChanged)
    a = station.adapter
    a.perform(ReportStatus(1, ConnectorStatus.PREPARING))
    a.perform(start())
    a.perform(ReportStatus(1, ConnectorStatus.CHARGING))
    a.perform(stop())
    a.perform(ReportStatus(1, ConnectorStatus.FINISHING))
    await csms.wait_for("StopTransaction")
    await csms.wait_for("StatusNotification", 3)
    seq = [(f.action, f.payload.get("status")) for f in csms.calls()][1:]
    assert seq == [("StatusNotification", "Preparing"), ("StartTransaction", None),
                   ("StatusNotification", "Charging"), ("StopTransaction", None),
                   ("StatusNotification", "Finishing")]
    start_req = csms.calls("StartTransaction")[0].payload
    assert start_req["connectorId"] == 1 and start_req["meterStart"] == 1000
    assert start_req["timestamp"].endswith("Z")
    stop_req = csms.calls("StopTransaction")[0].payload
    assert stop_req["transactionId"] == 100
    assert stop_req["meterStop"] == 1500 and stop_req["reason"] == "Local"
    await wait_queue_empty(station)
    # The answer to StartTransaction came after the stop: nothing for the core any more.
    assert station.port.of(TransactionConfirmed) == []
    record = station.store.transaction_by_csms_id("100")
    assert record is not None and record.stopped
    assert station.store.queue_length() == 0
    assert csms.errors_sent() == []
    assert_one_in_flight(csms)


async def test_start_answer_before_the_stop_is_committed_stays_from_the_core(
        csms: Csms, make_station: StationFactory) -> None:
    """The core stopped its session; the stop waits for its commit when the CSMS answers
    the StartTransaction Invalid: that answer is for an ended session, so it must not reach
    the core (it would de-authorize whatever runs on the connector next)."""
    csms.tag_status["TAG1"] = "Invalid"
    station = await make_station()
    await station.port.wait_for(CsmsLinkChanged)
    commit_stop = threading.Event()
    stop_transaction = station.store.stop_transaction

    def held_stop_transaction(*args: Any, **kw: Any) -> Any:
        commit_stop.wait(10)
        return stop_transaction(*args, **kw)

    station.store.stop_transaction = held_stop_transaction  # type: ignore[method-assign]
    station.adapter.perform(start())
    station.adapter.perform(stop())
    await csms.wait_for("StartTransaction")
    async with asyncio.timeout(10):  # the answer's commit (the csms id) is in the store
        while await asyncio.to_thread(station.store.transaction_by_csms_id, "100") is None:
            await asyncio.sleep(0.01)
    commit_stop.set()
    await csms.wait_for("StopTransaction")  # sent after the StartTransaction's confirm ran
    assert station.port.of(TransactionConfirmed) == []
    await wait_queue_empty(station)


async def test_offline_session_is_sent_after_reconnect_with_the_real_id(
        csms: Csms, make_station: StationFactory) -> None:
    station = await make_station()
    await station.port.wait_for(CsmsLinkChanged)
    await csms.stop()
    await station.port.wait_for(CsmsLinkChanged, 2)
    a = station.adapter
    a.perform(start())
    a.perform(stop())
    a.perform(start(tag="TAG2"))
    await csms.start()
    await csms.wait_for("StartTransaction", 2)
    calls = [(f.action, f.payload.get("transactionId")) for f in csms.calls()
             if f.action in ("StartTransaction", "StopTransaction")]
    assert calls == [("StartTransaction", None), ("StopTransaction", 100),
                     ("StartTransaction", None)]
    # The Start of an ended transaction does not reach the core (it could stop a new one).
    await station.port.wait_for(TransactionConfirmed)
    assert len(station.port.of(TransactionConfirmed)) == 1
    assert csms.errors_sent() == []
    assert_one_in_flight(csms)


async def test_callerror_is_retried_then_the_message_removed(
        csms: Csms, make_station: StationFactory) -> None:
    csms.fail["StartTransaction"] = 2
    station = await make_station(config={"TransactionMessageAttempts": "3"})
    station.adapter.perform(start())
    await csms.wait_for("StartTransaction", 3)
    assert await station.port.wait_for(TransactionConfirmed) == [
        TransactionConfirmed(1, AuthStatus.ACCEPTED)]
    await wait_queue_empty(station)
    assert len(csms.calls("StartTransaction")) == 3


async def test_message_discarded_after_attempts_and_its_stop_too(
        csms: Csms, make_station: StationFactory) -> None:
    csms.fail["StartTransaction"] = 2
    station = await make_station(config={"TransactionMessageAttempts": "2"})
    a = station.adapter
    a.perform(start())
    a.perform(stop())
    a.perform(start(tag="TAG2"))
    await csms.wait_for("StartTransaction", 3)
    await station.port.wait_for(TransactionConfirmed)
    assert [f.payload["idTag"] for f in csms.calls("StartTransaction")] == [
        "TAG1", "TAG1", "TAG2"]
    await wait_queue_empty(station)
    assert csms.calls("StopTransaction") == []  # no id for it: never sent with -1


async def test_timeout_counts_as_attempt_and_one_call_in_flight(
        csms: Csms, make_station: StationFactory) -> None:
    csms.silent = True
    station = await make_station(response_timeout_s=0.3,
                                 config={"TransactionMessageAttempts": "5"})
    await csms.wait_for("BootNotification", 2)  # no answer: BootNotification again
    csms.silent = False
    await station.port.wait_for(CsmsLinkChanged)
    csms.silent = True
    station.adapter.perform(start())
    await csms.wait_for("StartTransaction", 2)
    csms.silent = False
    await station.port.wait_for(TransactionConfirmed)
    await wait_queue_empty(station)
    assert_one_in_flight(csms)


async def test_queue_survives_a_restart(csms: Csms, tmp_path: Path) -> None:
    await csms.stop()
    db = tmp_path / "state.db"
    first = await start_station(db, csms.url)
    first.adapter.perform(start())
    first.adapter.perform(stop())
    while first.store.queue_length() < 2:  # persisting runs in a worker thread
        await asyncio.sleep(0.01)
    await first.stop()
    first.store.close()
    await csms.start()
    second = await start_station(db, csms.url)
    try:
        await csms.wait_for("StopTransaction")
        assert [f.action for f in csms.calls()][-2:] == ["StartTransaction", "StopTransaction"]
        assert csms.calls("StopTransaction")[0].payload["transactionId"] == 100
        assert not csms.calls("StartTransaction")[0].payload["timestamp"].startswith("@")
    finally:
        await second.stop()
        second.store.close()


async def test_open_transaction_after_crash_is_stopped_with_power_loss(
        csms: Csms, tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    store = Store.open(db)
    store.begin_transaction(1, "TAG1", 10.0, "2026-01-01T00:00:00.000Z", None,
                            {"connectorId": 1, "idTag": "TAG1", "meterStart": 10,
                             "timestamp": "2026-01-01T00:00:00.000Z"})
    store.save_meter_reading(1, 50.0, "2026-01-01T01:00:00.000Z")
    store.close()
    station = await start_station(db, csms.url)
    try:
        stop_req = (await csms.wait_for("StopTransaction"))[0].payload
        assert stop_req["reason"] == "PowerLoss"
        assert stop_req["meterStop"] == 50
        assert stop_req["transactionId"] == 100
        assert station.port.of(TransactionConfirmed) == []
    finally:
        await station.stop()
        station.store.close()


async def test_sampled_meter_values_go_through_the_queue_with_the_id(
        csms: Csms, make_station: StationFactory) -> None:
    station = await make_station(config={
        "MeterValueSampleInterval": "1",
        "MeterValuesSampledData": "Energy.Active.Import.Register,Power.Active.Import",
        "StopTxnSampledData": "Energy.Active.Import.Register"})
    station.port.readings[1] = MeterReading(energy_import_wh=1234.0, power_w=7000.0)
    await station.port.wait_for(CsmsLinkChanged)
    station.adapter.perform(start())
    mv = (await csms.wait_for("MeterValues"))[0].payload
    assert mv["transactionId"] == 100 and mv["connectorId"] == 1
    sampled = mv["meterValue"][0]["sampledValue"]
    assert {s["measurand"] for s in sampled} == {"Energy.Active.Import.Register",
                                                  "Power.Active.Import"}
    assert mv["meterValue"][0]["sampledValue"][0]["context"] == "Sample.Periodic"
    station.adapter.perform(stop())
    stop_req = (await csms.wait_for("StopTransaction"))[0].payload
    contexts = [v["sampledValue"][0]["context"] for v in stop_req["transactionData"]]
    assert contexts[0] == "Transaction.Begin" and contexts[-1] == "Transaction.End"
    assert csms.errors_sent() == []
    actions = [f.action for f in csms.calls() if f.action != "Heartbeat"]
    assert actions.index("StopTransaction") == len(actions) - 1  # no MeterValues after Stop


async def test_changed_sample_interval_rearms_the_running_sampler(
        csms: Csms, make_station: StationFactory) -> None:
    station = await make_station(min_sample_interval_s=1)  # interval 0: no samples yet
    station.port.readings[1] = MeterReading(energy_import_wh=10.0)
    await station.port.wait_for(CsmsLinkChanged)
    station.adapter.perform(start())
    await csms.wait_for("StartTransaction")
    assert csms.calls("MeterValues") == []
    result = await csms.send(call.ChangeConfiguration(
        key="MeterValueSampleInterval", value="1"))
    assert result.status == "Accepted"
    mv = (await csms.wait_for("MeterValues"))[0].payload
    assert mv["transactionId"] == 100


async def test_a_confirmation_the_full_disk_cannot_record_is_kept_not_resent(
        csms: Csms, make_station: StationFactory) -> None:
    """Disk full between persisting StartTransaction and recording its answer: the answer is
    kept and applied once the store writes again; the message is not sent twice, and the
    statuses (not stored) still reach the CSMS meanwhile."""
    from tests.store import diskfull

    station = await make_station()
    await station.port.wait_for(CsmsLinkChanged)
    await csms.stop()
    await station.port.wait_for(CsmsLinkChanged, 2)
    a = station.adapter
    a.perform(start())
    async with asyncio.timeout(10):
        while station.store.queue_length() < 1:
            await asyncio.sleep(0.01)
    diskfull.fill(station.store)  # the answer to come cannot be recorded
    await csms.start()
    await csms.wait_for("StartTransaction")
    a.perform(ReportStatus(1, ConnectorStatus.FAULTED, error_code="InternalError"))
    await csms.wait_until(lambda: any(f.payload["status"] == "Faulted"
                                      for f in csms.calls("StatusNotification")))
    diskfull.free(station.store)
    a.outbox.wake()
    await wait_queue_empty(station)
    assert len(csms.calls("StartTransaction")) == 1
    assert station.store.transaction_by_csms_id("100") is not None


async def test_a_backlog_queued_before_schema_2_goes_out_as_it_would_have(
        csms: Csms, tmp_path: Path) -> None:
    """An update from a version that named queued messages by their 1.6 action and kept
    integer ids: after the store's migration the backlog is sent as before, in order, with
    integer transactionIds."""
    import sqlite3

    from chargepoint.store.migrations import MIGRATIONS, migrate

    await csms.stop()
    db = tmp_path / "state.db"
    conn = sqlite3.connect(db, isolation_level=None)
    migrate(conn, MIGRATIONS[:1])
    at = "2026-01-01T00:00:00.000Z"
    conn.executescript(f"""
        INSERT INTO transactions (connector, id_tag, meter_start_wh, started_at, csms_id,
                                  stopped, meter_stop_wh, stopped_at, stop_reason)
            VALUES (1, 'TAG7', 10, '{at}', 17, 1, 20, '{at}', 'Local');
        INSERT INTO transactions (connector, id_tag, meter_start_wh, started_at, stopped,
                                  meter_stop_wh, stopped_at, stop_reason)
            VALUES (1, 'TAG8', 20, '{at}', 1, 30, '{at}', 'Local');
        INSERT INTO outbox (action, payload, tx_local_id) VALUES ('StopTransaction',
            '{{"meterStop": 20, "timestamp": "{at}", "reason": "Local"}}', 1);
        INSERT INTO outbox (action, payload, tx_local_id) VALUES ('StartTransaction',
            '{{"connectorId": 1, "idTag": "TAG8", "meterStart": 20, "timestamp": "{at}"}}', 2);
        INSERT INTO outbox (action, payload, tx_local_id) VALUES ('MeterValues',
            '{{"connectorId": 1, "meterValue": [{{"timestamp": "{at}",
               "sampledValue": [{{"value": "25"}}]}}]}}', 2);
        INSERT INTO outbox (action, payload, tx_local_id) VALUES ('StopTransaction',
            '{{"meterStop": 30, "timestamp": "{at}", "reason": "Local"}}', 2);
    """)
    conn.close()
    await csms.start()
    station = await start_station(db, csms.url)
    try:
        await csms.wait_for("StopTransaction", 2)
        sent = [(f.action, f.payload.get("transactionId")) for f in csms.calls()
                if f.action in ("StartTransaction", "MeterValues", "StopTransaction")]
        assert sent == [("StopTransaction", 17), ("StartTransaction", None),
                        ("MeterValues", 100), ("StopTransaction", 100)]
        await wait_queue_empty(station)
        record = station.store.transaction_by_csms_id("100")
        assert record is not None and record.id_tag == "TAG8"
    finally:
        await station.stop()
        station.store.close()


async def test_a_stop_right_after_the_start_with_periodic_samples_loses_nothing(
        csms: Csms, make_station: StationFactory, caplog: pytest.LogCaptureFixture) -> None:
    """Repro (found by the fuzzer): the periodic sampler waits for the transaction's local id;
    a stop before the start was persisted cancelled that wait, and with it the future the
    persist worker resolves: StartTransaction was not persisted."""
    station = await make_station(config={"MeterValueSampleInterval": "5"},
                                 min_sample_interval_s=1)
    await station.port.wait_for(CsmsLinkChanged)
    a = station.adapter
    a.perform(start())
    await asyncio.sleep(0)  # the sampler's task now waits for the local id
    a.perform(stop())
    await csms.wait_for("StopTransaction")
    assert [f.action for f in csms.calls()][-2:] == ["StartTransaction", "StopTransaction"]
    assert not [r for r in caplog.records if r.levelname == "ERROR"
                and r.name.startswith("chargepoint")]


async def test_a_backlog_is_sent_one_commit_at_a_time_the_next_prepared_meanwhile(
        csms: Csms, make_station: StationFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Replay pace without a weaker guarantee: while the store commits the confirmation of
    one message, the next is prepared and schema-checked, but it reaches the CSMS only after
    that commit returned (a crash re-sends at most the message in flight)."""
    station = await make_station()
    await station.port.wait_for(CsmsLinkChanged)
    await csms.stop()
    await station.port.wait_for(CsmsLinkChanged, 2)
    a = station.adapter
    for n in range(3):
        a.perform(start(tag=f"TAG{n}"))
        a.perform(stop())
    async with asyncio.timeout(10):
        while station.store.queue_length() < 6:
            await asyncio.sleep(0.01)
    prechecks: list[str] = []
    real_precheck = a.precheck

    async def precheck(action: str, payload: dict[str, object]) -> None:
        prechecks.append(action)
        await real_precheck(action, payload)

    monkeypatch.setattr(a, "precheck", precheck)
    # (transaction CALLs received, prechecks) when a commit ends
    at_commit_end: list[tuple[int, int]] = []
    real_confirm = station.store.confirm

    def slow_confirm(*args: object, **kwargs: object) -> object:
        time.sleep(0.1)  # a slow disk: the loop runs on meanwhile
        at_commit_end.append((
            len(csms.calls("StartTransaction")) + len(csms.calls("StopTransaction")),
            len(prechecks)))
        return real_confirm(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(station.store, "confirm", slow_confirm)
    await csms.start()
    await wait_queue_empty(station)
    assert [f.action for f in csms.calls() if f.action.endswith("Transaction")] == [
        "StartTransaction", "StopTransaction"] * 3
    assert [f.payload.get("transactionId") for f in csms.calls("StopTransaction")] == [
        100, 101, 102]
    # The k-th commit ends with k messages sent and the (k+1)-th prepared, not yet sent.
    assert at_commit_end == [(k, k) for k in range(1, 6)] + [(6, 5)]
    await wait_sent_ok(station, 6)
    assert_one_in_flight(csms)


async def test_online_a_message_is_sent_without_reading_the_queue_in_a_thread(
        csms: Csms, make_station: StationFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """While charging online the queue holds the message in flight: the sender takes it from
    the store's in-memory mirror (no worker-thread read), reads no empty queue and reads
    ahead nothing. A long queue (offline backlog) is still read from the table."""
    station = await make_station()
    await station.port.wait_for(CsmsLinkChanged)
    await wait_queue_empty(station)
    reads: list[int] = []
    real_peek = station.store.queue_peek

    def peek(after_seq: int, limit: int) -> object:
        rows = real_peek(after_seq, limit)
        reads.append(len(rows))
        return rows

    monkeypatch.setattr(station.store, "queue_peek", peek)
    a = station.adapter
    a.perform(start())
    await csms.wait_for("StartTransaction")
    await wait_queue_empty(station)
    a.perform(stop())
    await csms.wait_for("StopTransaction")
    await wait_queue_empty(station)
    assert reads == []
    await wait_sent_ok(station, 2)
    monkeypatch.setattr(station.store, "queue_peek_nowait", lambda after, limit: None)
    a.perform(start(tag="TAG2"))  # the mirror cannot tell: the table is read
    await csms.wait_for("StartTransaction", 2)
    assert reads[:1] == [1]
