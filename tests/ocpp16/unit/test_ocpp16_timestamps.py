"""chargepoint.ocppj.timestamps: never a timestamp from before the clock was known."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from chargepoint.ocppj.timestamps import (
    Clock,
    ClockUnknown,
    format_utc,
    is_placeholder,
    parse_utc,
    read_boot_id,
)
from tests.ocpp16.unit.ocppunit_store import open_store

ISO_MS_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
T0 = datetime(2026, 11, 27, 0, 0, 0, tzinfo=UTC)


class FakeMono:
    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_format_is_utc_with_milliseconds_and_z() -> None:
    dt = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    assert format_utc(dt) == "2026-01-02T03:04:05.678Z"
    plus_one = dt.astimezone(timezone(timedelta(hours=1)))
    assert format_utc(plus_one) == "2026-01-02T03:04:05.678Z"
    with pytest.raises(ValueError):
        format_utc(datetime(2026, 1, 1))


def test_parse_accepts_z_offsets_and_naive() -> None:
    assert parse_utc("2026-11-27T00:00:00Z") == T0
    assert parse_utc("2026-11-27T01:00:00+01:00") == T0
    assert parse_utc("2026-11-27T00:00:00") == T0
    with pytest.raises(ValueError):
        parse_utc("yesterday")


def test_stamp_is_placeholder_until_known_then_iso() -> None:
    mono = FakeMono(100.0)
    clock = Clock(boot_id="b1", monotonic=mono)
    assert not clock.known and clock.wall_now() is None
    early = clock.stamp()
    assert is_placeholder(early) and early == "@mono:b1:100.000"
    mono.t = 160.0
    clock.set_wall("2026-11-27T00:00:00Z")
    assert clock.known
    late = clock.stamp()
    assert ISO_MS_Z.match(late) and late == "2026-11-27T00:00:00.000Z"
    # the early stamp resolves to 60 s before the clock was learnt
    assert clock.resolve(early) == "2026-11-26T23:59:00.000Z"
    assert clock.stamp(at=161.5) == "2026-11-27T00:00:01.500Z"


def test_set_wall_with_explicit_receive_time() -> None:
    clock = Clock(boot_id="b1", monotonic=FakeMono(500.0))
    clock.set_wall(T0, at=400.0)  # the answer arrived at mono 400
    assert clock.wall_now() == T0 + timedelta(seconds=100)


def test_garbage_current_time_is_refused() -> None:
    clock = Clock(boot_id="b1", monotonic=FakeMono())
    with pytest.raises(ValueError):
        clock.set_wall("not a time")
    assert not clock.known


def test_resolve_payload_waits_for_clock_then_replaces_deeply() -> None:
    mono = FakeMono(10.0)
    clock = Clock(boot_id="b1", monotonic=mono)
    payload: dict[str, Any] = {
        "connectorId": 1,
        "meterValue": [{"timestamp": clock.stamp(), "sampledValue": [{"value": "1"}]}],
        "idTag": "ABC",
    }
    with pytest.raises(ClockUnknown):
        clock.resolve_payload(payload)
    assert not clock.can_resolve(payload)
    mono.t = 20.0
    clock.set_wall(T0)
    out = clock.resolve_payload(payload)
    assert out["meterValue"][0]["timestamp"] == "2026-11-26T23:59:50.000Z"
    assert out["idTag"] == "ABC" and out["connectorId"] == 1
    assert is_placeholder(payload["meterValue"][0]["timestamp"])  # input untouched


def test_restart_within_same_boot_knows_the_clock_at_once() -> None:
    store = open_store()
    mono = FakeMono(50.0)
    first = Clock(boot_id="b1", kv=store, monotonic=mono)
    first.set_wall(T0)
    mono.t = 80.0
    second = Clock(boot_id="b1", kv=store, monotonic=mono)
    assert second.known
    assert second.wall_now() == T0 + timedelta(seconds=30)


def test_previous_boot_that_learnt_the_clock_resolves_exactly() -> None:
    store = open_store()
    mono = FakeMono(10.0)
    old = Clock(boot_id="b1", kv=store, monotonic=mono)
    stamp = old.stamp()  # queued while offline
    mono.t = 20.0
    old.set_wall(T0)  # learnt later in that boot, but the message was never sent
    mono.t = 5.0  # reboot: monotonic restarts
    new = Clock(boot_id="b2", kv=store, monotonic=mono)
    assert new.resolve(stamp) == format_utc(T0 - timedelta(seconds=10))


def test_previous_boot_offline_all_along_uses_floor_plus_mono() -> None:
    store = open_store()
    mono = FakeMono(100.0)
    b1 = Clock(boot_id="b1", kv=store, monotonic=mono)
    b1.set_wall(T0)  # persists last wall time T0
    mono.t = 3.0
    b2 = Clock(boot_id="b2", kv=store, monotonic=mono)  # never gets the clock
    s1, s2 = b2.stamp(at=30.0), b2.stamp(at=90.0)
    mono.t = 7.0
    b3 = Clock(boot_id="b3", kv=store, monotonic=mono)
    b3.set_wall(T0 + timedelta(hours=5))
    r1, r2 = b3.resolve(s1), b3.resolve(s2)
    assert r1 == format_utc(T0 + timedelta(seconds=30))
    assert r2 == format_utc(T0 + timedelta(seconds=90))
    assert parse_utc(r1) < parse_utc(r2) <= T0 + timedelta(hours=5)


def test_unknown_boot_without_anything_falls_back_to_learning_time() -> None:
    clock = Clock(boot_id="b9", monotonic=FakeMono(1.0))
    foreign = "@mono:lost-boot:12.000"
    with pytest.raises(ClockUnknown):
        clock.resolve(foreign)
    clock.set_wall(T0)
    assert clock.resolve(foreign) == format_utc(T0)


def test_unknown_boot_uses_floor_of_current_boot_when_there_is_one() -> None:
    store = open_store()
    mono = FakeMono(1.0)
    Clock(boot_id="b1", kv=store, monotonic=mono).set_wall(T0)
    b2 = Clock(boot_id="b2", kv=store, monotonic=mono)
    b2.set_wall(T0 + timedelta(days=1))
    assert b2.resolve("@mono:never-seen:5.0") == format_utc(T0)


def test_anchor_table_is_bounded() -> None:
    store = open_store()
    for i in range(40):
        Clock(boot_id=f"b{i}", kv=store, monotonic=FakeMono())
    assert len(json.loads(store.kv_get("ocpp16.clock.anchors") or "{}")) <= 16


def test_malformed_placeholder_raises_and_plain_strings_pass() -> None:
    clock = Clock(boot_id="b1", monotonic=FakeMono())
    clock.set_wall(T0)
    assert clock.resolve("Accepted") == "Accepted"
    with pytest.raises(ValueError):
        clock.resolve("@mono:nonsense")


def test_boot_id_reading(tmp_path: Path) -> None:
    p = tmp_path / "boot_id"
    p.write_text("abc-123\n")
    assert read_boot_id(str(p)) == "abc-123"
    missing = read_boot_id(str(p) + ".missing")
    assert missing.startswith("unknown-") and missing != read_boot_id(str(p) + ".missing")
    with pytest.raises(ValueError):
        Clock(boot_id="a:b")


def test_checkpoint_moves_the_next_boots_floor_and_stamp_never_writes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = open_store()
    mono = FakeMono(10.0)
    b1 = Clock(boot_id="b1", kv=store, monotonic=mono)
    b1.set_wall(T0)
    mono.t = 1010.0
    b1.checkpoint()
    writes: list[str] = []
    real_set = store.kv_set

    def counting_set(key: str, value: str | None) -> None:
        writes.append(key)
        real_set(key, value)

    monkeypatch.setattr(store, "kv_set", counting_set)
    for _ in range(100):
        b1.stamp()
        mono.t += 120.0
    assert writes == []  # stamping is pure: the event loop never waits on sqlite for it
    mono.t = 2.0
    b2 = Clock(boot_id="b2", kv=store, monotonic=mono)
    assert not b2.known and b2.stamp(at=5.0) == "@mono:b2:5.000"
    mono.t = 3.0
    b3 = Clock(boot_id="b3", kv=store, monotonic=mono)
    b3.set_wall(T0 + timedelta(days=1))
    assert b3.resolve("@mono:b2:5.000") == format_utc(T0 + timedelta(seconds=1005))


def test_stamp_never_raises() -> None:
    clock = Clock(boot_id="b1", monotonic=FakeMono(100.0))
    assert is_placeholder(clock.stamp(at=float("inf")))
    clock.set_wall(T0)
    assert is_placeholder(clock.stamp(at=1e300))  # no wall time: a placeholder, no error


@pytest.mark.parametrize("bad", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z",
                                 "2100-01-01T00:00:00Z"])
def test_implausible_time_is_refused_and_changes_nothing(tmp_path: Path, bad: str) -> None:
    store = open_store(tmp_path / "s.db")
    clock = Clock(boot_id="b1", kv=store, monotonic=FakeMono())
    clock.set_wall(T0)
    with pytest.raises(ValueError):
        clock.set_wall(bad)
    assert clock.wall_now() == T0
    assert bad[:4] not in (store.kv_get("ocpp16.clock.anchors") or "")


def test_an_implausible_persisted_time_is_never_the_next_boots_fallback(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s.db")
    store.kv_set("ocpp16.clock.anchors", json.dumps({
        "old": {"n": 1, "last": "9999-12-31T23:59:59.000Z", "offset": 2.5e11},
        "older": {"n": 0, "last": "not a time"}}))
    clock = Clock(boot_id="b2", kv=store, monotonic=FakeMono())
    with pytest.raises(ClockUnknown):
        clock.resolve("@mono:old:5.000")  # nothing plausible known about that boot
    clock.set_wall(T0)
    assert clock.resolve("@mono:old:5.000").startswith("2026-11-27")
    assert "9999" not in (store.kv_get("ocpp16.clock.anchors") or "")


def test_a_jump_of_the_known_clock_is_a_security_event() -> None:
    events: list[tuple[str, str]] = []
    clock = Clock(boot_id="b1", monotonic=FakeMono(),
                  security_event=lambda kind, info: events.append((kind, info)))
    clock.set_wall(T0)
    clock.set_wall(T0 + timedelta(seconds=10))  # drift: no event
    assert events == []
    clock.set_wall(T0 + timedelta(days=400))
    assert [kind for kind, _ in events] == ["SettingSystemTime"]
