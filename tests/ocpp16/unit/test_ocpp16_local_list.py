"""chargepoint.ocpp16.local_list: SendLocalList / GetLocalListVersion (OCTT 042_x, 043_x)."""

from __future__ import annotations

from typing import Any

import pytest

from chargepoint.ocpp16.config_keys import Configuration
from chargepoint.ocpp16.local_list import get_local_list_version, send_local_list
from chargepoint.store.api import AuthEntry
from chargepoint.store.db import Store
from tests.ocpp16.unit.ocppunit_store import local_list


def cfg_for(store: Store, **kw: Any) -> Configuration:
    return Configuration(store, **kw)


def tag(t: str, status: str | None = "Accepted", **info: str) -> dict[str, Any]:
    if status is None:
        return {"idTag": t}
    return {"idTag": t, "idTagInfo": {"status": status, **info}}


def send(store: Store, cfg: Configuration, version: int, kind: str,
         entries: list[dict[str, Any]] | None) -> str:
    return send_local_list(store, cfg, list_version=version, update_type=kind, entries=entries)


def test_fresh_station_reports_version_0(store: Store) -> None:
    assert get_local_list_version(store, cfg_for(store)) == 0


def test_042_1_disabled_reports_minus_1(store: Store) -> None:
    cfg = cfg_for(store)
    cfg.change("LocalAuthListEnabled", "false")
    assert get_local_list_version(store, cfg) == -1
    no_profile = cfg_for(store, profiles=("Core",))
    assert get_local_list_version(store, no_profile) == -1


def test_042_2_full_without_list_gives_version_0(store: Store) -> None:
    cfg = cfg_for(store)
    assert send(store, cfg, 1, "Full", None) == "Accepted"
    assert get_local_list_version(store, cfg) == 0


def test_043_accepted_full_then_lookup(store: Store) -> None:
    cfg = cfg_for(store)
    entries = [tag("aa01", expiryDate="2030-01-01T00:00:00Z", parentIdTag="P"),
               tag("BB02", "Blocked")]
    assert send(store, cfg, 3, "Full", entries) == "Accepted"
    assert get_local_list_version(store, cfg) == 3
    assert local_list(store, "AA01", "BB02") == {
        "AA01": AuthEntry("AA01", "Accepted", "2030-01-01T00:00:00Z", "P"),
        "BB02": AuthEntry("BB02", "Blocked", None, None),
    }
    # a second Full replaces everything
    assert send(store, cfg, 4, "Full", [tag("CC03")]) == "Accepted"
    assert local_list(store, "CC03") and get_local_list_version(store, cfg) == 4


def test_043_1_not_supported_when_disabled(store: Store) -> None:
    cfg = cfg_for(store)
    cfg.change("LocalAuthListEnabled", "false")
    assert send(store, cfg, 1, "Full", [tag("AA")]) == "NotSupported"
    assert store.local_list_size() == 0
    assert send(store, cfg_for(store, profiles=("Core",)), 1, "Full", []) == "NotSupported"


def test_043_2_version_mismatch(store: Store) -> None:
    cfg = cfg_for(store)
    assert send(store, cfg, 2, "Full", [tag("AA")]) == "Accepted"
    assert get_local_list_version(store, cfg) == 2
    assert send(store, cfg, 5, "Differential", [tag("BB")]) == "Accepted"
    assert get_local_list_version(store, cfg) == 5
    for stale in (5, 4, 0, -1):
        assert send(store, cfg, stale, "Differential", [tag("CC")]) == "VersionMismatch"
    assert get_local_list_version(store, cfg) == 5 and store.local_list_get("CC") is None


def test_043_3_failed_on_too_many_entries(store: Store) -> None:
    cfg = cfg_for(store)
    n = cfg.get_int("SendLocalListMaxLength")
    many = [tag(f"T{i}") for i in range(n + 1)]
    assert send(store, cfg, 2, "Full", many) == "Failed"
    assert store.local_list_size() == 0 and get_local_list_version(store, cfg) == 0


def test_failed_when_the_list_would_outgrow_its_maximum(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = cfg_for(store)
    real = cfg.get_int

    def small(key: str) -> int:
        return 3 if key == "LocalAuthListMaxLength" else real(key)

    monkeypatch.setattr(cfg, "get_int", small)
    assert send(store, cfg, 1, "Full", [tag("A"), tag("B"), tag("C")]) == "Accepted"
    assert send(store, cfg, 2, "Differential", [tag("D")]) == "Failed"
    # replacing and removing in the same update keeps it within bounds
    assert send(store, cfg, 2, "Differential", [tag("D"), tag("A", None)]) == "Accepted"
    assert local_list(store, "B", "C", "D")
    assert send(store, cfg, 3, "Full", [tag(x) for x in "ABCD"]) == "Failed"


@pytest.mark.parametrize("bad", [
    [tag("AA"), tag("aa")],  # duplicate (case-insensitive)
    [tag("X" * 21)],  # IdToken is CiString20
    [tag("AA", "Maybe")],
    [tag("AA", expiryDate="soon")],
    [{"idTagInfo": {"status": "Accepted"}}],
    [tag("AA", None)],  # Full needs idTagInfo
    ["AA"],
])
def test_failed_on_malformed_entries(store: Store, bad: list[Any]) -> None:
    cfg = cfg_for(store)
    assert send(store, cfg, 1, "Full", [tag("KEEP")]) == "Accepted"
    assert send(store, cfg, 2, "Full", bad) == "Failed"
    assert local_list(store, "KEEP") and get_local_list_version(store, cfg) == 1


def test_full_version_rules(store: Store) -> None:
    cfg = cfg_for(store)
    assert send(store, cfg, -1, "Full", []) == "Failed"
    assert send(store, cfg, 0, "Full", [tag("AA")]) == "Failed"
    assert send(store, cfg, 0, "Full", []) == "Accepted"
    assert send(store, cfg, 7, "Full", [tag("AA")]) == "Accepted"
    assert send(store, cfg, 1, "Full", [tag("BB")]) == "Accepted"  # Full may go back
    assert get_local_list_version(store, cfg) == 1
    assert send(store, cfg, 2, "Sideways", []) == "Failed"


def test_differential_adds_updates_removes(store: Store) -> None:
    cfg = cfg_for(store)
    send(store, cfg, 1, "Full", [tag("AA"), tag("BB"), tag("CC")])
    status = send(store, cfg, 2, "Differential",
                  [tag("AA", "Blocked"), tag("BB", None), tag("DD"), tag("ZZ", None)])
    assert status == "Accepted"
    assert {k: e.status for k, e in local_list(store, "AA", "CC", "DD").items()} == {
        "AA": "Blocked", "CC": "Accepted", "DD": "Accepted"}
    assert get_local_list_version(store, cfg) == 2


def test_differential_without_entries_only_advances_version(store: Store) -> None:
    cfg = cfg_for(store)
    send(store, cfg, 1, "Full", [tag("AA")])
    assert send(store, cfg, 2, "Differential", None) == "Accepted"
    assert local_list(store, "AA") and get_local_list_version(store, cfg) == 2


def test_snake_case_entries_from_the_ocpp_library(store: Store) -> None:
    cfg = cfg_for(store)
    entries = [{"id_tag": "aa", "id_tag_info": {"status": "Accepted",
                                                "expiry_date": "2030-01-01T00:00:00Z",
                                                "parent_id_tag": "P"}}]
    assert send(store, cfg, 1, "Full", entries) == "Accepted"
    assert store.local_list_get("AA") == AuthEntry("AA", "Accepted", "2030-01-01T00:00:00Z", "P")


def test_store_failure_is_failed(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(version: int, entries: list[AuthEntry]) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(store, "local_list_replace", broken)
    assert send(store, Configuration(store), 1, "Full", [tag("AA")]) == "Failed"
