"""Authorization Cache and Local Authorization List (OCPP 1.6 3.5, 5.15)."""

from __future__ import annotations

from pathlib import Path

from chargepoint.store.api import AuthEntry
from chargepoint.store.db import Store

A = AuthEntry("AAAA", "Accepted", "2027-01-01T00:00:00Z", "PARENT")
B = AuthEntry("BBBB", "Blocked", None, None)
C = AuthEntry("CCCC", "Accepted", None, None)


def test_cache_put_get_clear(store: Store) -> None:
    assert store.cache_get("AAAA") is None
    store.cache_put(A)
    store.cache_put(B)
    assert store.cache_get("AAAA") == A
    expired = AuthEntry("AAAA", "Expired", None, None)
    store.cache_put(expired)
    assert store.cache_get("AAAA") == expired
    store.cache_clear()
    assert store.cache_get("AAAA") is None and store.cache_get("BBBB") is None


def test_cache_eviction_prefers_invalid_then_oldest(db_path: Path) -> None:
    store = Store.open(db_path, auth_cache_limit=3)
    store.cache_put(A)  # oldest, Accepted
    store.cache_put(B)  # Blocked: evicted first
    store.cache_put(C)
    store.cache_put(AuthEntry("DDDD", "Accepted", None, None))
    assert store.cache_get("BBBB") is None
    assert store.cache_get("AAAA") == A
    store.cache_put(AuthEntry("EEEE", "Accepted", None, None))
    assert store.cache_get("AAAA") is None  # then the least recently put
    assert store.summary()["auth_cache_size"] == 3
    store.close()


def test_local_list_full_and_differential(store: Store) -> None:
    assert store.local_list_version() == 0
    assert store.local_list_size() == 0
    store.local_list_replace(3, [A, B])
    assert store.local_list_version() == 3
    assert store.local_list_get("AAAA") == A and store.local_list_get("BBBB") == B
    assert store.local_list_size() == 2
    b_ok = AuthEntry("BBBB", "Accepted", None, None)
    store.local_list_update(4, [b_ok, C], ["AAAA", "NOPE"])
    assert store.local_list_version() == 4
    assert store.local_list_get("AAAA") is None
    assert store.local_list_get("BBBB") == b_ok
    assert store.local_list_get("CCCC") == C
    store.local_list_replace(5, [C])
    assert store.local_list_size() == 1 and store.local_list_get("BBBB") is None
    store.local_list_replace(0, [])  # an empty Full update clears the list
    assert (store.local_list_version(), store.local_list_size()) == (0, 0)


def test_local_list_separate_from_cache(store: Store) -> None:
    store.local_list_replace(1, [A])
    store.cache_clear()  # ClearCache does not touch the local list
    assert store.local_list_get("AAAA") == A
    assert store.cache_get("AAAA") is None
