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
        if head is None or head.action not in _KINDS:
            return head
        return dataclasses.replace(head, action="TransactionEvent")

    def mark_attempt(self, seq: int) -> int:
        return self._store.mark_attempt(seq)

    def dequeue(self, seq: int) -> None:
        self._store.dequeue(seq)
