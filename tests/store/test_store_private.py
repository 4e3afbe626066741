"""The store's files hold card UIDs, the AuthorizationKey and the security log: they are the
service user's alone (mode 0600), whatever the umask."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from chargepoint.store.db import Store


def test_the_store_files_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        db = tmp_path / "state.db"
        store = Store.open(db)
        store.kv_set("x", "1")  # the WAL and its index exist now
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
        store.close()
        assert {"state.db", "state.db-wal", "state.db-shm"} <= set(modes)
        assert all(mode == 0o600 for mode in modes.values()), modes
    finally:
        os.umask(old)


def test_an_existing_readable_store_is_made_private(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    Store.open(db).close()
    db.chmod(0o644)
    Store.open(db).close()
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
