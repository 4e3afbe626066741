"""The outbound queue: strict seq order (also across reopen and deletes), attempts, payloads."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from chargepoint.store.api import AuthEntry
from chargepoint.store.db import Store
from chargepoint.store.errors import NotFoundError


def test_empty_queue(store: Store) -> None:
    assert store.queue_head() is None
    assert store.queue_length() == 0
    assert store.queued_for_transaction(1) == []


def test_fifo_with_attempts_and_dequeue(store: Store) -> None:
    seqs = [store.enqueue("MeterValues", {"n": n}, None) for n in range(5)]
    assert seqs == sorted(seqs) and len(set(seqs)) == 5
    assert store.queue_length() == 5
    head = store.queue_head()
    assert head is not None and head.seq == seqs[0] and head.payload == {"n": 0}
    assert store.mark_attempt(seqs[0]) == 1
    assert store.mark_attempt(seqs[0]) == 2
    head = store.queue_head()
    assert head is not None and head.attempts == 2
    store.dequeue(seqs[0])
    store.dequeue(seqs[0])  # a duplicate confirmation is harmless
    store.dequeue(seqs[2])  # removing from the middle keeps the rest in order
    order = []
    while (head := store.queue_head()) is not None:
        order.append(head.payload["n"])
        store.dequeue(head.seq)
    assert order == [1, 3, 4]


def test_unknown_seq(store: Store) -> None:
    with pytest.raises(NotFoundError):
        store.mark_attempt(1)
    with pytest.raises(NotFoundError):
        store.update_queued_payload(1, {})


def test_update_payload_keeps_place(store: Store) -> None:
    a = store.enqueue("StopTransaction", {"transactionId": -1}, None)
    b = store.enqueue("Heartbeat", {}, None)
    store.update_queued_payload(a, {"transactionId": 17, "name": "Zoë ⚡"})
    head = store.queue_head()
    assert head is not None and head.seq == a
    assert head.payload == {"transactionId": 17, "name": "Zoë ⚡"}
    store.dequeue(a)
    head = store.queue_head()
    assert head is not None and head.seq == b


def test_order_survives_reopen_and_seq_never_reused(db_path: Path) -> None:
    store = Store.open(db_path)
    first = [store.enqueue("DataTransfer", {"n": n}, None) for n in range(3)]
    store.dequeue(first[-1])  # the highest seq is gone: it must still never come back
    store.close()
    store = Store.open(db_path)
    later = [store.enqueue("DataTransfer", {"n": n}, None) for n in range(3, 6)]
    assert min(later) > max(first)
    drained = []
    while (head := store.queue_head()) is not None:
        drained.append(head.payload["n"])
        store.dequeue(head.seq)
    assert drained == [0, 1, 3, 4, 5]
    store.close()


def test_queue_rejects_unknown_transaction(store: Store) -> None:
    with pytest.raises(Exception, match="FOREIGN KEY"):
        store.enqueue("MeterValues", {}, 12345)
    assert store.queue_length() == 0


async def test_concurrent_enqueue_from_threads(store: Store) -> None:
    # The store's lock serialises callers that use asyncio.to_thread, as the adapter does.
    seqs = await asyncio.gather(
        *(asyncio.to_thread(store.enqueue, "MeterValues", {"n": n}, None) for n in range(40))
    )
    assert len(set(seqs)) == 40
    assert store.queue_length() == 40
    by_seq = sorted(zip(seqs, range(40), strict=True))
    head = store.queue_head()
    assert head is not None and head.payload == {"n": by_seq[0][1]}


def test_confirm_records_the_csms_id_and_dequeues_in_one_transaction(store: Store) -> None:
    start = {"connectorId": 1, "idTag": "T", "meterStart": 0, "timestamp": "x"}
    local = store.begin_transaction(1, "T", 0.0, "x", None, start)
    later = store.enqueue("Heartbeat", {}, None)
    head = store.queue_head()
    assert head is not None and head.tx_local_id == local
    record = store.confirm(head.seq, local, "4711")
    assert record is not None and record.csms_id == "4711" and not record.stopped
    assert store.transaction(local) == record
    assert [t.csms_id for t in store.open_transactions()] == ["4711"]  # the mirror follows
    assert store.queue_length() == 1
    after = store.queue_head()
    assert after is not None and after.seq == later
    # a late duplicate removes nothing more; a message without a transaction returns None
    assert store.confirm(head.seq, local) == record
    assert store.queue_length() == 1
    assert store.confirm(later, None) is None
    assert store.queue_head() is None and store.queue_length() == 0


def test_confirm_puts_the_cache_entry_in_the_same_commit(store: Store) -> None:
    seq = store.enqueue("StopTransaction", {"n": 1}, None)
    entry = AuthEntry("TAG7", "Blocked", None, None)
    assert store.confirm(seq, None, cache=entry) is None
    assert store.cache_get("TAG7") == entry and store.queue_length() == 0
    seq = store.enqueue("StartTransaction", {"n": 2}, None)
    with pytest.raises(NotFoundError):  # a failing confirmation changes nothing at all
        store.confirm(seq, 999, "1", AuthEntry("TAG8", "Accepted", None, None))
    assert store.cache_get("TAG8") is None and store.queue_length() == 1


def test_confirm_drops_a_kv_key_in_the_same_commit(store: Store) -> None:
    store.kv_set("counter", "7")
    seq = store.enqueue("TransactionEvent", {"n": 1}, None)
    assert store.confirm(seq, None, drop_kv="counter") is None
    assert store.kv_get("counter") is None and store.queue_length() == 0
    store.kv_set("counter", "8")
    seq = store.enqueue("StartTransaction", {"n": 2}, None)
    with pytest.raises(NotFoundError):  # a failing confirmation keeps the key too
        store.confirm(seq, 999, "1", drop_kv="counter")
    assert store.kv_get("counter") == "8" and store.queue_length() == 1


def test_confirm_with_an_unknown_transaction_removes_nothing(store: Store) -> None:
    seq = store.enqueue("StartTransaction", {"n": 1}, None)
    with pytest.raises(NotFoundError):
        store.confirm(seq, 999, "1")
    head = store.queue_head()
    assert head is not None and head.seq == seq and store.queue_length() == 1


def test_queue_peek_reads_ahead_in_order_after_a_seq(store: Store) -> None:
    seqs = [store.enqueue("MeterValues", {"n": n}, None) for n in range(5)]
    store.dequeue(seqs[1])
    assert [m.seq for m in store.queue_peek(-1, 1)] == [seqs[0]]
    assert store.queue_peek(-1, 1) == [store.queue_head()]
    assert [m.payload["n"] for m in store.queue_peek(-1, 10)] == [0, 2, 3, 4]
    assert [m.seq for m in store.queue_peek(seqs[0], 2)] == [seqs[2], seqs[3]]
    assert store.queue_peek(seqs[4], 10) == []


def test_a_short_queue_is_read_from_memory_until_it_is_thinned_then_again_once_empty(
        db_path: Path) -> None:
    store = Store.open(db_path, meter_values_per_transaction=4)
    try:
        tx = store.begin_transaction(1, "A", 0.0, "t0", None, {"n": 0})
        for n in range(4):
            store.enqueue("transaction-update", {"n": n}, tx)
        mirrored = store.queue_peek_nowait(-1, 10)
        assert mirrored is not None and mirrored == store.queue_peek(-1, 10)
        assert [m.action for m in mirrored] == ["transaction-start"] + ["transaction-update"] * 4
        store.enqueue("transaction-update", {"n": 4}, tx)  # over the bound: thinned
        assert store.queue_peek_nowait(-1, 10) is None  # not followed row by row
        for m in store.queue_peek(-1, 10):
            store.dequeue(m.seq)
        assert store.queue_peek_nowait(-1, 10) == []  # empty: known again
        seq = store.enqueue("Heartbeat", {}, None)
        assert store.queue_peek_nowait(seq - 1, 1) == store.queue_peek(seq - 1, 1)
    finally:
        store.close()
