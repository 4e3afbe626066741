"""The runtime's parts: the table-driven input tracker and the persistence policy."""

from __future__ import annotations

import asyncio
from typing import Any

from chargepoint.core import events as ev
from chargepoint.core.station import Station
from chargepoint.core.types import FaultKind, PilotState, Settings
from chargepoint.inputs import CONNECTOR_INPUTS, InputTracker
from chargepoint.persistence import METER_SAVE_CHARGING_S, METER_SAVE_IDLE_S, Persistence

INPUT = {i.name: i for i in CONNECTOR_INPUTS}


def test_the_first_read_counts_then_only_changes() -> None:
    t = InputTracker([1])
    assert t.changed(1, INPUT["pilot"], PilotState.A) == [ev.PilotChanged(1, PilotState.A)]
    assert t.changed(1, INPUT["pilot"], PilotState.A) == []
    assert t.changed(1, INPUT["cable"], None) == [ev.CableRating(1, None)]  # first read
    assert t.changed(1, INPUT["cable"], None) == []
    assert t.changed(1, INPUT["mirror"], False) == [ev.ContactorFeedback(1, False)]
    assert t.last(1, "pilot") is PilotState.A


def test_faults_are_raised_and_cleared_on_change() -> None:
    t = InputTracker([1])
    assert t.changed(1, INPUT["diode_failed"], False) == []  # as assumed before any read
    assert t.changed(1, INPUT["diode_failed"], True) == [
        ev.FaultRaised(1, FaultKind.PILOT, "diode check failed")]
    assert t.changed(1, INPUT["diode_failed"], False) == [ev.FaultCleared(1, FaultKind.PILOT)]
    assert t.changed(1, INPUT["rcd"], True) == [
        ev.FaultRaised(1, FaultKind.RCD, "residual current trip")]
    assert t.meter(1, "timeout") == [ev.FaultRaised(1, FaultKind.METER, "timeout")]
    assert t.meter(1, "timeout again") == []
    assert t.meter(1, None) == [ev.FaultCleared(1, FaultKind.METER)]


def test_a_failing_read_is_one_episode_and_reads_the_diode_again_after() -> None:
    t = InputTracker([1])
    t.changed(1, INPUT["diode_failed"], True)
    first = t.read_failed(1, "bus error")
    assert first == [ev.FaultRaised(1, FaultKind.PILOT, "hardware read failed: bus error")]
    assert t.read_failed(1, "bus error") == [] and t.in_read_failure(1)
    assert t.read_ok(1) == [ev.FaultCleared(1, FaultKind.PILOT)]
    assert t.read_ok(1) == []
    # a diode fault still present is raised again by the next read
    assert t.changed(1, INPUT["diode_failed"], True) != []


def test_relay_faults_latched_ones_stay_until_forgotten() -> None:
    t = InputTracker([1])
    assert t.relays(1, {FaultKind.WELDED}) == [
        ev.FaultRaised(1, FaultKind.WELDED, FaultKind.WELDED.error_code)]
    assert t.relays(1, set()) == []  # latched: only a technician clears it
    assert t.relays(1, {FaultKind.LOCK}) == [
        ev.FaultRaised(1, FaultKind.LOCK, FaultKind.LOCK.error_code)]
    assert t.relays(1, set()) == [ev.FaultCleared(1, FaultKind.LOCK)]
    t.relays(1, {FaultKind.WELDED})
    t.forget_relays(1)
    assert t.relays(1, {FaultKind.WELDED}) != []  # still there: raised again


class _Store:
    def __init__(self) -> None:
        self.writes: list[tuple[Any, ...]] = []
        self.commits: list[list[tuple[int, float]]] = []  # meter readings per commit

    def availability(self) -> dict[int, bool]:
        return {}

    def set_availability(self, connector: int, operative: bool) -> None:
        self.writes.append(("availability", connector, operative))

    def save_meter_readings(self, readings: list[tuple[int, float, str]]) -> None:
        self.commits.append([(c, wh) for c, wh, _ in readings])
        self.writes += [("meter", c, wh) for c, wh, _ in readings]

    def set_latched_fault(self, connector: int, kind: str, present: bool) -> None:
        self.writes.append(("latched", connector, kind, present))


async def _written(persistence: Persistence) -> None:
    task = asyncio.create_task(persistence.run())
    try:
        await persistence.flush()
    finally:
        task.cancel()


async def test_availability_is_written_on_change_and_scheduled_keeps_its_target() -> None:
    store = _Store()
    persistence = Persistence(store)  # type: ignore[arg-type]
    await persistence.load()
    station = Station(2, Settings(), now=0.0)
    station.startup(0.0)
    persistence.availability(station.snapshot())
    await _written(persistence)
    assert store.writes == []  # operative everywhere, as the store says
    station.handle(ev.PilotChanged(1, PilotState.B), 1.0)
    station.handle(ev.RemoteStartRequested(1, "TAG", True), 1.0)
    assert station.snapshot().connectors[0].session is not None
    station.handle(ev.AvailabilityChanged(1, False), 2.0)  # Scheduled: a session runs
    station.handle(ev.AvailabilityChanged(2, False), 2.0)  # Accepted
    persistence.availability(station.snapshot())
    persistence.availability(station.snapshot())  # unchanged: nothing more
    await _written(persistence)
    assert store.writes == [("availability", 1, False), ("availability", 2, False)]


async def test_meter_readings_are_written_by_the_policy() -> None:
    store = _Store()
    persistence = Persistence(store)  # type: ignore[arg-type]
    persistence.meter_reading(1, 100.0, at=0.0, charging=False)  # the first one
    persistence.meter_reading(1, 101.0, at=METER_SAVE_IDLE_S / 2, charging=False)  # too soon
    persistence.meter_reading(1, 102.0, at=METER_SAVE_IDLE_S / 2 + METER_SAVE_CHARGING_S,
                              charging=True)  # charging: often
    persistence.meter_reading(1, 102.0, at=METER_SAVE_IDLE_S * 3, charging=True)  # unchanged
    await _written(persistence)
    assert store.writes == [("meter", 1, 100.0), ("meter", 1, 102.0)]


async def test_two_charging_connectors_share_one_meter_commit_a_second() -> None:
    """Polls of two charging connectors 0.3 s apart: one commit a second carries both
    connectors' newest readings; none is ever more than one poll behind its newest."""
    store = _Store()
    persistence = Persistence(store)  # type: ignore[arg-type]
    newest: dict[int, float] = {}
    behind: list[int] = []  # polls a connector's stored reading lags its newest, per poll
    stored: dict[int, float] = {}
    for second in range(10):
        for connector, phase in ((1, 0.0), (2, 0.3)):
            wh = 1000.0 * connector + second
            newest[connector] = wh
            persistence.meter_reading(connector, wh, at=second + phase, charging=True)
            await _written(persistence)
            for commit in store.commits:
                stored.update(commit)
            behind += [int(newest[c] - stored.get(c, newest[c] - 1)) for c in (1, 2)
                       if c in newest]
    assert len(store.commits) <= 11  # 20 polls, about one commit a second (was 20)
    assert all(len(commit) == 2 for commit in store.commits[1:])
    assert max(behind) <= 1


async def test_a_reading_the_store_would_refuse_is_not_handed_over() -> None:
    store = _Store()
    persistence = Persistence(store)  # type: ignore[arg-type]
    persistence.meter_reading(1, float("nan"), at=0.0, charging=True)
    persistence.meter_reading(2, 5.0, at=0.0, charging=True)
    await _written(persistence)
    assert store.commits == [[(2, 5.0)]]
