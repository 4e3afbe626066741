"""Simulate a full disk on a real sqlite store, as root, without mounts.

``cap(store)`` caps the database at its current size (``PRAGMA max_page_count``): a write that
needs a new page fails with sqlite's own SQLITE_FULL. A store in use (WAL, rows deleted as the
CSMS confirms them) keeps finding room in its pages, though, while a real full disk fails
every WAL append; ``fill(store)`` gives that: every statement that changes a row fails with
SQLITE_FULL "database or disk is full" (the real connection underneath rolls back as usual)
until ``free(store)``.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from chargepoint.store.base import StoreBase

_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class _FullDisk:
    """A sqlite3 connection whose row changes fail as on a full disk."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.real = conn

    def _check(self, sql: str) -> None:
        if sql.lstrip().upper().startswith(_WRITES):
            exc = sqlite3.OperationalError("database or disk is full")
            exc.sqlite_errorcode = sqlite3.SQLITE_FULL
            raise exc

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        self._check(sql)
        return self.real.execute(sql, *args)

    def executemany(self, sql: str, *args: Any) -> sqlite3.Cursor:
        self._check(sql)
        return self.real.executemany(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def fill(store: StoreBase) -> None:
    with store._lock:
        assert isinstance(store._conn, sqlite3.Connection)
        store._conn = _FullDisk(store._conn)  # type: ignore[assignment]


def free(store: StoreBase) -> None:
    with store._lock:
        conn = store._conn
        if isinstance(conn, _FullDisk):
            store._conn = conn.real
        assert store._conn is not None
        store._conn.execute("PRAGMA max_page_count = 1073741823")


def cap(store: StoreBase) -> None:
    with store._lock:
        conn = store._conn
        assert conn is not None
        pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
        conn.execute(f"PRAGMA max_page_count = {pages}")
