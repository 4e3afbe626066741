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
from chargepoint.store.db import Store
from tests.ocpp16.unit.ocppunit_store import local_list, open_store, put_local

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
LATER = "2026-12-31T00:00:00Z"
EARLIER = "2026-11-01T00:00:00Z"
ACCEPT, REJECT, ASK = DecisionKind.ACCEPT, DecisionKind.REJECT, DecisionKind.ASK


def setup(store: Store, **keys: str) -> tuple[Authorizer, Configuration]:
    cfg = Configuration(store)
    for k, v in keys.items():
        assert cfg.change(k, v) == "Accepted"
    return Authorizer(store, cfg), cfg


def entry(tag: str, status: str = "Accepted", expiry: str | None = None,
          parent: str | None = None) -> AuthEntry:
    return AuthEntry(tag, status, expiry, parent)


# --- online (LocalPreAuthorize) ------------------------------------------------------------


def test_online_without_pre_authorize_always_asks(store: Store) -> None:
    auth, _ = setup(store, LocalPreAuthorize="false")
    put_local(store, entry("AA"))
    store.cache_put(entry("BB"))
    assert auth.decide_local("AA", online=True, now_wall=NOW).kind is ASK
    assert auth.decide_local("BB", online=True, now_wall=NOW).kind is ASK


def test_online_pre_authorize_from_cache_007(store: Store) -> None:
    auth, _ = setup(store, LocalPreAuthorize="true")
    store.cache_put(entry("AA", expiry=LATER, parent="P1"))
    d = auth.decide_local("AA", online=True, now_wall=NOW)
    assert d == Decision(ACCEPT, AuthStatus.ACCEPTED, "P1", Source.CACHE)


def test_online_pre_authorize_from_local_list_008(store: Store) -> None:
    auth, _ = setup(store, LocalPreAuthorize="true", AuthorizationCacheEnabled="false")
    put_local(store, entry("AA"))
    d = auth.decide_local("aa", online=True, now_wall=NOW)  # IdToken is case-insensitive
    assert d.accepted and d.source is Source.LOCAL_LIST


@pytest.mark.parametrize("stored", [entry("AA", "Blocked"), entry("AA", "Invalid"),
                                    entry("AA", expiry=EARLIER)])
def test_online_only_accepted_unexpired_entries_start_at_once(
    store: Store, stored: AuthEntry
) -> None:
    auth, _ = setup(store, LocalPreAuthorize="true")
    store.cache_put(stored)
    assert auth.decide_local("AA", online=True, now_wall=NOW).kind is ASK


def test_online_unknown_tag_asks(store: Store) -> None:
    auth, _ = setup(store, LocalPreAuthorize="true")
    assert auth.decide_local("ZZ", online=True, now_wall=NOW).kind is ASK


def test_online_entry_with_expiry_but_no_clock_asks(store: Store) -> None:
    auth, _ = setup(store, LocalPreAuthorize="true")
    store.cache_put(entry("AA", expiry=LATER))
    store.cache_put(entry("BB"))
    assert auth.decide_local("AA", online=True, now_wall=None).kind is ASK
    assert auth.decide_local("BB", online=True, now_wall=None).accepted


def test_disabled_sources_are_not_consulted(store: Store) -> None:
    auth, _ = setup(store, LocalPreAuthorize="true", LocalAuthListEnabled="false",
                    AuthorizationCacheEnabled="false")
    put_local(store, entry("AA"))
    store.cache_put(entry("BB"))
    assert auth.decide_local("AA", online=True, now_wall=NOW).kind is ASK
    assert auth.decide_local("BB", online=True, now_wall=NOW).kind is ASK


def test_local_list_takes_precedence_over_cache(store: Store) -> None:
    auth, _ = setup(store, LocalPreAuthorize="true")
    put_local(store, entry("AA", "Blocked"))
    store.cache_put(entry("AA"))
    assert auth.decide_local("AA", online=True, now_wall=NOW).kind is ASK
    d = auth.decide_local("AA", online=False, now_wall=NOW)
    assert d.kind is REJECT and d.status is AuthStatus.BLOCKED and d.source is Source.LOCAL_LIST


def test_expired_cache_entry_is_rewritten_as_expired(store: Store) -> None:
    auth, _ = setup(store)
    store.cache_put(entry("AA", expiry=EARLIER, parent="P"))
    auth.decide_local("AA", online=False, now_wall=NOW)
    assert store.cache_get("AA") == entry("AA", "Expired", EARLIER, "P")


# --- offline (037_x) ----------------------------------------------------------------------


def test_offline_known_valid_tag_starts_037_1(store: Store) -> None:
    auth, _ = setup(store, LocalAuthorizeOffline="true")
    store.cache_put(entry("AA", expiry=LATER))
    d = auth.decide_local("AA", online=False, now_wall=NOW)
    assert d.kind is ACCEPT and d.source is Source.CACHE


def test_offline_known_tag_without_local_authorize_offline_is_unknown(store: Store) -> None:
    auth, cfg = setup(store, LocalAuthorizeOffline="false")
    store.cache_put(entry("AA"))
    d = auth.decide_local("AA", online=False, now_wall=NOW)
    assert d.kind is REJECT and d.status is AuthStatus.INVALID
    cfg.change("AllowOfflineTxForUnknownId", "true")
    d = auth.decide_local("AA", online=False, now_wall=NOW)
    assert d.kind is ACCEPT and d.source is Source.OFFLINE_UNKNOWN


@pytest.mark.parametrize("allow", ["true", "false"])
def test_offline_unknown_tag_follows_allow_offline_tx_037_2_3(
    store: Store, allow: str
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
    store: Store, stored: AuthEntry, why: AuthStatus
) -> None:
    auth, _ = setup(store, AllowOfflineTxForUnknownId="true")
    put_local(store, stored)
    d = auth.decide_local("AA", online=False, now_wall=NOW)
    assert d.kind is REJECT and d.status is why


def test_offline_without_clock_takes_stored_status(store: Store) -> None:
    auth, _ = setup(store)
    store.cache_put(entry("AA", expiry=EARLIER))
    store.cache_put(entry("BB", "Blocked", expiry=LATER))
    assert auth.decide_local("AA", online=False, now_wall=None).accepted
    assert auth.decide_local("BB", online=False, now_wall=None).kind is REJECT


def test_offline_never_asks(store: Store) -> None:
    auth, _ = setup(store)
    for tag in ("AA", "BB"):
        assert auth.decide_local(tag, online=False, now_wall=NOW).kind is not ASK


# --- recording CSMS answers ---------------------------------------------------------------


def test_record_fills_the_cache_from_wire_and_snake_case(store: Store) -> None:
    auth, _ = setup(store, LocalPreAuthorize="true")
    r = auth.record("aa", {"status": "Accepted", "expiryDate": LATER, "parentIdTag": "P"})
    assert r.status is AuthStatus.ACCEPTED and not r.local_list_conflict
    assert store.cache_get("AA") == entry("AA", "Accepted", LATER, "P")
    auth.record("BB", {"status": "Blocked", "expiry_date": None, "parent_id_tag": "Q"})
    assert store.cache_get("BB") == entry("BB", "Blocked", None, "Q")
    assert auth.decide_local("AA", online=True, now_wall=NOW).accepted


def test_record_overwrites_and_unknown_status_is_invalid(store: Store) -> None:
    auth, _ = setup(store)
    auth.record("AA", {"status": "Accepted"})
    r = auth.record("AA", {"status": "Sure!"})
    cached = store.cache_get("AA")
    assert r.status is AuthStatus.INVALID and cached is not None and cached.status == "Invalid"


def test_record_with_cache_disabled_stores_nothing(store: Store) -> None:
    auth, _ = setup(store, AuthorizationCacheEnabled="false")
    auth.record("AA", {"status": "Accepted"})
    assert store.cache_get("AA") is None


def test_local_list_conflict_is_reported(store: Store) -> None:
    auth, _ = setup(store)
    put_local(store, entry("AA"))
    assert auth.record("AA", {"status": "Blocked"}, NOW).local_list_conflict
    assert not auth.record("AA", {"status": "Accepted"}, NOW).local_list_conflict
    put_local(store, entry("BB", expiry=EARLIER))
    assert not auth.record("BB", {"status": "Expired"}, NOW).local_list_conflict
    assert not auth.record("CC", {"status": "Invalid"}, NOW).local_list_conflict


def test_clear_cache_061(store: Store) -> None:
    auth, _ = setup(store, LocalPreAuthorize="true")
    auth.record("AA", {"status": "Accepted"})
    put_local(store, entry("BB"))
    assert auth.clear_cache() == "Accepted"
    assert store.cache_get("AA") is None and local_list(store, "BB")
    assert auth.decide_local("AA", online=True, now_wall=NOW).kind is ASK


def test_clear_cache_failure_is_rejected(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> None:
        raise OSError("disk")

    monkeypatch.setattr(store, "cache_clear", broken)
    auth, _ = setup(store)
    assert auth.clear_cache() == "Rejected"


def test_helpers() -> None:
    assert normalize_id_tag(" 04a1b2 ") == "04A1B2"
    assert effective_status(entry("A", expiry="garbage"), NOW) is AuthStatus.EXPIRED
    assert effective_status(entry("A", expiry=LATER), NOW + timedelta(days=60)) is (
        AuthStatus.EXPIRED)
    assert effective_status(entry("A", "ConcurrentTx"), NOW) is AuthStatus.CONCURRENT_TX


# --- the whole rule table, exhaustively ----------------------------------------------------

_FLAGS = ("LocalPreAuthorize", "LocalAuthorizeOffline", "AllowOfflineTxForUnknownId",
          "AuthorizationCacheEnabled", "LocalAuthListEnabled")
_STATES: dict[str, AuthEntry | None] = {
    "none": None,
    "accepted": entry("AA", expiry=LATER, parent="P"),
    "blocked": entry("AA", "Blocked"),
    "expired": entry("AA", expiry=EARLIER),
}


def _cases() -> list[tuple[dict[str, bool], str, str]]:
    import itertools

    out = []
    for bits in itertools.product((False, True), repeat=len(_FLAGS)):
        for in_list, in_cache in itertools.product(_STATES, repeat=2):
            out.append((dict(zip(_FLAGS, bits, strict=True)), in_list, in_cache))
    return out


def test_rule_table_invariants() -> None:
    for flags, in_list, in_cache in _cases():
        s = open_store()
        auth, _ = setup(s, **{k: str(v).lower() for k, v in flags.items()})
        if (e := _STATES[in_list]) is not None:
            put_local(s, e)
        if (e := _STATES[in_cache]) is not None:
            s.cache_put(e)
        # the source that decides: the list if enabled and holding the tag, else the cache
        decisive = "none"
        if flags["LocalAuthListEnabled"] and in_list != "none":
            decisive = in_list
        elif flags["AuthorizationCacheEnabled"] and in_cache != "none":
            decisive = in_cache
        case = (flags, in_list, in_cache)

        online = auth.decide_local("AA", online=True, now_wall=NOW)
        assert online.kind is not REJECT, case
        expect_accept = flags["LocalPreAuthorize"] and decisive == "accepted"
        assert online.accepted == expect_accept, case
        if online.accepted:
            assert online.parent_id_tag == "P", case

        offline = auth.decide_local("AA", online=False, now_wall=NOW)
        assert offline.kind is not ASK, case
        if decisive in ("blocked", "expired"):
            assert offline.kind is REJECT, case  # 3.5.3: known and not valid: never starts
        elif decisive == "accepted" and flags["LocalAuthorizeOffline"]:
            assert offline.accepted and offline.parent_id_tag == "P", case
        else:
            assert offline.accepted == flags["AllowOfflineTxForUnknownId"], case
        s.close()
