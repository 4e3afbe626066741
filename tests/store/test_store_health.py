"""The store is honest about failing writes (disk full) and answers status reads from memory."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from chargepoint.store.api import MessageKind
from chargepoint.store.db import Store
from chargepoint.store.errors import StoreWriteError
from tests.store import diskfull


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store.open(tmp_path / "state.db")
    yield s  # type: ignore[misc]
    s.close()


def test_a_write_on_a_full_disk_raises_and_marks_the_store_failing(store: Store) -> None:
    seen: list[str | None] = []
    store.health.listen(seen.append)
    diskfull.cap(store)  # sqlite's own SQLITE_FULL
    with pytest.raises(StoreWriteError, match="full"):
        store.begin_transaction(1, "TAG", 0.0, "t0", None, {"idTag": "TAG", "pad": "x" * 8000})
    assert store.health.failure is not None and "full" in store.health.failure
    assert seen == [store.health.failure]
    assert store.open_transactions() == [] and store.queue_length() == 0  # nothing half-done
    with pytest.raises(StoreWriteError):
        store.probe_write()  # no room to spare: stays failing
    diskfull.free(store)
    store.probe_write()
    assert store.health.failure is None
    assert seen[-1] is None and len(seen) == 2
    store.begin_transaction(1, "TAG", 0.0, "t0", None, {"idTag": "TAG"})
    assert store.queue_length() == 1


def test_a_small_write_that_still_fits_does_not_clear_the_failure(store: Store) -> None:
    store.kv_set("k", "v")
    diskfull.cap(store)
    with pytest.raises(StoreWriteError):
        store.enqueue("MeterValues", {"pad": "x" * 8000}, None)
    store.kv_set("k", "w")  # fits in its page: succeeds
    assert store.health.failure is not None  # only probe_write (room to spare) clears


def test_caller_misuse_is_not_a_storage_failure(store: Store) -> None:
    store.begin_transaction(1, "TAG", 0.0, "t0", None, {})
    with pytest.raises(ValueError):
        store.begin_transaction(1, "TAG", 0.0, "t0", None, {})
    assert store.health.failure is None


def _answers_while_locked(store: Store, call: object) -> object:
    """Run ``call`` in a thread while this thread holds the store's lock."""
    result: list[object] = []
    with store._lock:
        worker = threading.Thread(target=lambda: result.append(call()))  # type: ignore[operator]
        worker.start()
        worker.join(timeout=5)
        answered = not worker.is_alive()
    worker.join()
    assert answered, "the call waited on the store lock"
    return result[0]


def test_queue_length_open_transactions_and_integrity_check_never_wait_on_the_lock(
    store: Store,
) -> None:
    local_id = store.begin_transaction(1, "TAG", 0.0, "t0", None, {})
    store.enqueue(MessageKind.TRANSACTION_UPDATE, {}, local_id)
    assert _answers_while_locked(store, store.queue_length) == 2
    open_tx = _answers_while_locked(store, store.open_transactions)
    assert [r.local_id for r in open_tx] == [local_id]  # type: ignore[attr-defined]
    assert _answers_while_locked(store, store.integrity_check) == "ok"


def test_the_memory_mirrors_follow_commits_and_survive_a_reopen(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.db")
    a = store.begin_transaction(1, "A", 0.0, "t0", None, {})
    b = store.begin_transaction(2, "B", 0.0, "t0", None, {})
    store.set_csms_transaction_id(a, "7")
    store.stop_transaction(b, 1.0, "t1", "Local", None, {})
    head = store.queue_head()
    assert head is not None
    store.dequeue(head.seq)
    store.dequeue(head.seq)  # a late duplicate changes nothing
    assert store.queue_length() == 2
    assert [(r.local_id, r.csms_id) for r in store.open_transactions()] == [(a, "7")]
    store.close()
    store = Store.open(tmp_path / "s.db")
    assert store.queue_length() == 2
    assert [(r.local_id, r.csms_id) for r in store.open_transactions()] == [(a, "7")]
    stopped = store.recover_after_crash("t2", lambda r: {"reason": r.stop_reason})
    assert [r.local_id for r in stopped] == [a]
    assert store.open_transactions() == [] and store.queue_length() == 3
    store.close()


def test_every_write_fails_on_a_simulated_full_disk_until_freed(store: Store) -> None:
    diskfull.fill(store)
    for write in (lambda: store.kv_set("k", "v"), lambda: store.enqueue("X", {}, None),
                  store.probe_write):
        with pytest.raises(StoreWriteError, match="full"):
            write()
    diskfull.free(store)
    store.probe_write()
    store.kv_set("k", "v")
    assert store.health.failure is None and store.kv_get("k") == "v"
