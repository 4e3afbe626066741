"""Schema versions: migrate from empty, re-open, refuse newer, roll a failing step back."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from chargepoint.store.api import MessageKind
from chargepoint.store.db import Store
from chargepoint.store.errors import SchemaTooNewError, StoreOpenError
from chargepoint.store.migrations import MIGRATIONS, SCHEMA_VERSION, migrate, schema_version

TABLES = {
    "transactions", "outbox", "auth_cache", "local_list", "local_list_meta",
    "charging_profiles", "config", "availability", "reservations", "meter_last",
    "latched_faults", "kv",
}


def _tables(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    conn.close()
    return {r[0] for r in rows} - {"sqlite_sequence"}


def _raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def test_migrates_from_empty(db_path: Path) -> None:
    assert not db_path.exists()
    store = Store.open(db_path)  # the parent directory is created too
    assert store.summary()["schema_version"] == SCHEMA_VERSION == len(MIGRATIONS)
    # The connection runs with the settings durability depends on (read on its own
    # connection: synchronous and foreign_keys are per connection).
    with store._read() as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
    store.close()
    assert _tables(db_path) == TABLES


def test_reopen_keeps_data_and_version(db_path: Path) -> None:
    store = Store.open(db_path)
    store.config_set("HeartbeatInterval", "30")
    store.local_list_replace(9, [])
    store.close()
    store = Store.open(db_path)
    assert store.config_get("HeartbeatInterval") == "30"
    assert store.local_list_version() == 9
    assert store.integrity_check() == "ok"
    store.close()
    conn = _raw(db_path)
    assert schema_version(conn) == SCHEMA_VERSION
    conn.close()


def test_newer_schema_is_refused_untouched(db_path: Path) -> None:
    Store.open(db_path).close()
    conn = _raw(db_path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.execute("INSERT INTO kv (key, value) VALUES ('from', 'the future')")
    conn.close()
    with pytest.raises(SchemaTooNewError, match=f"schema version {SCHEMA_VERSION + 1}"):
        Store.open(db_path)
    conn = _raw(db_path)
    assert schema_version(conn) == SCHEMA_VERSION + 1
    assert conn.execute("SELECT value FROM kv").fetchall() == [("the future",)]
    conn.close()


def test_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"this is not an sqlite database, it is a text file " * 100)
    with pytest.raises(StoreOpenError, match=r"state\.db"):
        Store.open(path)


def test_steps_apply_in_order_and_a_failing_step_rolls_back(tmp_path: Path) -> None:
    steps = (
        ("CREATE TABLE a (x INTEGER)", "INSERT INTO a VALUES (1)"),
        ("CREATE TABLE b (y INTEGER)", "INSERT INTO b VALUES (2)"),
        ("CREATE TABLE c (z INTEGER)", "INSERT INTO nowhere VALUES (3)"),
    )
    conn = _raw(tmp_path / "m.db")
    assert migrate(conn, steps[:1]) == 1
    assert migrate(conn, steps[:1]) == 1  # idempotent
    with pytest.raises(sqlite3.OperationalError, match="nowhere"):
        migrate(conn, steps)
    assert schema_version(conn) == 2  # steps 1 and 2 applied, step 3 not at all
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert names == {"a", "b"}
    assert conn.execute("SELECT y FROM b").fetchall() == [(2,)]
    assert not conn.in_transaction
    with pytest.raises(SchemaTooNewError):
        migrate(conn, steps[:1])
    conn.close()


def _v1_store_with_a_backlog(path: Path) -> None:
    """A store as the 1.6 station wrote it before version 2: a confirmed transaction with
    a queued MeterValues and its StopTransaction, a second one not yet confirmed, a
    DataTransfer and a MeterValues outside any transaction."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = _raw(path)
    assert migrate(conn, MIGRATIONS[:1]) == 1
    conn.executescript("""
        INSERT INTO transactions (connector, id_tag, meter_start_wh, started_at, csms_id,
                                  stopped, meter_stop_wh, stopped_at, stop_reason)
            VALUES (1, 'TAG1', 100, 'T0', 17, 1, 900, 'T1', 'Local');
        INSERT INTO transactions (connector, id_tag, meter_start_wh, started_at)
            VALUES (2, 'TAG2', 5, 'T2');
        INSERT INTO outbox (action, payload, tx_local_id) VALUES ('MeterValues', '{}', 1);
        INSERT INTO outbox (action, payload, tx_local_id)
            VALUES ('StopTransaction', '{"meterStop": 900}', 1);
        INSERT INTO outbox (action, payload, tx_local_id) VALUES ('StartTransaction', '{}', 2);
        INSERT INTO outbox (action, payload, tx_local_id) VALUES ('DataTransfer', '{}', NULL);
        INSERT INTO outbox (action, payload, tx_local_id) VALUES ('MeterValues', '{}', NULL);
    """)
    conn.close()


def test_version_2_names_transaction_messages_by_kind_and_keeps_their_order(
        db_path: Path) -> None:
    _v1_store_with_a_backlog(db_path)
    store = Store.open(db_path)
    assert store.summary()["schema_version"] == 2
    first = store.queued_for_transaction(1)
    assert [(m.seq, m.action) for m in first] == [
        (1, MessageKind.TRANSACTION_UPDATE), (2, MessageKind.TRANSACTION_STOP)]
    assert first[1].payload == {"meterStop": 900}
    assert [m.action for m in store.queued_for_transaction(2)] == [
        MessageKind.TRANSACTION_START]
    head = store.queue_head()
    assert head is not None and head.seq == 1
    assert store.queue_length() == 5
    conn = _raw(db_path)  # messages outside a transaction keep their names
    rows = conn.execute("SELECT action FROM outbox WHERE tx_local_id IS NULL ORDER BY seq")
    assert [r[0] for r in rows] == ["DataTransfer", "MeterValues"]
    conn.close()
    store.close()


def test_version_2_keeps_transaction_ids_as_text(db_path: Path) -> None:
    _v1_store_with_a_backlog(db_path)
    store = Store.open(db_path)
    record = store.transaction_by_csms_id("17")
    assert record is not None and record.local_id == 1 and record.csms_id == "17"
    assert record.stopped and record.stop_reason == "Local"
    open_now = store.open_transactions()
    assert [(r.local_id, r.csms_id) for r in open_now] == [(2, None)]
    store.set_csms_transaction_id(2, "a1b2-c3")  # a 2.0.1 station-chosen id fits too
    assert store.transaction_by_csms_id("a1b2-c3") == store.transaction(2)
    local_id = store.begin_transaction(1, "TAG3", 900, "T3", None, {})
    assert local_id == 3  # ids are not reused after the migration
    store.close()
    assert store_integrity(db_path) == "ok"


def store_integrity(path: Path) -> str:
    conn = _raw(path)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()
