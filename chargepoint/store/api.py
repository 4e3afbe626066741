"""The durable store's public API (sqlite3, WAL, synchronous=FULL).

This module fixes the names and shapes every other package uses. ``chargepoint.store.db``
implements them. Blocking: callers in asyncio wrap calls in ``asyncio.to_thread`` (one
connection, serialised by the store's own lock).

Timestamps are stored as given: ISO 8601 UTC strings when the wall clock is known, or a
placeholder chosen by the OCPP adapter (resolved before sending). Payloads are JSON objects.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


class MessageKind(enum.StrEnum):
    """The queued messages the store itself knows about: a transaction's own (never dropped:
    start, stop; thinned past a bound: updates). Each protocol adapter names them on the wire
    (OCPP 1.6: StartTransaction, StopTransaction, MeterValues; 2.0.1: TransactionEvent
    Started, Ended, Updated). Any other message is queued under the adapter's own name."""

    TRANSACTION_START = "transaction-start"
    TRANSACTION_STOP = "transaction-stop"
    TRANSACTION_UPDATE = "transaction-update"  # meter values during the transaction


@dataclass(frozen=True, slots=True)
class TransactionRecord:
    local_id: int  # ours, assigned at begin; never sent on the wire
    connector: int
    id_tag: str
    meter_start_wh: float
    started_at: str  # ISO 8601 or placeholder
    csms_id: str | None  # the transaction's id on the wire (1.6: the CSMS's, once confirmed)
    reservation_id: int | None
    stopped: bool
    meter_stop_wh: float | None
    stopped_at: str | None
    stop_reason: str | None
    stop_id_tag: str | None


@dataclass(frozen=True, slots=True)
class QueuedMessage:
    seq: int  # strict order
    action: str  # a MessageKind, or the adapter's own name for any other message
    payload: dict[str, Any]
    tx_local_id: int | None  # the transaction this message belongs to
    attempts: int


@dataclass(frozen=True, slots=True)
class ReservationRecord:
    reservation_id: int
    connector: int
    id_tag: str
    parent_id_tag: str | None
    expiry: str  # ISO 8601


@dataclass(frozen=True, slots=True)
class AuthEntry:
    id_tag: str
    status: str  # OCPP AuthorizationStatus
    expiry: str | None  # ISO 8601
    parent_id_tag: str | None


class StoreAPI(Protocol):
    # -- lifecycle
    def close(self) -> None: ...

    # -- transactions (begin/stop also enqueue their message in the same SQL transaction)
    def begin_transaction(
        self,
        connector: int,
        id_tag: str,
        meter_start_wh: float,
        started_at: str,
        reservation_id: int | None,
        message: dict[str, Any],
    ) -> int:
        """Record a new open transaction and queue its start message atomically.

        Returns the local id."""

    def stop_transaction(
        self,
        local_id: int,
        meter_stop_wh: float,
        stopped_at: str,
        reason: str,
        stop_id_tag: str | None,
        message: dict[str, Any],
    ) -> None:
        """Close a transaction and queue its stop message atomically."""

    def set_csms_transaction_id(self, local_id: int, csms_id: str) -> None: ...

    def open_transactions(self) -> list[TransactionRecord]: ...

    def recover_after_crash(
        self,
        now_iso: str,
        build_stop_message: Callable[[TransactionRecord], dict[str, Any]],
    ) -> list[TransactionRecord]:
        """At boot: stop every open transaction with reason PowerLoss at the connector's last
        persisted meter reading (else meter_start_wh), queueing the stop message payload
        ``build_stop_message`` returns for each, atomically per transaction. Returns them."""

    def open_transaction_on(self, connector: int) -> TransactionRecord | None: ...

    def transaction(self, local_id: int) -> TransactionRecord | None: ...

    def transaction_by_csms_id(self, csms_id: str) -> TransactionRecord | None: ...

    # -- outbound queue (strict order; removed only after the CSMS confirmed)
    def enqueue(self, action: str, payload: dict[str, Any], tx_local_id: int | None) -> int: ...

    def queue_head(self) -> QueuedMessage | None: ...

    def queue_length(self) -> int: ...

    def queue_peek(self, after_seq: int, limit: int) -> list[QueuedMessage]:
        """The oldest ``limit`` messages after ``after_seq``, in order."""

    def queue_peek_nowait(self, after_seq: int, limit: int) -> list[QueuedMessage] | None:
        """``queue_peek`` from memory (never blocks), None when memory cannot tell."""

    def queued_for_transaction(self, tx_local_id: int) -> list[QueuedMessage]:
        """Queued messages of one transaction in seq order (to patch in its CSMS id)."""

    def mark_attempt(self, seq: int) -> int:
        """Count one more attempt; returns the new count."""

    def dequeue(self, seq: int) -> None: ...

    def confirm(self, seq: int, tx_local_id: int | None, csms_id: str | None = None,
                cache: AuthEntry | None = None,
                drop_kv: str | None = None) -> TransactionRecord | None:
        """Cache ``cache``, record ``csms_id``, delete kv ``drop_kv`` and remove ``seq`` in
        one store transaction."""

    def update_queued_payload(self, seq: int, payload: dict[str, Any]) -> None: ...

    # -- meter
    def save_meter_reading(self, connector: int, energy_wh: float, at: str) -> None: ...

    def save_meter_readings(self, readings: Sequence[tuple[int, float, str]]) -> None:
        """(connector, energy_wh, at) of several connectors in one commit."""

    def last_meter_reading(self, connector: int) -> tuple[float, str] | None: ...

    # -- configuration (OCPP keys; values as strings, as on the wire)
    def config_get(self, key: str) -> str | None: ...

    def config_set(self, key: str, value: str) -> None: ...

    def config_all(self) -> dict[str, str]: ...

    # -- availability (Inoperative survives reboot)
    def set_availability(self, connector: int, operative: bool) -> None: ...

    def availability(self) -> dict[int, bool]: ...

    # -- authorization cache and local list
    def cache_put(self, entry: AuthEntry) -> None: ...

    def cache_get(self, id_tag: str) -> AuthEntry | None: ...

    def cache_clear(self) -> None: ...

    def local_list_version(self) -> int: ...

    def local_list_get(self, id_tag: str) -> AuthEntry | None: ...

    def local_list_replace(self, version: int, entries: list[AuthEntry]) -> None: ...

    def local_list_update(
        self, version: int, upserts: list[AuthEntry], removals: list[str]
    ) -> None: ...

    def local_list_size(self) -> int: ...

    # -- reservations
    def reservation_put(self, record: ReservationRecord) -> None: ...

    def reservation_remove(self, reservation_id: int) -> None: ...

    def reservations(self) -> list[ReservationRecord]: ...

    # -- charging profiles (JSON as received)
    def profile_put(
        self, profile_id: int, connector: int, stack_level: int, purpose: str,
        profile: dict[str, Any], *, same_level_replaces: bool = True,
    ) -> None: ...

    def profile_remove(self, profile_id: int) -> None: ...

    def profiles(self) -> list[tuple[int, int, dict[str, Any]]]:
        """(profile_id, connector, profile) for every installed profile."""

    # -- latched faults (a welded contactor stays Faulted across restarts)
    def set_latched_fault(self, connector: int, kind: str, active: bool) -> None: ...

    def latched_faults(self) -> list[tuple[int, str]]: ...

    # -- key/value for small state (firmware slot state, boot counters, ...)
    def kv_get(self, key: str) -> str | None: ...

    def kv_set(self, key: str, value: str | None) -> None: ...

    # -- diagnostics
    def summary(self) -> dict[str, Any]:
        """JSON-able: schema_version, queue_length, queue_head, open_transactions,
        local_list_version, local_list_size, auth_cache_size, ... (for status/diagnostics)."""
