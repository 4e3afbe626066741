"""The store's connection handling: open, configure, migrate, and serialise access.

``StoreBase`` owns one sqlite3 connection in autocommit mode guarded by a ``threading.Lock``.
``_write()`` is one ``BEGIN IMMEDIATE`` .. ``COMMIT``; with WAL and ``synchronous=FULL`` the
change is on stable storage when the block ends. Subclasses add the tables' methods.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Self

from chargepoint.store import migrations
from chargepoint.store.errors import StoreError, StoreOpenError
from chargepoint.store.private import make_private


class StoreBase:
    """Connection, lock and lifecycle. Create with ``open(path)``; ``close()`` when done."""

    def __init__(self, conn: sqlite3.Connection, path: str, *, auth_cache_limit: int) -> None:
        """Private: use ``open``."""
        self._conn: sqlite3.Connection | None = conn
        self._lock = threading.Lock()
        self._path = path
        self._auth_cache_limit = auth_cache_limit

    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        busy_timeout_s: float = 5.0,
        auth_cache_limit: int = 1000,
    ) -> Self:
        """Open (creating it and its parent directory if needed) and migrate the store.

        ``":memory:"`` gives a throw-away store for tests. ``auth_cache_limit`` caps the
        Authorization Cache (oldest non-Accepted entries are evicted first). Raises
        ``SchemaTooNewError`` when the file was written by newer software and
        ``StoreOpenError`` when it is not a usable database; the file is not changed then."""
        where = str(path)
        if where != ":memory:":
            Path(where).parent.mkdir(parents=True, exist_ok=True)
            make_private(where)
        try:
            conn = sqlite3.connect(
                where, isolation_level=None, check_same_thread=False, timeout=busy_timeout_s
            )
        except sqlite3.Error as exc:
            raise StoreOpenError(f"cannot open store {where}: {exc}") from exc
        try:
            _configure(conn, where, busy_timeout_s)
            migrations.migrate(conn, where=where)
        except StoreError:
            conn.close()
            raise
        except sqlite3.Error as exc:
            conn.close()
            raise StoreOpenError(f"cannot use store {where}: {exc}") from exc
        return cls(conn, where, auth_cache_limit=auth_cache_limit)

    def close(self) -> None:
        """Close the connection; later calls raise ``StoreError``. Idempotent."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    @property
    def path(self) -> str:
        return self._path

    def integrity_check(self) -> str:
        """``PRAGMA integrity_check``: "ok", or sqlite's description of the damage."""
        with self._read() as conn:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
        return "\n".join(str(r[0]) for r in rows)

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._conn is None:
                raise StoreError("store is closed")
            yield self._conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One atomic, durable write: committed when the block ends, rolled back if it raises."""
        with self._lock:
            conn = self._conn
            if conn is None:
                raise StoreError("store is closed")
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:  # a failed COMMIT (disk full, I/O) may leave it open
                    conn.execute("ROLLBACK")
                raise


def _configure(conn: sqlite3.Connection, where: str, busy_timeout_s: float) -> None:
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000):d}")
    mode = str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]).lower()
    if mode != "wal" and not (where == ":memory:" and mode == "memory"):
        raise StoreOpenError(f"store {where}: cannot enable WAL (journal_mode is {mode})")
    # FULL: a commit is on stable storage when COMMIT returns, even across power loss.
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
