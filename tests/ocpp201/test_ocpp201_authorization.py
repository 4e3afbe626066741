"""OCPP 2.0.1 authorization (blocks C and D) from the CSMS side: the full station on the
simulated bench against the loopback 2.0.1 CSMS. Authorization cache (C10-C12), unknown ids
offline (C15), local list (D01-D03, C13, C14), token types, persistence across a reboot, and
free vend's empty idToken in ``chargepoint status``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ocpp.v201 import call

from chargepoint.app import RunningStation
from chargepoint.core.events import AuthorizationResult
from chargepoint.core.types import AuthStatus
from chargepoint.ocppj.timestamps import parse_utc
from tests.fullstack import charging, free, until
from tests.ocpp201.conftest import Cp201Maker
from tests.ocpp201.csms import Csms201

TAG = "04A1B2C3"
OTHER = "04D5E6F7"
CARD_KEY = f"ISO14443:{TAG}"


def ref(component: str, variable: str) -> dict[str, Any]:
    return {"component": {"name": component}, "variable": {"name": variable}}


def listed(token: str, status: str | None = "Accepted", kind: str = "ISO14443",
           **info: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"idToken": {"idToken": token, "type": kind}}
    if status is not None:
        entry["idTokenInfo"] = {"status": status, **info}
    return entry


async def registered(cp: RunningStation, csms: Csms201) -> None:
    await until(lambda: cp.adapter.link_state().registration == "Accepted"
                and cp.adapter.link_state().connected)
    await csms.wait_for("StatusNotification")


async def offline(cp: RunningStation, csms: Csms201) -> None:
    await until(lambda: cp.store.queue_length() == 0)
    await csms.stop()
    await until(lambda: not cp.adapter.link_state().connected)


async def variable(csms: Csms201, component: str, name: str) -> str:
    result = await csms.send(call.GetVariables(get_variable_data=[ref(component, name)]))
    return str(result.get_variable_result[0]["attribute_value"])


async def set_variable(csms: Csms201, component: str, name: str, value: str) -> None:
    result = await csms.send(call.SetVariables(set_variable_data=[
        {**ref(component, name), "attributeValue": value}]))
    assert result.set_variable_result[0]["attribute_status"] == "Accepted"


async def send_list(csms: Csms201, version: int, kind: str,
                    entries: list[dict[str, Any]] | None) -> str:
    result = await csms.send(call.SendLocalList(
        version_number=version, update_type=kind, local_authorization_list=entries))
    return str(result.status)


async def list_version(csms: Csms201) -> int:
    return int((await csms.send(call.GetLocalListVersion())).version_number)


def verdicts(cp: RunningStation) -> list[AuthorizationResult]:
    """The core's authorization results from now on."""
    seen: list[AuthorizationResult] = []
    cp.controller.observe(lambda item: seen.append(item)
                          if isinstance(item, AuthorizationResult) else None)
    return seen


async def session(cp: RunningStation, tag: str) -> None:
    """Plug, tap ``tag``, wait until charging."""
    assert cp.bench is not None
    cp.bench.plug(1)
    cp.bench.tap(tag)
    await charging(cp)
    await until(lambda: cp.store.open_transactions())  # stored (the contactor may be first)


def idle(cp: RunningStation) -> bool:
    """No session, nothing open in the store, and the socket free again (``free``)."""
    return (cp.controller.station.snapshot().connectors[0].session is None and free(cp)
            and not cp.store.open_transactions())


async def end_session(cp: RunningStation) -> None:
    assert cp.bench is not None
    cp.bench.unplug(1)
    await until(lambda: idle(cp))


async def refused(cp: RunningStation, tag: str) -> AuthorizationResult:
    """Plug, tap ``tag``; the core's (refusing) verdict; nothing charges."""
    seen = verdicts(cp)
    assert cp.bench is not None
    cp.bench.plug(1)
    cp.bench.tap(tag)
    await until(lambda: seen)
    assert seen[0].status is not AuthStatus.ACCEPTED
    assert not cp.controller.hardware_of(1).contactor.commanded_closed
    return seen[0]


# -- C10, C11, C12: the authorization cache ------------------------------------------------


async def test_c10_c12_authorized_card_is_cached_and_starts_offline(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(**{"AuthCacheCtrlr.LifeTime": 600})
    await registered(cp, csms201)
    await session(cp, TAG)
    cached = cp.store.cache_get(CARD_KEY)
    assert cached is not None and cached.status == "Accepted"
    assert cached.expiry is not None  # LifeTime: at most 600 s from now
    assert parse_utc(cached.expiry) <= datetime.now(UTC) + timedelta(seconds=600)
    assert int(await variable(csms201, "AuthCacheCtrlr", "Storage")) > 0
    await end_session(cp)
    await offline(cp, csms201)
    await session(cp, TAG)  # LocalAuthorizeOffline (default true): the cache decides
    assert len(csms201.calls("Authorize")) == 1
    await csms201.start()
    await csms201.wait_until(lambda: len(csms201.events()) >= 3)
    started = csms201.events()[2]
    assert started["eventType"] == "Started" and started["offline"] is True
    assert started["idToken"] == {"idToken": TAG, "type": "ISO14443"}


async def test_c11_clear_cache_then_the_card_is_unknown_offline(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await registered(cp, csms201)
    await session(cp, TAG)
    await end_session(cp)
    assert cp.store.cache_get(CARD_KEY) is not None
    assert (await csms201.send(call.ClearCache())).status == "Accepted"
    assert cp.store.cache_get(CARD_KEY) is None
    assert await variable(csms201, "AuthCacheCtrlr", "Storage") == "0"
    await offline(cp, csms201)
    verdict = await refused(cp, TAG)  # OfflineTxForUnknownIdEnabled false (default)
    assert verdict.status is AuthStatus.INVALID


async def test_c12_without_local_authorize_offline_a_cached_card_is_unknown(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await registered(cp, csms201)
    await session(cp, TAG)
    await end_session(cp)
    await set_variable(csms201, "AuthCtrlr", "LocalAuthorizeOffline", "false")
    assert await variable(csms201, "AuthCacheCtrlr", "Policy") == "LRU"
    refusal = await csms201.send(call.SetVariables(set_variable_data=[
        {**ref("LocalAuthListCtrlr", "Entries"), "attributeValue": "5"}]))
    assert refusal.set_variable_result[0]["attribute_status"] == "Rejected"  # read-only
    await offline(cp, csms201)
    verdict = await refused(cp, TAG)
    assert verdict.status is AuthStatus.INVALID
    assert cp.store.cache_get(CARD_KEY) is not None


async def test_c11_clear_cache_rejected_while_the_cache_is_disabled(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await registered(cp, csms201)
    await set_variable(csms201, "AuthCacheCtrlr", "Enabled", "false")
    assert (await csms201.send(call.ClearCache())).status == "Rejected"
    await session(cp, TAG)
    assert cp.store.cache_get(CARD_KEY) is None  # C10: nothing is cached while disabled


async def test_c10_transaction_event_response_updates_the_cache(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    csms201.event_token_status[TAG] = "Blocked"  # Authorize says Accepted, Started Blocked
    cp = await make_cp201(**{"AuthCtrlr.OfflineTxForUnknownIdEnabled": True})
    await registered(cp, csms201)
    assert cp.bench is not None
    cp.bench.plug(1)
    cp.bench.tap(TAG)  # Started's answer (Blocked) deauthorizes: maybe before it charged
    await until(lambda: (e := cp.store.cache_get(CARD_KEY)) is not None
                and e.status == "Blocked")
    await end_session(cp)
    await offline(cp, csms201)
    verdict = await refused(cp, TAG)  # known and Blocked: the unknown-id rule does not apply
    assert verdict.status is AuthStatus.BLOCKED


async def test_c10_a_replayed_started_caches_its_answer_and_counts_it(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    """The answer to a Started sent from the offline queue is cached in the commit that
    removes the message, and AuthCacheCtrlr.Storage follows (read in that same worker call)."""
    csms201.event_token_status[TAG] = "Accepted"  # the Started's answer carries idTokenInfo
    cp = await make_cp201(**{"AuthCtrlr.OfflineTxForUnknownIdEnabled": True})
    await registered(cp, csms201)
    assert int(await variable(csms201, "AuthCacheCtrlr", "Storage")) == 0
    await offline(cp, csms201)
    await session(cp, TAG)  # unknown offline: allowed (C15), nothing cached yet
    assert cp.store.cache_get(CARD_KEY) is None
    await csms201.start()
    await until(lambda: cp.store.cache_get(CARD_KEY) is not None)
    assert int(await variable(csms201, "AuthCacheCtrlr", "Storage")) > 0


async def test_c12_local_pre_authorize_starts_from_the_cache_without_authorize(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(**{"AuthCtrlr.LocalPreAuthorize": True})
    await registered(cp, csms201)
    await session(cp, TAG)
    await end_session(cp)
    assert len(csms201.calls("Authorize")) == 1
    await session(cp, TAG)
    await csms201.wait_until(lambda: len(csms201.events()) >= 3)
    assert len(csms201.calls("Authorize")) == 1  # the cache said Accepted: started at once
    assert csms201.events()[2]["offline"] is False


async def test_c12_without_local_pre_authorize_online_asks_the_csms(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await registered(cp, csms201)
    await session(cp, TAG)
    await end_session(cp)
    csms201.token_status[TAG] = "NoCredit"
    verdict = await refused(cp, TAG)  # the cache says Accepted, the CSMS decides
    assert verdict.status is AuthStatus.INVALID
    assert len(csms201.calls("Authorize")) == 2
    cached = cp.store.cache_get(CARD_KEY)
    assert cached is not None and cached.status == "Invalid"


# -- C15: unknown ids offline -------------------------------------------------------------


async def test_c15_unknown_id_offline_allowed(csms201: Csms201,
                                              make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(**{"AuthCtrlr.OfflineTxForUnknownIdEnabled": True})
    await registered(cp, csms201)
    await offline(cp, csms201)
    await session(cp, OTHER)
    await csms201.start()
    await csms201.wait_until(lambda: csms201.events())
    started = csms201.events()[0]
    assert started["offline"] is True
    assert started["idToken"] == {"idToken": OTHER, "type": "ISO14443"}
    assert not csms201.calls("Authorize")


async def test_c15_unknown_id_offline_refused(csms201: Csms201,
                                              make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await registered(cp, csms201)
    await offline(cp, csms201)
    verdict = await refused(cp, OTHER)
    assert verdict.status is AuthStatus.INVALID


# -- D01, D02: the local list -------------------------------------------------------------


async def test_d01_d02_full_and_differential_updates(csms201: Csms201,
                                                     make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await registered(cp, csms201)
    assert await list_version(csms201) == 0
    assert await send_list(csms201, 1, "Full", [listed(TAG), listed(OTHER, "Blocked")]) \
        == "Accepted"
    assert await list_version(csms201) == 1
    assert await variable(csms201, "LocalAuthListCtrlr", "Entries") == "2"
    assert await send_list(csms201, 2, "Differential",
                           [listed(OTHER, None), listed("CAFE01", "Accepted")]) == "Accepted"
    assert await list_version(csms201) == 2
    assert cp.store.local_list_get(f"ISO14443:{OTHER}") is None
    assert cp.store.local_list_get("ISO14443:CAFE01") is not None
    assert await variable(csms201, "LocalAuthListCtrlr", "Entries") == "2"
    assert await send_list(csms201, 2, "Differential", [listed("BEEF02")]) == "VersionMismatch"
    assert await send_list(csms201, 1, "Differential", None) == "VersionMismatch"
    assert cp.store.local_list_get("ISO14443:BEEF02") is None
    assert await send_list(csms201, 3, "Differential", None) == "Accepted"  # version only
    assert await list_version(csms201) == 3
    assert await send_list(csms201, 4, "Full", None) == "Accepted"  # empties the list
    assert await list_version(csms201) == 0
    assert await variable(csms201, "LocalAuthListCtrlr", "Entries") == "0"


async def test_d01_failed_updates_change_nothing(csms201: Csms201,
                                                 make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(**{"LocalAuthListCtrlr.ItemsPerMessage": 2})
    await registered(cp, csms201)
    assert await send_list(csms201, 1, "Full", [listed(TAG)]) == "Accepted"
    bad = [
        ("Full", [listed(OTHER, None)]),  # Full without idTokenInfo
        ("Full", [listed(OTHER), listed(OTHER.lower())]),  # the same idToken twice
        ("Full", [listed("A1"), listed("A2"), listed("A3")]),  # > ItemsPerMessage
        ("Differential", [listed("", "Accepted")]),  # an empty idToken
        ("Differential", [listed("A4", "Accepted", cacheExpiryDateTime="soon")]),
    ]
    for version, (kind, entries) in enumerate(bad, start=2):
        assert await send_list(csms201, version, kind, entries) == "Failed", entries
    assert await list_version(csms201) == 1
    assert cp.store.local_list_size() == 1
    await set_variable(csms201, "LocalAuthListCtrlr", "Enabled", "false")
    assert await send_list(csms201, 9, "Full", [listed(OTHER)]) == "Failed"
    assert await list_version(csms201) == 0  # the list is off
    assert cp.store.local_list_get(f"ISO14443:{OTHER}") is None


async def test_c13_offline_the_local_list_decides_with_its_token_types(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(**{"AuthCtrlr.OfflineTxForUnknownIdEnabled": True})
    await registered(cp, csms201)
    assert await send_list(csms201, 1, "Full", [
        listed(TAG, groupIdToken={"idToken": "FLEET", "type": "Central"}),
        listed(OTHER, "Blocked"), listed("CAFE01", "Blocked", kind="Central")]) == "Accepted"
    await offline(cp, csms201)
    assert (await refused(cp, OTHER)).status is AuthStatus.BLOCKED
    assert cp.bench is not None
    cp.bench.unplug(1)
    await session(cp, "CAFE01")  # only a Central token CAFE01 is Blocked: a card is unknown
    await end_session(cp)
    seen = verdicts(cp)
    await session(cp, TAG)
    assert seen[0].status is AuthStatus.ACCEPTED and seen[0].parent_id_tag == "FLEET"
    assert not csms201.calls("Authorize")


async def test_c14_local_pre_authorize_starts_from_the_list(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(**{"AuthCtrlr.LocalPreAuthorize": True})
    await registered(cp, csms201)
    assert await send_list(csms201, 1, "Full", [listed(TAG)]) == "Accepted"
    await session(cp, TAG)
    await csms201.wait_until(lambda: csms201.events())
    assert not csms201.calls("Authorize")


async def test_d01_c10_list_and_cache_survive_a_reboot(csms201: Csms201,
                                                       make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await registered(cp, csms201)
    assert await send_list(csms201, 7, "Full", [listed(TAG)]) == "Accepted"
    await session(cp, OTHER)  # Authorize: cached
    await end_session(cp)
    await until(lambda: cp.store.queue_length() == 0)
    await cp.stop()
    await csms201.stop()
    again = await make_cp201()  # the same store, no CSMS: offline from the start
    await session(again, TAG)  # from the list
    await end_session(again)
    await session(again, OTHER)  # from the cache
    await end_session(again)
    await csms201.start()
    await registered(again, csms201)
    assert await list_version(csms201) == 7
    assert await variable(csms201, "LocalAuthListCtrlr", "Entries") == "1"


async def test_a_late_invalid_for_an_ended_transaction_leaves_the_next_one_alone(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    """Two offline sessions on EVSE 1; back online, the CSMS answers the first Started
    Invalid. That answer is about a transaction that has ended: the one charging now goes on."""
    cp = await make_cp201()
    await registered(cp, csms201)
    assert await send_list(csms201, 1, "Full", [listed(TAG), listed(OTHER)]) == "Accepted"
    await offline(cp, csms201)
    await session(cp, TAG)
    await end_session(cp)
    await session(cp, OTHER)
    csms201.event_token_status[TAG] = "Invalid"
    await csms201.start()
    await until(lambda: cp.store.queue_length() == 0 and len(csms201.events()) >= 3)
    await cp.adapter.ping()
    assert [e["eventType"] for e in csms201.events()].count("Ended") == 1
    assert cp.controller.hardware_of(1).contactor.commanded_closed
    assert cp.controller.station.snapshot().connectors[0].session is not None


# -- C01, F01 and free vend: the token types on the wire ----------------------------------


async def test_c01_remote_start_keeps_the_central_token_type(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await registered(cp, csms201)
    assert cp.bench is not None
    cp.bench.plug(1)
    result = await csms201.send(call.RequestStartTransaction(
        id_token={"idToken": "APP-USER-1", "type": "Central"}, remote_start_id=3))
    assert result.status == "Accepted"
    await csms201.wait_until(lambda: csms201.events())
    token = {"idToken": "APP-USER-1", "type": "Central"}
    assert (await csms201.wait_for("Authorize"))[0].payload["idToken"] == token
    assert csms201.events()[0]["idToken"] == token
    assert cp.store.cache_get("Central:APP-USER-1") is not None


async def test_free_vend_status_shows_an_empty_id_tag(csms201: Csms201,
                                                      make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(extra="[charging]\nfree_vend = true\n")
    await registered(cp, csms201)
    assert cp.bench is not None
    cp.bench.plug(1)
    await csms201.wait_until(lambda: csms201.events())
    await until(lambda: cp.store.open_transactions())
    status = await cp.status()
    assert status["connectors"][0]["transaction"]["id_tag"] == ""
