"""The store's outbound queue as the 2.0.1 sender sees it: a transaction's messages (by
``MessageKind``) are all "TransactionEvent" on the wire (their payload carries eventType)."""

from __future__ import annotations

import dataclasses

from chargepoint.store.api import MessageKind, QueuedMessage, StoreAPI

_KINDS = frozenset(kind.value for kind in MessageKind)


class WireQueue:
    """``ocppj.outbox.DurableQueue`` over the store, messages named as on the 2.0.1 wire."""

    def __init__(self, store: StoreAPI) -> None:
        self._store = store

    def queue_head(self) -> QueuedMessage | None:
        head = self._store.queue_head()
        return None if head is None else _on_the_wire(head)

    def queue_peek(self, after_seq: int, limit: int) -> list[QueuedMessage]:
        return [_on_the_wire(m) for m in self._store.queue_peek(after_seq, limit)]

    def queue_peek_nowait(self, after_seq: int, limit: int) -> list[QueuedMessage] | None:
        found = self._store.queue_peek_nowait(after_seq, limit)
        return None if found is None else [_on_the_wire(m) for m in found]

    def queue_length(self) -> int:
        return self._store.queue_length()

    def mark_attempt(self, seq: int) -> int:
        return self._store.mark_attempt(seq)

    def dequeue(self, seq: int) -> None:
        self._store.dequeue(seq)


def _on_the_wire(msg: QueuedMessage) -> QueuedMessage:
    """A transaction's message is a TransactionEvent; any other keeps its queued name."""
    if msg.action not in _KINDS:
        return msg
    return dataclasses.replace(msg, action="TransactionEvent")
