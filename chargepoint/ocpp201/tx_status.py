"""GetTransactionStatus (use case E14; OCTT E28-E34) of the 2.0.1 slice.

``TransactionStatus(services)`` is a handler object for ``Ocpp201Client``.

GetTransactionStatus(transactionId?):
- ``messagesInQueue``: with a transactionId, whether a TransactionEvent of that transaction
  still waits in the store's outbound queue (queued, or sent and not yet confirmed); without
  one, whether any TransactionEvent does (E14.FR.06).
- ``ongoingIndicator``: only with a transactionId: whether that transaction is open now (its
  Started decided, its Ended not); an unknown transactionId is not ongoing and has no queued
  messages.
The queue is read in a worker thread (the store is never touched on the event loop).
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from ocpp.v201 import call_result  # type: ignore[import-untyped]

from chargepoint.ocpp201.client import on
from chargepoint.ocpp201.transactions import Transactions
from chargepoint.ports import StationPort
from chargepoint.store.api import MessageKind, QueuedMessage, StoreAPI

# a TransactionEvent waits in the queue under its store kind (Started, Updated, Ended)
_KINDS = {MessageKind.TRANSACTION_START.value, MessageKind.TRANSACTION_UPDATE.value,
          MessageKind.TRANSACTION_STOP.value, "TransactionEvent"}
_PAGE = 200  # queue rows read at a time when looking for any TransactionEvent


def _transaction_event(message: QueuedMessage) -> bool:
    return message.action in _KINDS


def any_transaction_event(store: StoreAPI) -> bool:
    """Whether a TransactionEvent waits in the outbound queue (blocking)."""
    after = -1
    while page := store.queue_peek(after, _PAGE):
        if any(_transaction_event(m) for m in page):
            return True
        after = page[-1].seq
    return False


def transaction_events_of(store: StoreAPI, transaction_id: str) -> bool:
    """Whether a TransactionEvent of ``transaction_id`` waits in the queue (blocking)."""
    record = store.transaction_by_csms_id(transaction_id)
    if record is None:
        return False
    return any(_transaction_event(m) for m in store.queued_for_transaction(record.local_id))


class TransactionStatusServices(Protocol):
    """What ``TransactionStatus`` uses of the adapter (``Ocpp201Adapter``)."""

    @property
    def port(self) -> StationPort: ...
    @property
    def transactions(self) -> Transactions: ...


class TransactionStatus:
    def __init__(self, services: TransactionStatusServices) -> None:
        self._s = services

    @on("GetTransactionStatus")
    async def on_get_transaction_status(self, transaction_id: str | None = None,
                                        **_: Any) -> call_result.GetTransactionStatus:
        store = self._s.port.store
        if transaction_id is None:
            queued = await asyncio.to_thread(any_transaction_event, store)
            return call_result.GetTransactionStatus(messages_in_queue=queued)
        queued = await asyncio.to_thread(transaction_events_of, store, transaction_id)
        ongoing = transaction_id in self._s.transactions.open_transactions()
        return call_result.GetTransactionStatus(messages_in_queue=queued,
                                                ongoing_indicator=ongoing)
