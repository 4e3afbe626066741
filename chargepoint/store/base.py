"""The store's connection handling: open, configure, migrate, and serialise access.

``StoreBase`` owns one sqlite3 connection in autocommit mode guarded by a ``threading.Lock``.
``_write()`` is one ``BEGIN IMMEDIATE`` .. ``COMMIT``; with WAL and ``synchronous=FULL`` the
change is on stable storage when the block ends. Subclasses add the tables' methods.

A write the medium refuses (disk full, I/O error, read-only, corrupt) raises
``StoreWriteError`` and marks ``health`` failing; only ``probe_write()`` (a write with room to
spare) marks it healthy again, so small writes that still fit cannot make the fault flap.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Self

from chargepoint.store import migrations
from chargepoint.store.errors import (
    StoreCorruptError,
    StoreError,
    StoreOpenError,
    StoreWriteError,
)
from chargepoint.store.health import WriteHealth
from chargepoint.store.private import make_private

# sqlite primary result codes that say the medium, not the caller, refused a write.
_MEDIUM_ERRORS = frozenset({
    sqlite3.SQLITE_PERM, sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_NOMEM,
    sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_FULL,
    sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_NOTADB,
})
_PROBE_BYTES = 64 * 1024  # probe_write needs this much room: a full disk fails it


class StoreBase:
    """Connection, lock and lifecycle. Create with ``open(path)``; ``close()`` when done."""

    def __init__(self, conn: sqlite3.Connection, path: str, *, auth_cache_limit: int) -> None:
        """Private: use ``open``."""
        self._conn: sqlite3.Connection | None = conn
        self._lock = threading.Lock()
        self._path = path
        self._auth_cache_limit = auth_cache_limit
        self._committed: list[Callable[[], None]] = []  # run after the current write commits
        self.health = WriteHealth()

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
            raise open_error(where, exc) from exc
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
        """``PRAGMA integrity_check``: "ok", or sqlite's description of the damage.

        Runs on its own read-only connection (WAL: readers never block the writer), so a check
        of a large file does not hold the store's lock; a ``:memory:`` store is checked on its
        one connection."""
        if self._path == ":memory:":
            with self._read() as conn:
                rows = conn.execute("PRAGMA integrity_check").fetchall()
        else:
            uri = Path(self._path).resolve().as_uri() + "?mode=ro"
            try:
                conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
            except sqlite3.Error as exc:
                return f"cannot open read-only: {exc}"
            try:
                rows = conn.execute("PRAGMA integrity_check").fetchall()
            except sqlite3.Error as exc:
                return str(exc)
            finally:
                conn.close()
        return "\n".join(str(r[0]) for r in rows)

    def quick_check(self) -> str:
        """``PRAGMA quick_check`` on the store's connection (at start-up, before anyone else
        uses the store): "ok", or sqlite's description of the damage."""
        try:
            with self._read() as conn:
                rows = conn.execute("PRAGMA quick_check").fetchall()
        except sqlite3.DatabaseError as exc:
            return str(exc)
        return "\n".join(str(r[0]) for r in rows)

    def probe_write(self) -> None:
        """Write (and then delete) ``_PROBE_BYTES`` in two durable commits. Success marks
        ``health`` healthy; failure raises ``StoreWriteError``. Called while writes fail."""
        blob = "0" * _PROBE_BYTES
        with self._write() as conn:
            conn.execute("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)",
                         ("store.probe", f"{time.time():.0f} {blob}"))
        with self._write() as conn:
            conn.execute("DELETE FROM kv WHERE key = ?", ("store.probe",))
        self.health.record(None)

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
            self._committed = []
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:  # a failed COMMIT (disk full, I/O) may leave it open
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error) and _medium_error(exc):
                    self.health.record(str(exc))
                    raise StoreWriteError(f"store {self._path}: write failed: {exc}") from exc
                raise
            hooks, self._committed = self._committed, []
            for hook in hooks:
                hook()

    def _after_commit(self, hook: Callable[[], None]) -> None:
        """Inside ``_write``: run ``hook`` (with the lock held) once the write committed; used
        to keep in-memory mirrors equal to what is on disk."""
        self._committed.append(hook)


def open_error(where: str, exc: sqlite3.Error) -> StoreOpenError:
    """The error for a store that cannot be used: ``StoreCorruptError`` when sqlite says the
    file is damaged, else ``StoreOpenError``."""
    code = (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF
    if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return StoreCorruptError(f"store {where} is damaged: {exc}")
    return StoreOpenError(f"cannot use store {where}: {exc}")


def _medium_error(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:
        return type(exc) is sqlite3.DatabaseError  # pragma: no cover - old sqlite3 module
    return (code & 0xFF) in _MEDIUM_ERRORS


def _configure(conn: sqlite3.Connection, where: str, busy_timeout_s: float) -> None:
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000):d}")
    mode = str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]).lower()
    if mode != "wal" and not (where == ":memory:" and mode == "memory"):
        raise StoreOpenError(f"store {where}: cannot enable WAL (journal_mode is {mode})")
    # FULL: a commit is on stable storage when COMMIT returns, even across power loss.
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
