"""The queue against a model (a list): any mix of enqueue, dequeue, attempts, payload updates
and re-opens keeps FIFO order by seq, counts and payloads, and the in-memory mirror of a short
queue (``queue_peek_nowait``) says the same as the table. Also two connections at once."""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from chargepoint.store.db import Store
from chargepoint.store.short_queue import LIMIT as SHORT_LIMIT

OPS = st.lists(
    st.one_of(
        st.tuples(st.just("enqueue"), st.integers(0, 1000)),
        st.tuples(st.just("dequeue_head"), st.just(0)),
        st.tuples(st.just("dequeue_nth"), st.integers(0, 10)),
        st.tuples(st.just("attempt_head"), st.just(0)),
        st.tuples(st.just("update_nth"), st.integers(0, 10)),
        st.tuples(st.just("reopen"), st.just(0)),
        st.tuples(st.just("burst"), st.integers(1, 70)),  # around the in-memory mirror's limit
        st.tuples(st.just("confirm_head"), st.just(0)),
    ),
    max_size=40,
)


@settings(max_examples=40, deadline=None)
@given(ops=OPS)
def test_queue_matches_model(ops: list[tuple[str, int]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "q.db"
        store = Store.open(path)
        model: list[tuple[int, dict[str, int], int]] = []  # (seq, payload, attempts)
        known = True  # the store's in-memory mirror of the queue knows every row
        for op, arg in ops:
            if op == "enqueue":
                seq = store.enqueue("DataTransfer", {"v": arg}, None)
                assert all(seq > s for s, _, _ in model)
                model.append((seq, {"v": arg}, 0))
            elif op == "dequeue_head" and model:
                store.dequeue(model.pop(0)[0])
            elif op == "dequeue_nth" and model:
                store.dequeue(model.pop(arg % len(model))[0])
            elif op == "attempt_head" and model:
                seq, payload, attempts = model[0]
                assert store.mark_attempt(seq) == attempts + 1
                model[0] = (seq, payload, attempts + 1)
            elif op == "update_nth" and model:
                i = arg % len(model)
                seq, _, attempts = model[i]
                store.update_queued_payload(seq, {"v": -arg})
                model[i] = (seq, {"v": -arg}, attempts)
            elif op == "reopen":
                store.close()
                store = Store.open(path)
            elif op == "burst":
                for n in range(arg):
                    model.append((store.enqueue("DataTransfer", {"b": n}, None), {"b": n}, 0))
            elif op == "confirm_head" and model:
                store.confirm(model.pop(0)[0], None)
            assert store.queue_length() == len(model)
            # the in-memory mirror, where it knows the queue, says what the table says
            # (known: from the last reopen or empty queue on, never longer than its limit)
            if len(model) > SHORT_LIMIT:
                known = False
            elif not model or op == "reopen":
                known = True
            mirrored = store.queue_peek_nowait(-1, 1000)
            assert (mirrored is not None) == known
            if mirrored is not None:
                assert mirrored == store.queue_peek(-1, 1000)
                after = model[len(model) // 2][0] if model else 0
                assert store.queue_peek_nowait(after, 3) == store.queue_peek(after, 3)
            head = store.queue_head()
            if model:
                assert head is not None
                assert (head.seq, head.payload, head.attempts) == model[0]
            else:
                assert head is None
        drained = []
        while (head := store.queue_head()) is not None:
            drained.append((head.seq, head.payload, head.attempts))
            store.dequeue(head.seq)
        assert drained == model
        store.close()


def test_two_connections_share_the_file(tmp_path: Path) -> None:
    # E.g. the daemon and a CLI tool: the busy timeout serialises their writes.
    path = tmp_path / "state.db"
    first, second = Store.open(path), Store.open(path)
    seqs: list[int] = []
    lock = threading.Lock()

    def write(store: Store, base: int) -> None:
        for n in range(50):
            seq = store.enqueue("Heartbeat", {"n": base + n}, None)
            with lock:
                seqs.append(seq)

    threads = [threading.Thread(target=write, args=(s, b)) for s, b in ((first, 0), (second, 100))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seqs)) == 100
    first.close()
    second.close()
    # queue_length is each Store's memory of its own commits (one process owns the store):
    # a fresh open counts the file.
    third = Store.open(path)
    assert third.queue_length() == 100
    third.close()
