"""Opening the store at start-up: a damaged file is moved aside, not a reason to stop.

``open_store(path) -> Opened`` opens (creating) the store and runs ``PRAGMA quick_check``.
When sqlite says the file is damaged (not a database, malformed, quick_check fails), the file
and its ``-wal`` / ``-shm`` companions are renamed to ``<name>.corrupt-<UTC timestamp>`` in
the same directory (kept for the technician; nothing is deleted) and a new, empty store is
created in its place; ``Opened.moved_aside`` and ``Opened.damage`` say so, and the caller logs
it and records a security event. A store that cannot be opened for any other reason
(permissions, a missing directory that cannot be created, a schema from newer software, the
rename failing) raises ``StoreOpenError`` / ``OSError`` with one clear line, unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from chargepoint.store.db import Store
from chargepoint.store.errors import StoreCorruptError, StoreOpenError

log = logging.getLogger("chargepoint.store")

SECURITY_EVENT = "StoreCorrupted"  # the security log's type for a store moved aside


@dataclass(frozen=True, slots=True)
class Opened:
    store: Store
    moved_aside: Path | None = None  # where the damaged file went
    damage: str | None = None  # sqlite's description of it


def open_store(path: str | Path, *,
               now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> Opened:
    """Open the store at ``path``, moving a damaged one aside first (module docstring)."""
    where = str(path)
    try:
        store = Store.open(where)
        damage = _quick_check(store) if where != ":memory:" else None
    except StoreCorruptError as exc:
        damage = str(exc)
    else:
        if damage is None:
            return Opened(store)
        store.close()
    aside = _move_aside(Path(where), now())
    log.error("store %s is damaged (%s): moved aside to %s; starting with an empty store",
              where, damage, aside)
    return Opened(Store.open(where), aside, damage)


def _quick_check(store: Store) -> str | None:
    result = store.quick_check()
    return None if result == "ok" else f"quick_check: {result}"


def _move_aside(path: Path, at: datetime) -> Path:
    aside = path.with_name(f"{path.name}.corrupt-{at.strftime('%Y%m%dT%H%M%SZ')}")
    n = 1
    while aside.exists():
        aside = aside.with_name(f"{aside.name.split('~')[0]}~{n}")
        n += 1
    try:
        for suffix in ("-wal", "-shm"):  # sqlite pairs "<db>-wal" with "<db>": keep them paired
            companion = path.with_name(path.name + suffix)
            if companion.exists():
                companion.rename(aside.with_name(aside.name + suffix))
        path.rename(aside)
    except OSError as exc:
        raise StoreOpenError(f"store {path} is damaged and cannot be moved aside: {exc}") from exc
    return aside


__all__ = ["SECURITY_EVENT", "Opened", "open_store"]
