"""Start-up with a damaged store: moved aside and replaced; other failures stay failures."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from chargepoint.store.db import Store
from chargepoint.store.errors import SchemaTooNewError, StoreOpenError
from chargepoint.store.recovery import open_store

AT = datetime(2026, 12, 2, 15, 4, 5, tzinfo=UTC)


def _filled(path: Path) -> bytes:
    store = Store.open(path)
    for i in range(200):
        store.enqueue("MeterValues", {"i": i, "pad": "x" * 400}, None)
    store.close()
    return path.read_bytes()


@pytest.mark.parametrize("damage", ["garbage", "header", "truncated", "middle"])
def test_a_damaged_store_is_moved_aside_and_a_new_one_opened(tmp_path: Path,
                                                             damage: str) -> None:
    db = tmp_path / "state.db"
    data = bytearray(_filled(db))
    if damage == "garbage":
        data = bytearray(os.urandom(len(data)))
    elif damage == "header":
        data[:100] = os.urandom(100)
    elif damage == "truncated":
        data = data[:5000]
    else:  # a page in the middle: sqlite opens it; quick_check finds it
        data[4096 * 3:4096 * 3 + 2000] = os.urandom(2000)
    db.write_bytes(bytes(data))

    opened = open_store(db, now=lambda: AT)
    try:
        assert opened.moved_aside == tmp_path / "state.db.corrupt-20261202T150405Z"
        assert opened.moved_aside.read_bytes() == bytes(data)  # kept for the technician
        assert opened.damage
        assert opened.store.queue_length() == 0 and opened.store.integrity_check() == "ok"
    finally:
        opened.store.close()
    again = open_store(db, now=lambda: AT)  # the new one is healthy: nothing moved
    again.store.close()
    assert again.moved_aside is None


def test_a_second_damage_in_the_same_second_keeps_both_files(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    for _ in range(2):
        db.write_bytes(b"not a database at all" * 100)
        open_store(db, now=lambda: AT).store.close()
    assert len(list(tmp_path.glob("state.db.corrupt-*"))) == 2


def test_a_healthy_store_opens_as_it_is(tmp_path: Path) -> None:
    _filled(tmp_path / "state.db")
    opened = open_store(tmp_path / "state.db")
    assert opened.moved_aside is None and opened.store.queue_length() == 200
    opened.store.close()


def test_other_failures_are_not_moved_aside(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises((OSError, StoreOpenError)):
        open_store(blocker / "state.db")  # its directory cannot be created
    with pytest.raises(StoreOpenError):
        open_store(tmp_path)  # a directory, not a file
    db = tmp_path / "new.db"
    Store.open(db).close()
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(SchemaTooNewError):
        open_store(db)  # newer software's data is never moved aside
    assert list(tmp_path.glob("*.corrupt-*")) == []
