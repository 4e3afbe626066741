"""chargepoint.ocpp16.authorization: cache, local list and offline rules (OCPP 1.6 3.5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chargepoint.core.types import AuthStatus
from chargepoint.ocpp16.authorization import (
    Authorizer,
    Decision,
    DecisionKind,
    Source,
    effective_status,
    normalize_id_tag,
)
from chargepoint.ocpp16.config_keys import Configuration
from chargepoint.store.api import AuthEntry
from tests.ocpp16.unit.ocppunit_store import FakeStore

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
LATER = "2026-12-31T00:00:00Z"
EARLIER = "2026-11-01T00:00:00Z"
ACCEPT, REJECT, ASK = DecisionKind.ACCEPT, DecisionKind.REJECT, DecisionKind.ASK


def setup(store: FakeStore, **keys: str) -> tuple[Authorizer, Configuration]:
    cfg = Configuration(store)
    for k, v in keys.items():
        assert cfg.change(k, v) == "Accepted"
    return Authorizer(store, cfg), cfg


def entry(tag: str, status: str = "Accepted", expiry: str | None = None,
          parent: str | None = None) -> AuthEntry:
    return AuthEntry(tag, status, expiry, parent)


# --- online (LocalPreAuthorize) ------------------------------------------------------------


def test_online_without_pre_authorize_always_asks(store: FakeStore) -> None:
    auth, _ = setup(store, LocalPreAuthorize="false")
    store.local["AA"] = entry("AA")
    store.cache["BB"] = entry("BB")
    assert auth.decide_local("AA", online=True, now_wall=NOW).kind is ASK
    assert auth.decide_local("BB", online=True, now_wall=NOW).kind is ASK


def test_online_pre_authorize_from_cache_007(store: FakeStore) -> None:
    auth, _ = setup(store, LocalPreAuthorize="true")
    store.cache["AA"] = entry("AA", expiry=LATER, parent="P1")
    d = auth.decide_local("AA", online=True, now_wall=NOW)
    assert d == Decision(ACCEPT, AuthStatus.ACCEPTED, "P1", Source.CACHE)


def test_online_pre_authorize_from_local_list_008(store: FakeStore) -> None:
    auth, _ = setup(store, LocalPreAuthorize="true", AuthorizationCacheEnabled="false")
    store.local["AA"] = entry("AA")
    d = auth.decide_local("aa", online=True, now_wall=NOW)  # IdToken is case-insensitive
    assert d.accepted and d.source is Source.LOCAL_LIST


@pytest.mark.parametrize("stored", [entry("AA", "Blocked"), entry("AA", "Invalid"),
                                    entry("AA", expiry=EARLIER)])
def test_online_only_accepted_unexpired_entries_start_at_once(
    store: FakeStore, stored: AuthEntry
) -> None:
    auth, _ = setup(store, LocalPreAuthorize="true")
    store.cache["AA"] = stored
    assert auth.decide_local("AA", online=True, now_wall=NOW).kind is ASK


def test_online_unknown_tag_asks(store: FakeStore) -> None:
    auth, _ = setup(store, LocalPreAuthorize="true")
    assert auth.decide_local("ZZ", online=True, now_wall=NOW).kind is ASK


def test_online_entry_with_expiry_but_no_clock_asks(store: FakeStore) -> None:
    auth, _ = setup(store, LocalPreAuthorize="true")
    store.cache["AA"] = entry("AA", expiry=LATER)
    store.cache["BB"] = entry("BB")
    assert auth.decide_local("AA", online=True, now_wall=None).kind is ASK
    assert auth.decide_local("BB", online=True, now_wall=None).accepted


def test_disabled_sources_are_not_consulted(store: FakeStore) -> None:
    auth, _ = setup(store, LocalPreAuthorize="true", LocalAuthListEnabled="false",
                    AuthorizationCacheEnabled="false")
    store.local["AA"] = entry("AA")
    store.cache["BB"] = entry("BB")
    assert auth.decide_local("AA", online=True, now_wall=NOW).kind is ASK
    assert auth.decide_local("BB", online=True, now_wall=NOW).kind is ASK


def test_local_list_takes_precedence_over_cache(store: FakeStore) -> None:
    auth, _ = setup(store, LocalPreAuthorize="true")
    store.local["AA"] = entry("AA", "Blocked")
    store.cache["AA"] = entry("AA")
    assert auth.decide_local("AA", online=True, now_wall=NOW).kind is ASK
    d = auth.decide_local("AA", online=False, now_wall=NOW)
    assert d.kind is REJECT and d.status is AuthStatus.BLOCKED and d.source is Source.LOCAL_LIST


def test_expired_cache_entry_is_rewritten_as_expired(store: FakeStore) -> None:
    auth, _ = setup(store)
    store.cache["AA"] = entry("AA", expiry=EARLIER, parent="P")
    auth.decide_local("AA", online=False, now_wall=NOW)
    assert store.cache["AA"] == entry("AA", "Expired", EARLIER, "P")


# --- offline (037_x) ----------------------------------------------------------------------


def test_offline_known_valid_tag_starts_037_1(store: FakeStore) -> None:
    auth, _ = setup(store, LocalAuthorizeOffline="true")
    store.cache["AA"] = entry("AA", expiry=LATER)
    d = auth.decide_local("AA", online=False, now_wall=NOW)
    assert d.kind is ACCEPT and d.source is Source.CACHE


def test_offline_known_tag_without_local_authorize_offline_is_unknown(store: FakeStore) -> None:
    auth, cfg = setup(store, LocalAuthorizeOffline="false")
    store.cache["AA"] = entry("AA")
    d = auth.decide_local("AA", online=False, now_wall=NOW)
    assert d.kind is REJECT and d.status is AuthStatus.INVALID
    cfg.change("AllowOfflineTxForUnknownId", "true")
    d = auth.decide_local("AA", online=False, now_wall=NOW)
    assert d.kind is ACCEPT and d.source is Source.OFFLINE_UNKNOWN


@pytest.mark.parametrize("allow", ["true", "false"])
def test_offline_unknown_tag_follows_allow_offline_tx_037_2_3(
    store: FakeStore, allow: str
) -> None:
    auth, _ = setup(store, AllowOfflineTxForUnknownId=allow)
    d = auth.decide_local("NEVERSEEN", online=False, now_wall=NOW)
    assert d.source is Source.OFFLINE_UNKNOWN
    if allow == "true":
        assert d == Decision(ACCEPT, AuthStatus.ACCEPTED, None, Source.OFFLINE_UNKNOWN)
    else:
        assert d == Decision(REJECT, AuthStatus.INVALID, None, Source.OFFLINE_UNKNOWN)


@pytest.mark.parametrize(("stored", "why"), [
    (entry("AA", "Blocked"), AuthStatus.BLOCKED),
    (entry("AA", "Invalid"), AuthStatus.INVALID),
    (entry("AA", "Expired"), AuthStatus.EXPIRED),
    (entry("AA", expiry=EARLIER), AuthStatus.EXPIRED),  # validity ran out while offline
])
def test_offline_known_invalid_tag_is_rejected_even_if_unknown_allowed(
    store: FakeStore, stored: AuthEntry, why: AuthStatus
) -> None:
    auth, _ = setup(store, AllowOfflineTxForUnknownId="true")
    store.local["AA"] = stored
    d = auth.decide_local("AA", online=False, now_wall=NOW)
    assert d.kind is REJECT and d.status is why


def test_offline_without_clock_takes_stored_status(store: FakeStore) -> None:
    auth, _ = setup(store)
    store.cache["AA"] = entry("AA", expiry=EARLIER)
    store.cache["BB"] = entry("BB", "Blocked", expiry=LATER)
    assert auth.decide_local("AA", online=False, now_wall=None).accepted
    assert auth.decide_local("BB", online=False, now_wall=None).kind is REJECT


def test_offline_never_asks(store: FakeStore) -> None:
    auth, _ = setup(store)
    for tag in ("AA", "BB"):
        assert auth.decide_local(tag, online=False, now_wall=NOW).kind is not ASK


# --- recording CSMS answers ---------------------------------------------------------------


def test_record_fills_the_cache_from_wire_and_snake_case(store: FakeStore) -> None:
    auth, _ = setup(store, LocalPreAuthorize="true")
    r = auth.record("aa", {"status": "Accepted", "expiryDate": LATER, "parentIdTag": "P"})
    assert r.status is AuthStatus.ACCEPTED and not r.local_list_conflict
    assert store.cache["AA"] == entry("AA", "Accepted", LATER, "P")
    auth.record("BB", {"status": "Blocked", "expiry_date": None, "parent_id_tag": "Q"})
    assert store.cache["BB"] == entry("BB", "Blocked", None, "Q")
    assert auth.decide_local("AA", online=True, now_wall=NOW).accepted


def test_record_overwrites_and_unknown_status_is_invalid(store: FakeStore) -> None:
    auth, _ = setup(store)
    auth.record("AA", {"status": "Accepted"})
    r = auth.record("AA", {"status": "Sure!"})
    assert r.status is AuthStatus.INVALID and store.cache["AA"].status == "Invalid"


def test_record_with_cache_disabled_stores_nothing(store: FakeStore) -> None:
    auth, _ = setup(store, AuthorizationCacheEnabled="false")
    auth.record("AA", {"status": "Accepted"})
    assert store.cache == {}


def test_local_list_conflict_is_reported(store: FakeStore) -> None:
    auth, _ = setup(store)
    store.local["AA"] = entry("AA")
    assert auth.record("AA", {"status": "Blocked"}, NOW).local_list_conflict
    assert not auth.record("AA", {"status": "Accepted"}, NOW).local_list_conflict
    store.local["BB"] = entry("BB", expiry=EARLIER)
    assert not auth.record("BB", {"status": "Expired"}, NOW).local_list_conflict
    assert not auth.record("CC", {"status": "Invalid"}, NOW).local_list_conflict


def test_clear_cache_061(store: FakeStore) -> None:
    auth, _ = setup(store, LocalPreAuthorize="true")
    auth.record("AA", {"status": "Accepted"})
    store.local["BB"] = entry("BB")
    assert auth.clear_cache() == "Accepted"
    assert store.cache == {} and "BB" in store.local
    assert auth.decide_local("AA", online=True, now_wall=NOW).kind is ASK


def test_clear_cache_failure_is_rejected() -> None:
    class Broken(FakeStore):
        def cache_clear(self) -> None:
            raise OSError("disk")

    auth, _ = setup(Broken())
    assert auth.clear_cache() == "Rejected"


def test_helpers() -> None:
    assert normalize_id_tag(" 04a1b2 ") == "04A1B2"
    assert effective_status(entry("A", expiry="garbage"), NOW) is AuthStatus.EXPIRED
    assert effective_status(entry("A", expiry=LATER), NOW + timedelta(days=60)) is (
        AuthStatus.EXPIRED)
    assert effective_status(entry("A", "ConcurrentTx"), NOW) is AuthStatus.CONCURRENT_TX
