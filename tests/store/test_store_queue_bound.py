"""The offline queue is bounded: a transaction keeps at most N queued MeterValues, thinned
evenly (first and last kept); a transaction's start and stop are never dropped."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chargepoint.store.api import MessageKind
from chargepoint.store.db import METER_VALUES_PER_TRANSACTION, Store


def _meter_values(store: Store, tx: int) -> list[int]:
    with store._read() as conn:
        rows = conn.execute("SELECT payload FROM outbox WHERE tx_local_id = ? AND"
                            " action = 'transaction-update' ORDER BY seq", (tx,)).fetchall()
    return [int(json.loads(r[0])["n"]) for r in rows]


def _count(store: Store) -> int:
    with store._read() as conn:
        return int(conn.execute("SELECT count(*) FROM outbox").fetchone()[0])


def test_a_week_of_samples_stays_within_the_bound(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.db", meter_values_per_transaction=50)
    tx = store.begin_transaction(1, "A", 0.0, "t0", None, {})
    other = store.begin_transaction(2, "B", 0.0, "t0", None, {})
    store.enqueue(MessageKind.TRANSACTION_UPDATE, {"n": -1}, other)
    for n in range(5000):
        store.enqueue(MessageKind.TRANSACTION_UPDATE, {"n": n}, tx)
    store.stop_transaction(tx, 1.0, "t1", "Local", None, {})
    kept = _meter_values(store, tx)
    assert len(kept) <= 50
    assert kept[0] == 0 and kept[-1] == 4999  # the first and the latest are kept
    gaps = [b - a for a, b in itertools.pairwise(kept)]
    assert max(gaps) <= 4 * 5000 / 50  # spread over the whole transaction, not the newest
    assert _meter_values(store, other) == [-1]  # another transaction is untouched
    with store._read() as conn:
        actions = [r[0] for r in conn.execute("SELECT action FROM outbox ORDER BY seq")]
    assert actions.count(MessageKind.TRANSACTION_START) == 2
    assert actions.count(MessageKind.TRANSACTION_STOP) == 1
    assert store.queue_length() == _count(store)


def test_the_default_bound_keeps_a_12_hour_session_at_60_s_whole(tmp_path: Path) -> None:
    assert METER_VALUES_PER_TRANSACTION >= 12 * 60
    with pytest.raises(ValueError):
        Store.open(tmp_path / "s.db", meter_values_per_transaction=1)


@settings(max_examples=25, deadline=None)
@given(limit=st.integers(2, 12), samples=st.integers(0, 80), head_sent=st.integers(0, 5))
def test_thinning_invariants(limit: int, samples: int, head_sent: int) -> None:
    store = Store.open(":memory:", meter_values_per_transaction=limit)
    tx = store.begin_transaction(1, "A", 0.0, "t0", None, {})
    for n in range(samples):
        store.enqueue(MessageKind.TRANSACTION_UPDATE, {"n": n}, tx)
        if n == head_sent:  # the sender confirms the head meanwhile: nothing else changes
            head = store.queue_head()
            assert head is not None
            store.dequeue(head.seq)
    kept = _meter_values(store, tx)
    assert len(kept) <= limit
    assert kept == sorted(kept)
    if samples:
        assert kept[-1] == samples - 1
    assert store.queue_length() == _count(store)
    store.close()
