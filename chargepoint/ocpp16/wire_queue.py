"""The store's outbound queue with OCPP 1.6 action names.

The store names a transaction's own messages by kind (``chargepoint.store.api.MessageKind``);
the sender (``outbox.Outbox``) and the transaction code of this package see them as the 1.6
actions they are on the wire. Any other queued message already carries its 1.6 name.
"""

from __future__ import annotations

import dataclasses

from chargepoint.store.api import MessageKind, QueuedMessage, StoreAPI

ACTIONS = {
    MessageKind.TRANSACTION_START: "StartTransaction",
    MessageKind.TRANSACTION_STOP: "StopTransaction",
    MessageKind.TRANSACTION_UPDATE: "MeterValues",
}


def wire_action(kind: str) -> str:
    """The 1.6 action of a queued message's kind."""
    try:
        return ACTIONS[MessageKind(kind)]
    except ValueError:
        return kind  # not a transaction message: queued under its 1.6 name


class WireQueue:
    """``outbox.DurableQueue`` over the store, messages named as on the 1.6 wire."""

    def __init__(self, store: StoreAPI) -> None:
        self._store = store

    def queue_head(self) -> QueuedMessage | None:
        head = self._store.queue_head()
        if head is None:
            return None
        return dataclasses.replace(head, action=wire_action(head.action))

    def queue_peek(self, after_seq: int, limit: int) -> list[QueuedMessage]:
        return [dataclasses.replace(m, action=wire_action(m.action))
                for m in self._store.queue_peek(after_seq, limit)]

    def queue_peek_nowait(self, after_seq: int, limit: int) -> list[QueuedMessage] | None:
        found = self._store.queue_peek_nowait(after_seq, limit)
        return None if found is None else [
            dataclasses.replace(m, action=wire_action(m.action)) for m in found]

    def queue_length(self) -> int:
        return self._store.queue_length()

    def mark_attempt(self, seq: int) -> int:
        return self._store.mark_attempt(seq)

    def dequeue(self, seq: int) -> None:
        self._store.dequeue(seq)
