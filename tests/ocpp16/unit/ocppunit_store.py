"""The real sqlite store (``chargepoint.store.db.Store``) for these tests, and helpers that
set up or inspect it through ``chargepoint.store.api`` only."""

from __future__ import annotations

from pathlib import Path

from chargepoint.store.api import AuthEntry
from chargepoint.store.db import Store


def open_store(path: Path | str = ":memory:") -> Store:
    return Store.open(path)


def put_local(store: Store, *entries: AuthEntry) -> None:
    """Add entries to the local list (a differential update with the next version)."""
    store.local_list_update(store.local_list_version() + 1, list(entries), [])


def local_list(store: Store, *tags: str) -> dict[str, AuthEntry]:
    """The local list, asserting it holds exactly ``tags`` (the API cannot list it)."""
    found = {t: e for t in tags if (e := store.local_list_get(t)) is not None}
    assert len(found) == len(tags) == store.local_list_size(), (found, store.local_list_size())
    return found
