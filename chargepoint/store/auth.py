"""Authorization Cache and Local Authorization List tables (OCPP 1.6 3.5.1, 3.5.2, 5.15)."""

from __future__ import annotations

import sqlite3

from chargepoint.store.api import AuthEntry
from chargepoint.store.base import StoreBase
from chargepoint.store.codec import auth_from_row

_ACCEPTED = "Accepted"


class AuthTables(StoreBase):
    """The auth methods of ``StoreAPI``; every change is one durable commit."""

    # -- Authorization Cache (3.5.1) ---------------------------------------------------------

    def cache_put(self, entry: AuthEntry) -> None:
        """Add or refresh an entry. When the cache is over its limit, entries that are not
        Accepted go first, then the least recently put ones."""
        with self._write() as conn:
            put_cache_entry(conn, entry, self._auth_cache_limit)

    def cache_get(self, id_tag: str) -> AuthEntry | None:
        with self._read() as conn:
            row = conn.execute(
                "SELECT id_tag, status, expiry, parent_id_tag FROM auth_cache WHERE id_tag = ?",
                (id_tag,),
            ).fetchone()
        return None if row is None else auth_from_row(row)

    def cache_clear(self) -> None:
        """ClearCache (5.4)."""
        with self._write() as conn:
            conn.execute("DELETE FROM auth_cache")

    # -- Local Authorization List (3.5.2, 5.15) ----------------------------------------------

    def local_list_version(self) -> int:
        """The installed list's version; 0 when no list was ever installed."""
        with self._read() as conn:
            row = conn.execute("SELECT version FROM local_list_meta WHERE id = 1").fetchone()
        return 0 if row is None else int(row[0])

    def local_list_get(self, id_tag: str) -> AuthEntry | None:
        with self._read() as conn:
            row = conn.execute(
                "SELECT id_tag, status, expiry, parent_id_tag FROM local_list WHERE id_tag = ?",
                (id_tag,),
            ).fetchone()
        return None if row is None else auth_from_row(row)

    def local_list_replace(self, version: int, entries: list[AuthEntry]) -> None:
        """SendLocalList Full: the list becomes ``entries`` (a later duplicate id_tag wins)
        and its version ``version``, in one commit."""
        with self._write() as conn:
            conn.execute("DELETE FROM local_list")
            _upsert(conn, entries)
            _set_version(conn, version)

    def local_list_update(
        self, version: int, upserts: list[AuthEntry], removals: list[str]
    ) -> None:
        """SendLocalList Differential: removals, then upserts, then the version, in one
        commit. Checking the version against the installed one is the caller's job."""
        with self._write() as conn:
            conn.executemany(
                "DELETE FROM local_list WHERE id_tag = ?", [(tag,) for tag in removals]
            )
            _upsert(conn, upserts)
            _set_version(conn, version)

    def local_list_size(self) -> int:
        with self._read() as conn:
            return int(conn.execute("SELECT count(*) FROM local_list").fetchone()[0])


def _upsert(conn: sqlite3.Connection, entries: list[AuthEntry]) -> None:
    conn.executemany(
        "INSERT OR REPLACE INTO local_list (id_tag, status, expiry, parent_id_tag)"
        " VALUES (?, ?, ?, ?)",
        [(e.id_tag, e.status, e.expiry, e.parent_id_tag) for e in entries],
    )


def _set_version(conn: sqlite3.Connection, version: int) -> None:
    conn.execute(
        "INSERT INTO local_list_meta (id, version) VALUES (1, ?)"
        " ON CONFLICT (id) DO UPDATE SET version = excluded.version",
        (version,),
    )


def put_cache_entry(conn: sqlite3.Connection, entry: AuthEntry, limit: int) -> None:
    """``cache_put`` inside the caller's write transaction."""
    conn.execute(
        "INSERT INTO auth_cache (id_tag, status, expiry, parent_id_tag, touched)"
        " VALUES (?, ?, ?, ?, (SELECT coalesce(max(touched), 0) + 1 FROM auth_cache))"
        " ON CONFLICT (id_tag) DO UPDATE SET status = excluded.status,"
        " expiry = excluded.expiry, parent_id_tag = excluded.parent_id_tag,"
        " touched = excluded.touched",
        (entry.id_tag, entry.status, entry.expiry, entry.parent_id_tag),
    )
    _evict(conn, limit)


def _evict(conn: sqlite3.Connection, limit: int) -> None:
    over = int(conn.execute("SELECT count(*) FROM auth_cache").fetchone()[0]) - limit
    if over > 0:
        conn.execute(
            "DELETE FROM auth_cache WHERE id_tag IN (SELECT id_tag FROM auth_cache"
            " ORDER BY status = ? , touched LIMIT ?)",
            (_ACCEPTED, over),
        )
