"""Meter, configuration, availability, reservations, profiles, latched faults, kv, summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from chargepoint.store.api import AuthEntry, ReservationRecord
from chargepoint.store.db import Store
from chargepoint.store.migrations import SCHEMA_VERSION


def test_meter_last(store: Store) -> None:
    assert store.last_meter_reading(1) is None
    store.save_meter_reading(1, 100.0, "t1")
    store.save_meter_reading(1, 150.25, "t2")
    store.save_meter_reading(2, 7, "t3")
    assert store.last_meter_reading(1) == (150.25, "t2")
    assert store.last_meter_reading(2) == (7.0, "t3")
    with pytest.raises(ValueError):
        store.save_meter_reading(1, float("nan"), "t4")
    assert store.last_meter_reading(1) == (150.25, "t2")


def test_config(store: Store) -> None:
    assert store.config_get("HeartbeatInterval") is None
    assert store.config_all() == {}
    store.config_set("HeartbeatInterval", "300")
    store.config_set("HeartbeatInterval", "60")
    store.config_set("MeterValueSampleInterval", "0")
    assert store.config_get("HeartbeatInterval") == "60"
    assert store.config_all() == {"HeartbeatInterval": "60", "MeterValueSampleInterval": "0"}


def test_availability(store: Store) -> None:
    assert store.availability() == {}
    store.set_availability(0, True)
    store.set_availability(1, False)
    store.set_availability(2, False)
    store.set_availability(2, True)
    assert store.availability() == {0: True, 1: False, 2: True}


def test_reservations(store: Store) -> None:
    assert store.reservations() == []
    r1 = ReservationRecord(3, 1, "TAG", None, "2026-01-01T12:00:00Z")
    r2 = ReservationRecord(1, 2, "TAG2", "PARENT", "2026-01-01T13:00:00Z")
    store.reservation_put(r1)
    store.reservation_put(r2)
    assert store.reservations() == [r2, r1]
    r1b = ReservationRecord(3, 1, "TAG", None, "2026-01-01T14:00:00Z")
    store.reservation_put(r1b)  # same id replaces (OCPP 1.6 5.13)
    assert store.reservations() == [r2, r1b]
    store.reservation_remove(1)
    store.reservation_remove(1)
    assert store.reservations() == [r1b]


def test_profiles(store: Store) -> None:
    assert store.profiles() == []
    tx_default = {"chargingProfileId": 1, "stackLevel": 0, "limit": 16}
    store.profile_put(1, 0, 0, "TxDefaultProfile", tx_default)
    store.profile_put(2, 1, 1, "TxProfile", {"chargingProfileId": 2})
    assert store.profiles() == [(1, 0, tx_default), (2, 1, {"chargingProfileId": 2})]
    # Same connector, stack level and purpose replaces (OCPP 1.6 5.16.2) ...
    store.profile_put(3, 1, 1, "TxProfile", {"chargingProfileId": 3})
    # ... and so does the same id, even moved to another connector.
    store.profile_put(1, 2, 0, "TxDefaultProfile", {"chargingProfileId": 1, "limit": 10})
    assert store.profiles() == [
        (3, 1, {"chargingProfileId": 3}),
        (1, 2, {"chargingProfileId": 1, "limit": 10}),
    ]
    store.profile_remove(3)
    store.profile_remove(3)
    assert [p[0] for p in store.profiles()] == [1]


def test_profiles_replaced_by_id_only(store: Store) -> None:
    # 2.0.1 K01.FR.05: only the same id replaces; two profiles with the same connector,
    # stack level and purpose (their validity does not overlap) are both kept.
    store.profile_put(1, 1, 0, "TxDefaultProfile", {"id": 1}, same_level_replaces=False)
    store.profile_put(2, 1, 0, "TxDefaultProfile", {"id": 2}, same_level_replaces=False)
    store.profile_put(1, 1, 0, "TxDefaultProfile", {"id": 1, "v": 2}, same_level_replaces=False)
    assert store.profiles() == [(1, 1, {"id": 1, "v": 2}), (2, 1, {"id": 2})]


def test_latched_faults_survive_reopen(db_path: Path) -> None:
    store = Store.open(db_path)
    assert store.latched_faults() == []
    store.set_latched_fault(2, "welded", True)
    store.set_latched_fault(1, "welded", True)
    store.set_latched_fault(1, "welded", True)
    store.set_latched_fault(1, "lock", False)  # clearing an absent fault is fine
    store.close()
    store = Store.open(db_path)
    assert store.latched_faults() == [(1, "welded"), (2, "welded")]
    store.set_latched_fault(1, "welded", False)
    assert store.latched_faults() == [(2, "welded")]
    store.close()


def test_kv(store: Store) -> None:
    assert store.kv_get("boot_count") is None
    store.kv_set("boot_count", "1")
    store.kv_set("boot_count", "2")
    assert store.kv_get("boot_count") == "2"
    store.kv_set("boot_count", None)
    store.kv_set("boot_count", None)
    assert store.kv_get("boot_count") is None


def test_summary(store: Store) -> None:
    empty = store.summary()
    assert empty["schema_version"] == SCHEMA_VERSION
    assert (empty["queue_length"], empty["queue_head"], empty["open_transactions"]) == (0, None, 0)
    assert empty["local_list_version"] == 0
    local_id = store.begin_transaction(1, "TAG", 0, "t", None, {})
    store.enqueue("Heartbeat", {}, None)
    store.mark_attempt(1)
    store.local_list_replace(4, [AuthEntry("A", "Accepted", None, None)])
    store.cache_put(AuthEntry("B", "Accepted", None, None))
    store.set_latched_fault(1, "welded", True)
    s = store.summary()
    assert s["queue_length"] == 2
    assert s["queue_head"] == {"seq": 1, "action": "transaction-start", "attempts": 1}
    assert s["open_transactions"] == 1
    assert (s["local_list_version"], s["local_list_size"], s["auth_cache_size"]) == (4, 1, 1)
    assert s["latched_faults"] == 1
    store.stop_transaction(local_id, 1, "t", "Local", None, {})
    assert store.summary()["open_transactions"] == 0


def test_memory_store() -> None:
    store = Store.open(":memory:")
    store.kv_set("a", "b")
    assert store.kv_get("a") == "b"
    assert store.integrity_check() == "ok"
    store.close()
