"""chargepoint.authorization: the version-neutral rules over any ``AuthSettings`` (the 1.6
rule table runs through ``tests/ocpp16/unit/test_ocpp16_authorization.py``); here what 1.6
does not have: the cache lifetime (2.0.1 AuthCacheCtrlr.LifeTime)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from chargepoint.authorization.authorizer import Authorizer, DecisionKind, Source
from chargepoint.core.types import AuthStatus
from chargepoint.ocppj.timestamps import format_utc, parse_utc
from chargepoint.store.api import AuthEntry
from chargepoint.store.db import Store

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@dataclass
class Settings:
    lifetime: int | None = 60
    unknown: bool = False

    def list_enabled(self) -> bool:
        return True

    def cache_enabled(self) -> bool:
        return True

    def pre_authorize(self) -> bool:
        return True

    def authorize_offline(self) -> bool:
        return True

    def offline_unknown_allowed(self) -> bool:
        return self.unknown

    def cache_lifetime_s(self) -> int | None:
        return self.lifetime


@pytest.fixture
def store() -> Iterator[Store]:
    s = Store.open(":memory:")
    yield s
    s.close()


def test_lifetime_caps_the_expiry_from_the_time_stored(store: Store) -> None:
    auth = Authorizer(store, Settings(lifetime=60))
    auth.record("K", AuthStatus.ACCEPTED, None, None, NOW)
    entry = store.cache_get("K")
    assert entry is not None and entry.expiry is not None
    assert parse_utc(entry.expiry) == NOW + timedelta(seconds=60)
    assert auth.decide_local("K", online=True, now_wall=NOW).kind is DecisionKind.ACCEPT
    later = NOW + timedelta(seconds=61)
    assert auth.decide_local("K", online=True, now_wall=later).kind is DecisionKind.ASK
    d = auth.decide_local("K", online=False, now_wall=later)
    assert d.kind is DecisionKind.REJECT and d.status is AuthStatus.EXPIRED


def test_an_earlier_csms_expiry_wins_and_no_lifetime_keeps_it(store: Store) -> None:
    soon = format_utc(NOW + timedelta(seconds=10))
    Authorizer(store, Settings(lifetime=60)).record("A", AuthStatus.ACCEPTED, soon, "G", NOW)
    Authorizer(store, Settings(lifetime=0)).record("B", AuthStatus.ACCEPTED, None, None, NOW)
    a, b = store.cache_get("A"), store.cache_get("B")
    assert a is not None and a.expiry == soon and a.parent_id_tag == "G"
    assert b is not None and b.expiry is None


def test_without_a_clock_the_lifetime_is_not_applied(store: Store) -> None:
    auth = Authorizer(store, Settings(lifetime=60))
    auth.record("K", AuthStatus.ACCEPTED, None, None, None)
    entry = store.cache_get("K")
    assert entry is not None and entry.expiry is None


def test_unknown_stored_status_never_accepts(store: Store) -> None:
    auth = Authorizer(store, Settings(unknown=True))
    store.local_list_update(2, [AuthEntry("K", "NoCredit", None, None)], [])
    d = auth.decide_local("K", online=False, now_wall=NOW)
    assert d.kind is DecisionKind.REJECT and d.source is Source.LOCAL_LIST
    assert d.status is AuthStatus.INVALID
