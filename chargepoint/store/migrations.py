"""Versioned schema of the durable store, applied with ``PRAGMA user_version``.

``MIGRATIONS[i]`` takes the database from version ``i`` to ``i + 1``. Each step runs in its
own ``BEGIN IMMEDIATE`` transaction together with the ``user_version`` bump, so a step is
either wholly applied or not at all (sqlite DDL is transactional). Steps are append-only:
never edit a released step, add a new one.

Schema (version 2)
------------------
``transactions``      one row per charging session. ``local_id`` is ours (AUTOINCREMENT: never
                      reused), ``csms_id`` (TEXT) its id on the wire once known (1.6: the CSMS's
                      transactionId; indexed, not unique: a CSMS may reuse ids after a reset;
                      the newest row wins).
                      ``stopped`` 0/1; a partial unique index allows at most one open
                      transaction per connector.
``outbox``            outbound OCPP messages in strict ``seq`` order (AUTOINCREMENT: a seq is
                      never reused, so order survives deletes and restarts). ``action`` is a
                      ``MessageKind`` (transaction-start / -stop / -update) or the adapter's
                      name of another message; ``payload`` is a JSON object; ``attempts``
                      counts send attempts; ``tx_local_id`` ties a message to its transaction.
``auth_cache``        Authorization Cache (OCPP 1.6 3.5.1): id_tag -> status, expiry, parent;
                      ``touched`` orders eviction.
``local_list``        Local Authorization List entries (OCPP 1.6 3.5.2).
``local_list_meta``   one row (id = 1): the local list version.
``charging_profiles`` profiles as received (JSON), keyed by chargingProfileId.
``config``            OCPP configuration keys changed at run time (strings, as on the wire).
``availability``      per connector (0 = station): operative 0/1; Inoperative survives reboot.
``reservations``      ReserveNow records by reservationId.
``meter_last``        last persisted energy register per connector (PowerLoss recovery).
``latched_faults``    (connector, kind) faults that stay until a technician clears them.
``kv``                small named values (firmware slot state, boot counters, ...).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from chargepoint.store.errors import SchemaTooNewError

Migration = tuple[str, ...]

MIGRATIONS: tuple[Migration, ...] = (
    # 0 -> 1: the initial schema.
    (
        """CREATE TABLE transactions (
            local_id        INTEGER PRIMARY KEY AUTOINCREMENT,
            connector       INTEGER NOT NULL,
            id_tag          TEXT    NOT NULL,
            meter_start_wh  REAL    NOT NULL,
            started_at      TEXT    NOT NULL,
            csms_id         INTEGER,
            reservation_id  INTEGER,
            stopped         INTEGER NOT NULL DEFAULT 0 CHECK (stopped IN (0, 1)),
            meter_stop_wh   REAL,
            stopped_at      TEXT,
            stop_reason     TEXT,
            stop_id_tag     TEXT
        )""",
        "CREATE INDEX transactions_csms_id ON transactions (csms_id)",
        "CREATE UNIQUE INDEX transactions_one_open_per_connector"
        " ON transactions (connector) WHERE stopped = 0",
        """CREATE TABLE outbox (
            seq          INTEGER PRIMARY KEY AUTOINCREMENT,
            action       TEXT    NOT NULL,
            payload      TEXT    NOT NULL,
            tx_local_id  INTEGER REFERENCES transactions (local_id),
            attempts     INTEGER NOT NULL DEFAULT 0
        )""",
        "CREATE INDEX outbox_tx ON outbox (tx_local_id)",
        """CREATE TABLE auth_cache (
            id_tag         TEXT PRIMARY KEY,
            status         TEXT NOT NULL,
            expiry         TEXT,
            parent_id_tag  TEXT,
            touched        INTEGER NOT NULL
        )""",
        """CREATE TABLE local_list (
            id_tag         TEXT PRIMARY KEY,
            status         TEXT NOT NULL,
            expiry         TEXT,
            parent_id_tag  TEXT
        )""",
        """CREATE TABLE local_list_meta (
            id       INTEGER PRIMARY KEY CHECK (id = 1),
            version  INTEGER NOT NULL
        )""",
        "INSERT INTO local_list_meta (id, version) VALUES (1, 0)",
        """CREATE TABLE charging_profiles (
            profile_id   INTEGER PRIMARY KEY,
            connector    INTEGER NOT NULL,
            stack_level  INTEGER NOT NULL,
            purpose      TEXT    NOT NULL,
            profile      TEXT    NOT NULL
        )""",
        "CREATE TABLE config (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE availability (
            connector  INTEGER PRIMARY KEY,
            operative  INTEGER NOT NULL CHECK (operative IN (0, 1))
        )""",
        """CREATE TABLE reservations (
            reservation_id  INTEGER PRIMARY KEY,
            connector       INTEGER NOT NULL,
            id_tag          TEXT    NOT NULL,
            parent_id_tag   TEXT,
            expiry          TEXT    NOT NULL
        )""",
        """CREATE TABLE meter_last (
            connector  INTEGER PRIMARY KEY,
            energy_wh  REAL NOT NULL,
            at         TEXT NOT NULL
        )""",
        """CREATE TABLE latched_faults (
            connector  INTEGER NOT NULL,
            kind       TEXT    NOT NULL,
            PRIMARY KEY (connector, kind)
        )""",
        "CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ),
    # 1 -> 2: version-neutral transaction messages and ids. Queued transaction messages are
    # named by kind, not by their OCPP 1.6 action; the transaction's id on the wire is text
    # (2.0.1 ids are strings the station chooses; a 1.6 id keeps its digits).
    (
        "UPDATE outbox SET action = 'transaction-start' WHERE action = 'StartTransaction'",
        "UPDATE outbox SET action = 'transaction-stop' WHERE action = 'StopTransaction'",
        "UPDATE outbox SET action = 'transaction-update'"
        " WHERE action = 'MeterValues' AND tx_local_id IS NOT NULL",
        "ALTER TABLE transactions ADD COLUMN csms_text TEXT",
        "UPDATE transactions SET csms_text = CAST(csms_id AS TEXT) WHERE csms_id IS NOT NULL",
        "DROP INDEX transactions_csms_id",
        "ALTER TABLE transactions DROP COLUMN csms_id",
        "ALTER TABLE transactions RENAME COLUMN csms_text TO csms_id",
        "CREATE INDEX transactions_csms_id ON transactions (csms_id)",
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    """The database's ``PRAGMA user_version`` (0 for a new file)."""
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def migrate(
    conn: sqlite3.Connection, migrations: Sequence[Migration] = MIGRATIONS, *, where: str = ""
) -> int:
    """Bring ``conn``'s database up to ``len(migrations)``; returns the final version.

    ``conn`` must be in autocommit mode (``isolation_level=None``) and outside a transaction.
    Raises ``SchemaTooNewError`` (nothing changed) when the database is newer than
    ``migrations`` knows, and re-raises a failing step's ``sqlite3.Error`` after rolling that
    step back (earlier steps stay applied)."""
    known = len(migrations)
    while True:
        # IMMEDIATE: take the write lock before reading the version, so two processes opening
        # the same file cannot both apply the same step.
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = schema_version(conn)
            if version > known:
                raise SchemaTooNewError(
                    f"database {where or '(unnamed)'} has schema version {version}, newer than "
                    f"the {known} this software knows: refusing to open it; upgrade the "
                    f"software or restore a matching backup"
                )
            if version == known:
                conn.execute("COMMIT")
                return version
            for statement in migrations[version]:
                conn.execute(statement)
            # user_version lives in the database header: written inside this transaction.
            conn.execute(f"PRAGMA user_version = {version + 1:d}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
