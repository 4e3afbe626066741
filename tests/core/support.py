"""Domain-level helpers for driving the pure core in tests.

``Bench`` owns a ``Station`` and a fake monotonic clock. Feeding ``TimerExpired`` advances the
clock to that timer's deadline (and refuses timers that were never armed or were cancelled),
so tests cannot fire a timer the core did not ask for. After every step the bench checks the
rules every test relies on: ReportStatus only on change, and a closed contactor only with
the pilot in C/D.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from chargepoint.core.actions import (
    Action,
    CancelTimer,
    CloseContactor,
    OpenContactor,
    ReportStatus,
    StartTimer,
)
from chargepoint.core.events import Event, PilotChanged, TimerExpired
from chargepoint.core.station import Station
from chargepoint.core.types import ConnectorStatus, FaultKind, PilotState, Settings

Expected = Action | type


def _matches(actual: Action, expected: Expected) -> bool:
    if isinstance(expected, type):
        return isinstance(actual, expected)
    return actual == expected


def assert_actions(
    actual: Sequence[Action],
    *expected: Expected,
    exact: bool = False,
    absent: Iterable[type] = (),
) -> None:
    """``expected`` appear in ``actual`` in this order (an action instance must be equal, a
    class matches any instance). ``exact``: nothing else (timers and statuses included).
    ``absent``: no action of these classes appears."""
    i = 0
    for exp in expected:
        while i < len(actual) and not _matches(actual[i], exp):
            i += 1
        assert i < len(actual), f"{exp!r} missing (in order) from {list(actual)!r}"
        i += 1
    if exact:
        assert len(actual) == len(expected), f"expected exactly {expected!r}, got {actual!r}"
    for kind in absent:
        bad = [a for a in actual if isinstance(a, kind)]
        assert not bad, f"unexpected {bad!r} in {list(actual)!r}"


@dataclass
class Bench:
    settings: Settings = field(default_factory=Settings)
    connectors: int = 1
    now: float = 100.0
    operative: dict[int, bool] | None = None
    latched: list[tuple[int, FaultKind]] | None = None

    def __post_init__(self) -> None:
        self.station = Station(
            self.connectors, self.settings, now=self.now,
            operative=self.operative, latched_faults=self.latched,
        )
        self.timers: dict[str, float] = {}
        self.reported: dict[int, tuple[ConnectorStatus, str, str | None]] = {}
        self.pilot: dict[int, PilotState] = dict.fromkeys(range(1, self.connectors + 1),
                                                          PilotState.A)
        self.closed: dict[int, bool] = dict.fromkeys(range(1, self.connectors + 1), False)
        self.log: list[Action] = []
        self.startup_actions = self._observe(self.station.startup(self.now))

    def feed(self, event: Event, *, after: float = 0.0) -> list[Action]:
        """Advance the clock by ``after`` seconds, then handle ``event``."""
        if isinstance(event, TimerExpired):
            assert event.timer_id in self.timers, f"timer {event.timer_id} not armed"
            self.now = max(self.now, self.timers.pop(event.timer_id))
        self.now += after
        if isinstance(event, PilotChanged) and event.connector in self.pilot:
            self.pilot[event.connector] = event.state
        return self._observe(self.station.handle(event, self.now))

    def armed(self, prefix: str) -> list[str]:
        return [t for t in self.timers if t.startswith(prefix)]

    def status(self, connector: int) -> ConnectorStatus:
        return self.station.snapshot().connectors[connector - 1].status

    def _observe(self, actions: list[Action]) -> list[Action]:
        for a in actions:
            if isinstance(a, StartTimer):
                self.timers[a.timer_id] = a.deadline
            elif isinstance(a, CancelTimer):
                self.timers.pop(a.timer_id, None)
            elif isinstance(a, ReportStatus):
                key = (a.status, a.error_code, a.info)
                assert self.reported.get(a.connector) != key, f"repeated status {a!r}"
                self.reported[a.connector] = key
            elif isinstance(a, CloseContactor):
                assert not self.closed[a.connector], f"closed twice: {actions!r}"
                self.closed[a.connector] = True
            elif isinstance(a, OpenContactor):
                self.closed[a.connector] = False
        for cid, closed in self.closed.items():
            if closed:
                assert self.pilot[cid] in (PilotState.C, PilotState.D), (cid, actions)
        self.log.extend(actions)
        return actions


@dataclass(frozen=True)
class Row:
    """One step of a table-driven scenario: feed ``event`` (``after`` seconds later), expect
    ``expect`` (in order; see ``assert_actions``), none of ``absent``, and then ``status`` on
    ``connector``."""

    event: Event
    expect: tuple[Expected, ...] = ()
    status: ConnectorStatus | None = None
    absent: tuple[type, ...] = ()
    connector: int = 1
    after: float = 0.0


def run_rows(bench: Bench, rows: Sequence[Row]) -> None:
    for n, row in enumerate(rows, 1):
        actions = bench.feed(row.event, after=row.after)
        try:
            assert_actions(actions, *row.expect, absent=row.absent)
            if row.status is not None:
                assert bench.status(row.connector) is row.status
        except AssertionError as exc:
            raise AssertionError(f"row {n} ({row.event!r}): {exc}") from exc
