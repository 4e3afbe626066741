"""The outbound queue in memory while it is short: reads without the lock or a thread.

``ShortQueue`` mirrors every row of the ``outbox`` table (seq, action, payload text,
tx_local_id, attempts) while the queue holds at most ``LIMIT`` messages, as the ``Store``'s
commits leave it (it is told after each commit, never before): online the queue holds the
one or two messages in flight, and the sender reads its head from here on the event loop
instead of hopping to a worker thread. Past ``LIMIT`` (offline, a backlog) or after a change
it does not follow message by message (thinning) it knows nothing (``peek`` returns None:
read the table) until the queue is empty again. The table stays the truth; the mirror is
built from it when the store opens.

Thread safety: one writer at a time (the store's lock); a reader takes the current snapshot,
an immutable tuple replaced as a whole, so it sees the queue as of some commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import islice
from typing import Any

from chargepoint.store.api import QueuedMessage
from chargepoint.store.codec import queued_from_row

LIMIT = 64

Row = tuple[int, str, str, int | None, int]  # seq, action, payload (JSON text), tx, attempts


class ShortQueue:
    def __init__(self) -> None:
        self._rows: tuple[Row, ...] | None = ()

    def load(self, rows: Sequence[Sequence[Any]], total: int) -> None:
        """The table's first rows in seq order, and how many it holds."""
        self._rows = None if total > LIMIT else tuple(_row(r) for r in rows[:total])

    def added(self, row: Row) -> None:
        rows = self._rows
        if rows is not None:
            self._rows = (*rows, row) if len(rows) < LIMIT else None

    def removed(self, seqs: Sequence[int], now_empty: bool) -> None:
        """``seqs`` left the table; ``now_empty``: nothing is queued any more."""
        rows = self._rows
        if now_empty:
            self._rows = ()
        elif rows is not None:
            gone = set(seqs)
            self._rows = tuple(r for r in rows if r[0] not in gone)

    def changed(self, seq: int, *, payload: str | None = None,
                attempts: int | None = None) -> None:
        rows = self._rows
        if rows is not None:
            self._rows = tuple(
                (r[0], r[1], r[2] if payload is None else payload, r[3],
                 r[4] if attempts is None else attempts) if r[0] == seq else r
                for r in rows)

    def forget(self) -> None:
        """A change not followed row by row: unknown until the queue is empty."""
        self._rows = None

    def peek(self, after_seq: int, limit: int) -> list[QueuedMessage] | None:
        """``Store.queue_peek`` from memory, or None when the queue is not mirrored."""
        rows = self._rows
        if rows is None:
            return None
        return [queued_from_row(r) for r in islice((r for r in rows if r[0] > after_seq), limit)]


def _row(r: Sequence[Any]) -> Row:
    return int(r[0]), str(r[1]), str(r[2]), None if r[3] is None else int(r[3]), int(r[4])
