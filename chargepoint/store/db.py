"""``Store``: the sqlite3 implementation of ``chargepoint.store.api.StoreAPI``.

One connection in autocommit mode, serialised by a ``threading.Lock``; every write is one
``BEGIN IMMEDIATE`` .. ``COMMIT`` and is durable when the method returns (WAL,
``synchronous=FULL``). Blocking: asyncio callers use ``asyncio.to_thread``. The schema is
documented in ``chargepoint.store.migrations``.

Contract beyond ``StoreAPI``:
- Payloads must be JSON objects (``dict``) without NaN/Infinity: ``TypeError``/``ValueError``
  before anything is written.
- ``begin_transaction`` refuses a second open transaction on a connector
  (``TransactionStateError``); ``stop_transaction`` refuses an unknown (``NotFoundError``) or
  already stopped (``TransactionStateError``) one. Nothing is written when they raise.
- ``mark_attempt``, ``update_queued_payload`` and ``set_csms_transaction_id`` raise
  ``NotFoundError`` for an unknown id; ``dequeue`` of an unknown seq does nothing (a late
  duplicate confirmation is harmless).
- Each ``save_meter_reading`` is one fsync: callers rate-limit it (SD card wear).
- ``queue_length``, ``queue_peek_nowait`` (a short queue only: ``short_queue``),
  ``open_transactions`` and ``availability`` are answered from memory
  (mirrors updated when a write commits): they never wait on the lock, so ``status`` and
  systemd's STATUS line stay current while a long write or a slow disk holds it. The mirrors
  know this ``Store``'s commits only: one process (the daemon) owns the file.

Bounded queue (docs/architecture.md, "Durable before acknowledged"): a transaction keeps at
most ``meter_values_per_transaction`` queued meter values (``MessageKind.TRANSACTION_UPDATE``,
1.6 MeterValues). When an ``enqueue`` goes over, about half of them are dropped so that what is
kept stays evenly spread from the transaction's first to its latest queued update (a coarser
interval over the whole transaction, not just the newest samples). A transaction's start and
stop are never dropped; its oldest queued update (possibly in flight) and the newest are always
kept.
"""

from __future__ import annotations

import bisect
import dataclasses
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

from chargepoint.store import migrations
from chargepoint.store.api import (
    AuthEntry,
    MessageKind,
    QueuedMessage,
    StoreAPI,
    TransactionRecord,
)
from chargepoint.store.auth import put_cache_entry
from chargepoint.store.base import open_error
from chargepoint.store.codec import (
    dump_payload,
    finite,
    queued_from_row,
    transaction_from_row,
)
from chargepoint.store.errors import NotFoundError, StoreError, TransactionStateError
from chargepoint.store.short_queue import LIMIT as SHORT_LIMIT
from chargepoint.store.short_queue import ShortQueue
from chargepoint.store.state import StateTables

_TX_COLUMNS = (
    "local_id, connector, id_tag, meter_start_wh, started_at, csms_id, reservation_id,"
    " stopped, meter_stop_wh, stopped_at, stop_reason, stop_id_tag"
)
_Q_COLUMNS = "seq, action, payload, tx_local_id, attempts"

POWER_LOSS = "PowerLoss"  # OCPP 1.6 Reason for transactions found open after a restart
# 12 h at the default 60 s interval fits unthinned; a thinned transaction adds ~250 kB and ~1000
# CALLs to a replay (minutes at a real CSMS's round trip, not hours).
METER_VALUES_PER_TRANSACTION = 1000


class Store(StateTables):
    """The durable store. Create with ``Store.open(path)``; ``close()`` when done."""

    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        busy_timeout_s: float = 5.0,
        auth_cache_limit: int = 1000,
        meter_values_per_transaction: int = METER_VALUES_PER_TRANSACTION,
    ) -> Self:
        """``StoreBase.open``; ``meter_values_per_transaction`` (>= 2) bounds the queue."""
        if meter_values_per_transaction < 2:
            raise ValueError("meter_values_per_transaction must be at least 2 (first and last)")
        store = super().open(path, busy_timeout_s=busy_timeout_s,
                             auth_cache_limit=auth_cache_limit)
        store._meter_values_limit = meter_values_per_transaction
        store._meter_values = {}
        try:
            with store._read() as conn:
                store._queued = _count(conn, "SELECT count(*) FROM outbox")
                store._short = ShortQueue()
                store._short.load(conn.execute(
                    f"SELECT {_Q_COLUMNS} FROM outbox ORDER BY seq LIMIT ?", (SHORT_LIMIT + 1,)
                ).fetchall(), store._queued)
                rows = conn.execute(
                    f"SELECT {_TX_COLUMNS} FROM transactions WHERE stopped = 0 ORDER BY local_id"
                ).fetchall()
                store._open = {r.local_id: r for r in map(transaction_from_row, rows)}
            store.availability()  # fills its mirror
        except sqlite3.Error as exc:
            store.close()
            raise open_error(store.path, exc) from exc
        return store

    _meter_values_limit = METER_VALUES_PER_TRANSACTION
    _queued = 0  # mirror of count(*) FROM outbox
    _short: ShortQueue  # mirror of the outbox rows while few (``short_queue``)
    _open: dict[int, TransactionRecord]  # mirror of the open transactions by local id
    _meter_values: dict[int, int]  # queued MeterValues per transaction (those counted so far)

    def _queue_added(self, seq: int, action: str, payload: str, tx_local_id: int | None,
                     dropped: int = 0) -> None:
        def apply() -> None:
            self._queued += 1 - dropped
            if dropped:
                self._short.forget()
            else:
                self._short.added((seq, str(action), payload, tx_local_id, 0))
        self._after_commit(apply)

    def _remove_queued(self, conn: sqlite3.Connection, seq: int) -> None:
        """Delete queued message ``seq`` (nothing if it is gone already); the mirrors follow
        when the write commits."""
        row = conn.execute(
            "DELETE FROM outbox WHERE seq = ? RETURNING action, tx_local_id", (seq,)
        ).fetchone()
        if row is None:
            return

        def apply() -> None:
            self._queued -= 1
            self._short.removed([seq], now_empty=self._queued == 0)
        self._after_commit(apply)
        if row[0] == MessageKind.TRANSACTION_UPDATE and row[1] is not None:
            self._meter_values_changed(int(row[1]), None)  # counted again when needed

    def _meter_values_changed(self, tx_local_id: int, count: int | None) -> None:
        def apply() -> None:
            if count is None:
                self._meter_values.pop(tx_local_id, None)
            else:
                self._meter_values[tx_local_id] = count
        self._after_commit(apply)

    def _open_changed(self, local_id: int, record: TransactionRecord | None) -> None:
        def apply() -> None:
            if record is None or record.stopped:
                self._open.pop(local_id, None)
            else:
                self._open[local_id] = record
        self._after_commit(apply)

    # -- transactions ------------------------------------------------------------------------

    def begin_transaction(
        self,
        connector: int,
        id_tag: str,
        meter_start_wh: float,
        started_at: str,
        reservation_id: int | None,
        message: dict[str, Any],
    ) -> int:
        """Record an open transaction and queue its StartTransaction ``message`` atomically.

        A reservation it consumes (``reservation_id``) is removed in the same commit
        (OCPP 1.6 5.13). Returns the new local id."""
        payload = dump_payload(message)
        start_wh = finite(meter_start_wh, "meter_start_wh")
        with self._write() as conn:
            if _open_on(conn, connector) is not None:
                raise TransactionStateError(
                    f"connector {connector} already has an open transaction"
                )
            cur = conn.execute(
                "INSERT INTO transactions (connector, id_tag, meter_start_wh, started_at,"
                " reservation_id) VALUES (?, ?, ?, ?, ?)",
                (connector, id_tag, start_wh, started_at, reservation_id),
            )
            local_id = _lastrowid(cur)
            seq = _enqueue(conn, MessageKind.TRANSACTION_START, payload, local_id)
            if reservation_id is not None:
                conn.execute(
                    "DELETE FROM reservations WHERE reservation_id = ?", (reservation_id,)
                )
            self._queue_added(seq, MessageKind.TRANSACTION_START, payload, local_id)
            self._open_changed(local_id, _transaction(conn, local_id))
        return local_id

    def stop_transaction(
        self,
        local_id: int,
        meter_stop_wh: float,
        stopped_at: str,
        reason: str,
        stop_id_tag: str | None,
        message: dict[str, Any],
    ) -> None:
        """Close transaction ``local_id`` and queue its StopTransaction ``message`` atomically."""
        payload = dump_payload(message)
        stop_wh = finite(meter_stop_wh, "meter_stop_wh")
        with self._write() as conn:
            _stop(conn, local_id, stop_wh, stopped_at, reason, stop_id_tag)
            seq = _enqueue(conn, MessageKind.TRANSACTION_STOP, payload, local_id)
            self._queue_added(seq, MessageKind.TRANSACTION_STOP, payload, local_id)
            self._open_changed(local_id, None)

    def recover_after_crash(
        self,
        now_iso: str,
        build_stop_message: Callable[[TransactionRecord], dict[str, Any]],
    ) -> list[TransactionRecord]:
        """Stop every transaction left open by a crash or power loss (reason ``PowerLoss``).

        Call once at boot, before sessions or the CSMS link start. The meter stop value is the
        connector's last persisted reading, or ``meter_start_wh`` when there is none or it is
        lower (a reading from before the start, or a replaced meter); ``stopped_at`` is
        ``now_iso``. ``build_stop_message`` gets the stopped record (called without the store's
        lock: it may read the store) and returns the StopTransaction payload. Each transaction
        is stopped and its message queued in one commit. Returns the stopped records. If
        ``build_stop_message`` raises, that transaction stays open and the error propagates."""
        stopped: list[TransactionRecord] = []
        for record in self.open_transactions():
            last = self.last_meter_reading(record.connector)
            meter_stop = record.meter_start_wh
            if last is not None and last[0] > meter_stop:
                meter_stop = last[0]
            done = dataclasses.replace(
                record,
                stopped=True,
                meter_stop_wh=meter_stop,
                stopped_at=now_iso,
                stop_reason=POWER_LOSS,
                stop_id_tag=None,
            )
            payload = dump_payload(build_stop_message(done))
            with self._write() as conn:
                if _transaction(conn, record.local_id) != record:
                    continue  # changed meanwhile (stopped by another caller): leave it alone
                _stop(conn, record.local_id, meter_stop, now_iso, POWER_LOSS, None)
                seq = _enqueue(conn, MessageKind.TRANSACTION_STOP, payload, record.local_id)
                self._queue_added(seq, MessageKind.TRANSACTION_STOP, payload, record.local_id)
                self._open_changed(record.local_id, None)
            stopped.append(done)
        return stopped

    def set_csms_transaction_id(self, local_id: int, csms_id: str) -> None:
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE transactions SET csms_id = ? WHERE local_id = ?", (csms_id, local_id)
            )
            if cur.rowcount == 0:
                raise NotFoundError(f"no transaction with local id {local_id}")
            self._open_changed(local_id, _transaction(conn, local_id))

    def open_transactions(self) -> list[TransactionRecord]:
        """Open transactions, oldest first (from memory: never waits on the lock)."""
        if self._conn is None:
            raise StoreError("store is closed")
        return sorted(self._open.copy().values(), key=lambda r: r.local_id)

    def open_transaction_on(self, connector: int) -> TransactionRecord | None:
        with self._read() as conn:
            return _open_on(conn, connector)

    def transaction(self, local_id: int) -> TransactionRecord | None:
        with self._read() as conn:
            return _transaction(conn, local_id)

    def transaction_by_csms_id(self, csms_id: str) -> TransactionRecord | None:
        """The newest transaction the CSMS gave ``csms_id`` (a CSMS may reuse ids)."""
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {_TX_COLUMNS} FROM transactions WHERE csms_id = ?"
                " ORDER BY local_id DESC LIMIT 1",
                (csms_id,),
            ).fetchone()
        return None if row is None else transaction_from_row(row)

    # -- outbound queue ----------------------------------------------------------------------

    def enqueue(self, action: str, payload: dict[str, Any], tx_local_id: int | None) -> int:
        """Append a message; returns its seq (strictly greater than every seq before it).

        A transaction's MeterValues over the bound thin its queued ones (module docstring)."""
        data = dump_payload(payload)
        with self._write() as conn:
            seq = _enqueue(conn, action, data, tx_local_id)
            dropped = 0
            if action == MessageKind.TRANSACTION_UPDATE and tx_local_id is not None:
                count = self._meter_values.get(tx_local_id)
                count = _count_meter_values(conn, tx_local_id) if count is None else count + 1
                if count > self._meter_values_limit:
                    dropped = _thin(conn, tx_local_id, self._meter_values_limit)
                    count -= dropped
                self._meter_values_changed(tx_local_id, count)
            self._queue_added(seq, action, data, tx_local_id, dropped)
            return seq

    def queue_head(self) -> QueuedMessage | None:
        """The oldest unconfirmed message (lowest seq), or None when the queue is empty."""
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {_Q_COLUMNS} FROM outbox ORDER BY seq LIMIT 1"
            ).fetchone()
        return None if row is None else queued_from_row(row)

    def queue_peek(self, after_seq: int, limit: int) -> list[QueuedMessage]:
        """Up to ``limit`` oldest messages with a seq above ``after_seq``, in seq order (the
        sender reads ahead in batches; ``queue_peek(-1, 1)`` is ``[queue_head()]``)."""
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {_Q_COLUMNS} FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
                (after_seq, limit),
            ).fetchall()
        return [queued_from_row(row) for row in rows]

    def queue_peek_nowait(self, after_seq: int, limit: int) -> list[QueuedMessage] | None:
        """``queue_peek`` from memory while the queue is short (no lock, no disk: call it on
        the event loop), None when it is not known there (then ``queue_peek``)."""
        if self._conn is None:
            raise StoreError("store is closed")
        return self._short.peek(after_seq, limit)

    def queued_for_transaction(self, tx_local_id: int) -> list[QueuedMessage]:
        """Queued messages of one transaction in seq order (to patch in its CSMS id)."""
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {_Q_COLUMNS} FROM outbox WHERE tx_local_id = ? ORDER BY seq",
                (tx_local_id,),
            ).fetchall()
        return [queued_from_row(row) for row in rows]

    def queue_length(self) -> int:
        """Messages not yet confirmed (from memory: never waits on the lock)."""
        if self._conn is None:
            raise StoreError("store is closed")
        return self._queued

    def mark_attempt(self, seq: int) -> int:
        """Count one more send attempt of ``seq``; returns the new count."""
        with self._write() as conn:
            row = conn.execute(
                "UPDATE outbox SET attempts = attempts + 1 WHERE seq = ? RETURNING attempts",
                (seq,),
            ).fetchone()
            if row is None:
                raise NotFoundError(f"no queued message with seq {seq}")
            attempts = int(row[0])
            self._after_commit(lambda: self._short.changed(seq, attempts=attempts))
            return attempts

    def dequeue(self, seq: int) -> None:
        """Remove a message the CSMS confirmed. Unknown ``seq``: nothing happens."""
        with self._write() as conn:
            self._remove_queued(conn, seq)

    def confirm(self, seq: int, tx_local_id: int | None, csms_id: str | None = None,
                cache: AuthEntry | None = None,
                drop_kv: str | None = None) -> TransactionRecord | None:
        """The CSMS confirmed queued message ``seq``: in ONE transaction (one commit) put
        ``cache`` into the authorization cache (its idTagInfo), record ``csms_id`` on
        transaction ``tx_local_id`` (StartTransaction.conf), delete the kv key ``drop_kv``
        (state the message ends, e.g. a transaction's seqNo counter) and remove the message.
        Returns that transaction as committed (None without one). A message already removed
        changes nothing but the cache, the id and the key; an unknown transaction with
        ``csms_id`` raises NotFoundError and changes nothing."""
        with self._write() as conn:
            if drop_kv is not None:
                conn.execute("DELETE FROM kv WHERE key = ?", (drop_kv,))
            if cache is not None:
                put_cache_entry(conn, cache, self._auth_cache_limit)
            if csms_id is not None and tx_local_id is not None:
                cur = conn.execute(
                    "UPDATE transactions SET csms_id = ? WHERE local_id = ?",
                    (csms_id, tx_local_id),
                )
                if cur.rowcount == 0:
                    raise NotFoundError(f"no transaction with local id {tx_local_id}")
            self._remove_queued(conn, seq)
            if tx_local_id is None:
                return None
            record = _transaction(conn, tx_local_id)
            if csms_id is not None:
                self._open_changed(tx_local_id, record)
            return record

    def update_queued_payload(self, seq: int, payload: dict[str, Any]) -> None:
        """Replace a queued message's payload, keeping its place in the queue."""
        data = dump_payload(payload)
        with self._write() as conn:
            cur = conn.execute("UPDATE outbox SET payload = ? WHERE seq = ?", (data, seq))
            if cur.rowcount == 0:
                raise NotFoundError(f"no queued message with seq {seq}")
            self._after_commit(lambda: self._short.changed(seq, payload=data))

    # -- diagnostics -------------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        """A JSON-able snapshot for ``status`` and diagnostics (one consistent read)."""
        with self._read() as conn:
            conn.execute("BEGIN")
            try:
                head = conn.execute(
                    "SELECT seq, action, attempts FROM outbox ORDER BY seq LIMIT 1"
                ).fetchone()
                result: dict[str, Any] = {
                    "path": self._path,
                    "schema_version": migrations.schema_version(conn),
                    "queue_length": _count(conn, "SELECT count(*) FROM outbox"),
                    "queue_head": None
                    if head is None
                    else {"seq": head[0], "action": head[1], "attempts": head[2]},
                    "open_transactions": _count(
                        conn, "SELECT count(*) FROM transactions WHERE stopped = 0"
                    ),
                    "local_list_version": _count(
                        conn, "SELECT version FROM local_list_meta WHERE id = 1"
                    ),
                    "local_list_size": _count(conn, "SELECT count(*) FROM local_list"),
                    "auth_cache_size": _count(conn, "SELECT count(*) FROM auth_cache"),
                    "charging_profiles": _count(conn, "SELECT count(*) FROM charging_profiles"),
                    "reservations": _count(conn, "SELECT count(*) FROM reservations"),
                    "latched_faults": _count(conn, "SELECT count(*) FROM latched_faults"),
                }
            finally:
                conn.execute("COMMIT")
        return result


# -- helpers (called with the lock held) ---------------------------------------------------


def _count(conn: sqlite3.Connection, sql: str) -> int:
    row = conn.execute(sql).fetchone()
    return 0 if row is None else int(row[0])


def _lastrowid(cur: sqlite3.Cursor) -> int:
    rowid = cur.lastrowid
    if rowid is None:  # pragma: no cover - sqlite always sets it after an INSERT
        raise StoreError("insert returned no row id")
    return rowid


def _count_meter_values(conn: sqlite3.Connection, tx_local_id: int) -> int:
    row = conn.execute(
        "SELECT count(*) FROM outbox WHERE tx_local_id = ? AND action = 'transaction-update'",
        (tx_local_id,),
    ).fetchone()
    return int(row[0])


def _thin(conn: sqlite3.Connection, tx_local_id: int, limit: int) -> int:
    """Over ``limit`` queued MeterValues of a transaction: keep about half, evenly spread from
    its first to its last (seq order stands in for time: a transaction's samples are queued at
    a steady interval). Returns how many were dropped."""
    seqs = [int(r[0]) for r in conn.execute(
        "SELECT seq FROM outbox WHERE tx_local_id = ? AND action = 'transaction-update'"
        " ORDER BY seq",
        (tx_local_id,),
    )]
    if len(seqs) <= limit:
        return 0
    keep = _evenly(seqs, limit // 2 + 1)
    drop = [s for s in seqs if s not in keep]
    conn.executemany("DELETE FROM outbox WHERE seq = ?", [(s,) for s in drop])
    return len(drop)


def _evenly(seqs: list[int], count: int) -> set[int]:
    """At most ``count`` (>= 2) of ``seqs`` (ascending): the first, the last, and those
    nearest to evenly spaced points between them."""
    first, last = seqs[0], seqs[-1]
    keep = {first, last}
    for j in range(1, count - 1):
        ideal = first + (last - first) * j / (count - 1)
        i = bisect.bisect_left(seqs, ideal)
        nearest = min(seqs[max(i - 1, 0):i + 1], key=lambda s: abs(s - ideal))
        keep.add(nearest)
    return keep


def _enqueue(conn: sqlite3.Connection, action: str, payload: str, tx: int | None) -> int:
    cur = conn.execute(
        "INSERT INTO outbox (action, payload, tx_local_id) VALUES (?, ?, ?)",
        (action, payload, tx),
    )
    return _lastrowid(cur)


def _transaction(conn: sqlite3.Connection, local_id: int) -> TransactionRecord | None:
    row = conn.execute(
        f"SELECT {_TX_COLUMNS} FROM transactions WHERE local_id = ?", (local_id,)
    ).fetchone()
    return None if row is None else transaction_from_row(row)


def _open_on(conn: sqlite3.Connection, connector: int) -> TransactionRecord | None:
    row = conn.execute(
        f"SELECT {_TX_COLUMNS} FROM transactions WHERE connector = ? AND stopped = 0",
        (connector,),
    ).fetchone()
    return None if row is None else transaction_from_row(row)


def _stop(
    conn: sqlite3.Connection,
    local_id: int,
    meter_stop_wh: float,
    stopped_at: str,
    reason: str,
    stop_id_tag: str | None,
) -> None:
    current = _transaction(conn, local_id)
    if current is None:
        raise NotFoundError(f"no transaction with local id {local_id}")
    if current.stopped:
        raise TransactionStateError(f"transaction {local_id} is already stopped")
    conn.execute(
        "UPDATE transactions SET stopped = 1, meter_stop_wh = ?, stopped_at = ?,"
        " stop_reason = ?, stop_id_tag = ? WHERE local_id = ?",
        (meter_stop_wh, stopped_at, reason, stop_id_tag, local_id),
    )


def _implements_api(store: Store) -> StoreAPI:
    return store  # mypy checks here that Store satisfies the StoreAPI protocol


__all__ = ["POWER_LOSS", "Store"]
