"""Transactions: begin/stop queue their message in the same commit; PowerLoss recovery."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from chargepoint.store.api import MessageKind, ReservationRecord, TransactionRecord
from chargepoint.store.db import Store
from chargepoint.store.errors import NotFoundError, StoreError, TransactionStateError

T0 = "2026-01-01T10:00:00Z"
T1 = "2026-01-01T11:00:00Z"


def _begin(store: Store, connector: int = 1, tag: str = "04A1B2C3", start: float = 1000.0) -> int:
    return store.begin_transaction(
        connector, tag, start, T0, None, {"connectorId": connector, "idTag": tag}
    )


def test_begin_records_and_queues_start(store: Store) -> None:
    local_id = _begin(store)
    record = store.transaction(local_id)
    assert record == TransactionRecord(
        local_id, 1, "04A1B2C3", 1000.0, T0, None, None, False, None, None, None, None
    )
    assert store.open_transactions() == [record]
    assert store.open_transaction_on(1) == record
    assert store.open_transaction_on(2) is None
    head = store.queue_head()
    assert head is not None
    assert (head.action, head.payload, head.tx_local_id, head.attempts) == (
        MessageKind.TRANSACTION_START, {"connectorId": 1, "idTag": "04A1B2C3"}, local_id, 0
    )


def test_stop_closes_and_queues_stop_after_start(store: Store) -> None:
    local_id = _begin(store)
    store.stop_transaction(local_id, 1500.5, T1, "Local", "04A1B2C3", {"meterStop": 1500})
    record = store.transaction(local_id)
    assert record is not None
    assert record.stopped and record.meter_stop_wh == 1500.5
    assert (record.stopped_at, record.stop_reason, record.stop_id_tag) == (T1, "Local", "04A1B2C3")
    assert store.open_transactions() == []
    assert store.open_transaction_on(1) is None
    actions = [m.action for m in store.queued_for_transaction(local_id)]
    assert actions == [MessageKind.TRANSACTION_START, MessageKind.TRANSACTION_STOP]


def test_one_open_transaction_per_connector(store: Store) -> None:
    first = _begin(store)
    with pytest.raises(TransactionStateError):
        _begin(store, tag="OTHER")
    assert store.queue_length() == 1  # the refused begin queued nothing
    other = _begin(store, connector=2)
    store.stop_transaction(first, 1100, T1, "EVDisconnected", None, {})
    again = _begin(store)
    assert len({first, other, again}) == 3
    assert [r.local_id for r in store.open_transactions()] == [other, again]


def test_stop_refuses_unknown_and_stopped(store: Store) -> None:
    with pytest.raises(NotFoundError):
        store.stop_transaction(99, 1, T1, "Local", None, {})
    local_id = _begin(store)
    store.stop_transaction(local_id, 1100, T1, "Local", None, {})
    with pytest.raises(TransactionStateError):
        store.stop_transaction(local_id, 1200, T1, "Local", None, {})
    record = store.transaction(local_id)
    assert record is not None and record.meter_stop_wh == 1100
    assert store.queue_length() == 2


def test_begin_is_atomic_when_the_queue_insert_fails(store: Store, db_path: Path) -> None:
    # Sabotage the outbox from outside so the second INSERT of begin_transaction fails.
    other = sqlite3.connect(db_path)
    other.execute(
        "CREATE TRIGGER no_queue BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'full'); END"
    )
    other.commit()
    with pytest.raises(sqlite3.IntegrityError):
        _begin(store)
    assert store.open_transactions() == []
    assert store.transaction(1) is None
    other.execute("DROP TRIGGER no_queue")
    other.commit()
    other.close()
    local_id = _begin(store)
    with_stop_sabotaged = sqlite3.connect(db_path)
    with_stop_sabotaged.execute(
        "CREATE TRIGGER no_queue BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'full'); END"
    )
    with_stop_sabotaged.commit()
    with pytest.raises(sqlite3.IntegrityError):
        store.stop_transaction(local_id, 2000, T1, "Local", None, {})
    record = store.transaction(local_id)
    assert record is not None and not record.stopped  # no stop without its message
    with_stop_sabotaged.close()


@pytest.mark.parametrize(
    "message",
    [{"x": {1, 2}}, {"x": float("nan")}, ["not", "a", "dict"]],
    ids=["unserialisable", "nan", "list"],
)
def test_bad_message_writes_nothing(store: Store, message: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        store.begin_transaction(1, "TAG", 0, T0, None, message)
    assert store.open_transactions() == [] and store.queue_length() == 0


def test_non_finite_meter_value_refused(store: Store) -> None:
    with pytest.raises(ValueError):
        store.begin_transaction(1, "TAG", float("inf"), T0, None, {})
    local_id = _begin(store)
    with pytest.raises(ValueError):
        store.stop_transaction(local_id, float("nan"), T1, "Local", None, {})
    assert store.open_transaction_on(1) is not None


def test_begin_consumes_its_reservation(store: Store) -> None:
    store.reservation_put(ReservationRecord(7, 1, "TAG", None, T1))
    store.reservation_put(ReservationRecord(8, 2, "TAG2", None, T1))
    local_id = store.begin_transaction(1, "TAG", 0, T0, 7, {})
    record = store.transaction(local_id)
    assert record is not None and record.reservation_id == 7
    assert [r.reservation_id for r in store.reservations()] == [8]


def test_csms_id(store: Store) -> None:
    first = _begin(store)
    assert store.transaction_by_csms_id("42") is None
    store.set_csms_transaction_id(first, "42")
    record = store.transaction_by_csms_id("42")
    assert record is not None and record.local_id == first and record.csms_id == "42"
    store.stop_transaction(first, 1, T1, "Local", None, {})
    second = _begin(store)
    store.set_csms_transaction_id(second, "42")  # a CSMS that reuses ids: the newest wins
    record = store.transaction_by_csms_id("42")
    assert record is not None and record.local_id == second
    with pytest.raises(NotFoundError):
        store.set_csms_transaction_id(999, "1")


def test_transactions_survive_reopen(db_path: Path) -> None:
    store = Store.open(db_path)
    local_id = _begin(store)
    store.set_csms_transaction_id(local_id, "5")
    store.close()
    with pytest.raises(StoreError):
        store.open_transactions()
    with pytest.raises(StoreError):
        store.kv_set("a", "b")
    store.close()  # idempotent
    reopened = Store.open(db_path)
    record = reopened.open_transaction_on(1)
    assert record is not None and record.local_id == local_id and record.csms_id == "5"
    reopened.close()


def _stop_message(record: TransactionRecord) -> dict[str, Any]:
    return {"transactionId": record.csms_id, "meterStop": record.meter_stop_wh,
            "timestamp": record.stopped_at, "reason": record.stop_reason}


def test_recover_after_crash_uses_last_meter_reading(store: Store) -> None:
    a = _begin(store, connector=1, start=1000)
    b = _begin(store, connector=2, start=500)
    c = _begin(store, connector=3, start=700)
    store.set_csms_transaction_id(a, "11")
    store.save_meter_reading(1, 1234.5, T0)
    store.save_meter_reading(3, 650, T0)  # older than the start (or a replaced meter)
    stopped = store.recover_after_crash(T1, _stop_message)
    assert [(r.local_id, r.meter_stop_wh) for r in stopped] == [(a, 1234.5), (b, 500), (c, 700)]
    assert all(r.stop_reason == "PowerLoss" and r.stopped_at == T1 for r in stopped)
    assert store.open_transactions() == []
    assert [store.transaction(r.local_id) for r in stopped] == stopped
    stop_a = store.queued_for_transaction(a)[-1]
    assert stop_a.action == MessageKind.TRANSACTION_STOP
    assert stop_a.payload == {"transactionId": "11", "meterStop": 1234.5, "timestamp": T1,
                              "reason": "PowerLoss"}
    assert store.recover_after_crash(T1, _stop_message) == []  # nothing left open


def test_recover_after_crash_builder_failure_leaves_transaction_open(store: Store) -> None:
    a = _begin(store, connector=1)
    b = _begin(store, connector=2)

    def build(record: TransactionRecord) -> dict[str, Any]:
        if record.local_id == b:
            raise RuntimeError("adapter bug")
        return _stop_message(record)

    with pytest.raises(RuntimeError):
        store.recover_after_crash(T1, build)
    closed = store.transaction(a)
    assert closed is not None and closed.stopped
    assert [r.local_id for r in store.open_transactions()] == [b]
    assert [m.action for m in store.queued_for_transaction(b)] == [MessageKind.TRANSACTION_START]
