"""Random event sequences against the station, checking the safety invariants after every
step from a model built from the *events* seen (and the hardware actions commanded), not from
the station's own state:

- a contactor commanded closed implies: pilot C or D; no blocking fault raised and not
  cleared (a weld only by a technician); lock feedback locked (with a lock); an open
  transaction (StartTransaction without StopTransaction); not inoperative by an Accepted
  ChangeAvailability; PWM on with >= 6 A, or switched off less than ev_stop_timeout_s ago;
- every PWM offer respects every cap the events set (wiring, smart charging, cable);
- with a lock, StartTransaction only while the lock feedback says locked (OCTT 024);
- a weld stays latched (Faulted, contactor open) until a technician clears it.

The I/O layer is played faithfully: time only moves forward, and every armed timer whose
deadline passes fires, in deadline order.

Examples: ``CHARGEPOINT_HYPOTHESIS_EXAMPLES`` (default 300) sequences of up to 50 steps.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from chargepoint.core.actions import (
    Action,
    CloseContactor,
    OpenContactor,
    PwmOff,
    Reply,
    RequestAuthorization,
    SetPwm,
    SetStateF,
    StartTransaction,
    StopTransaction,
)
from chargepoint.core.events import (
    AuthorizationResult,
    AvailabilityChanged,
    CableRating,
    CardPresented,
    ContactorFeedback,
    CurrentLimitChanged,
    Event,
    FaultCleared,
    FaultRaised,
    LockFeedback,
    MeterUpdated,
    PilotChanged,
    RemoteStartRequested,
    RemoteStopRequested,
    ReservationCancelled,
    ReservationMade,
    StopRequested,
    TimerExpired,
    TransactionConfirmed,
    UnlockRequested,
)
from chargepoint.core.types import (
    AuthStatus,
    ConnectorStatus,
    FaultKind,
    PilotState,
    Settings,
    StopReason,
)

from .support import Bench

N = 2
EXAMPLES = int(os.environ.get("CHARGEPOINT_HYPOTHESIS_EXAMPLES", "300"))
CONN = st.integers(1, N)
CONN0 = st.integers(0, N)
TAGS = st.sampled_from(["T1", "T2", "T3"])
PARENTS = st.sampled_from([None, "P1", "P2"])

RUNS = {"sequences": 0, "steps": 0, "closed_checks": 0, "wind_downs": 0}


class StationMachine(RuleBasedStateMachine):
    bench: Bench

    @initialize(
        has_lock=st.booleans(), stop_on_disconnect=st.booleans(),
        unlock_on_disconnect=st.booleans(), stop_on_invalid=st.booleans(),
        max_energy=st.sampled_from([None, 0.0, 300.0]),
        max_current=st.sampled_from([16.0, 32.0, 63.0]),
    )
    def start(self, has_lock: bool, stop_on_disconnect: bool, unlock_on_disconnect: bool,
              stop_on_invalid: bool, max_energy: float | None, max_current: float) -> None:
        RUNS["sequences"] += 1
        self.settings = Settings(
            connection_timeout_s=20.0, has_lock=has_lock,
            stop_transaction_on_ev_side_disconnect=stop_on_disconnect,
            unlock_connector_on_ev_side_disconnect=unlock_on_disconnect,
            stop_transaction_on_invalid_id=stop_on_invalid,
            max_energy_on_invalid_id_wh=max_energy, max_current_a=max_current,
        )
        self.bench = Bench(settings=self.settings, connectors=N, now=0.0)
        # the model, from events and commanded hardware actions only
        self.pilot = dict.fromkeys(range(1, N + 1), PilotState.A)
        self.faults: dict[int, set[FaultKind]] = {c: set() for c in range(N + 1)}
        self.locked = dict.fromkeys(range(1, N + 1), False)
        self.closed = dict.fromkeys(range(1, N + 1), False)
        self.tx_open = dict.fromkeys(range(1, N + 1), False)
        self.pwm: dict[int, float | None] = dict.fromkeys(range(1, N + 1), None)
        self.pwm_off_at: dict[int, float] = dict.fromkeys(range(1, N + 1), 0.0)
        self.state_f = dict.fromkeys(range(1, N + 1), False)
        self.inoperative = dict.fromkeys(range(N + 1), False)  # Accepted Inoperative
        self.limit: dict[int, float | None] = dict.fromkeys(range(N + 1), None)
        self.cable: dict[int, int | None] = dict.fromkeys(range(1, N + 1), None)
        self.pending: dict[int, str] = {}
        self.energy = dict.fromkeys(range(1, N + 1), 0.0)
        self._observe(self.bench.startup_actions)

    # -- feeding -------------------------------------------------------------------------

    def _feed(self, event: Event, after: float = 0.0) -> list[Action]:
        RUNS["steps"] += 1
        self._fire_due(self.bench.now + after)
        actions = self.bench.feed(event)
        self._observe(actions, event)
        return actions

    def _fire_due(self, until: float) -> None:
        """Like the I/O layer: every armed timer due by ``until`` fires, in order."""
        while True:
            due = [(d, t) for t, d in self.bench.timers.items() if d <= until]
            if not due:
                break
            _, timer_id = min(due)
            self._observe(self.bench.feed(TimerExpired(timer_id)))
        self.bench.now = max(self.bench.now, until)

    def _observe(self, actions: list[Action], event: Event | None = None) -> None:
        now = self.bench.now
        for a in actions:
            match a:
                case CloseContactor():
                    assert not self.inoperative[a.connector], a
                    assert not self.inoperative[0], a
                    self.closed[a.connector] = True
                case OpenContactor():
                    self.closed[a.connector] = False
                case SetPwm():
                    caps = [self.settings.max_current_a, self.limit[0], self.limit[a.connector],
                            self.cable[a.connector]]
                    assert all(a.amps <= cap for cap in caps if cap is not None), (a, caps)
                    assert a.amps >= 6.0
                    self.pwm[a.connector] = a.amps
                    self.state_f[a.connector] = False
                case PwmOff() | SetStateF():
                    if self.pwm[a.connector] is not None:
                        self.pwm_off_at[a.connector] = now
                    self.pwm[a.connector] = None
                    self.state_f[a.connector] = isinstance(a, SetStateF)
                case StartTransaction():
                    assert not self.tx_open[a.connector], a
                    # OCTT 024: on a socket the transaction starts only once locked
                    assert not self.settings.has_lock or self.locked[a.connector], a
                    self.tx_open[a.connector] = True
                case StopTransaction():
                    assert self.tx_open[a.connector], a
                    self.tx_open[a.connector] = False
                case RequestAuthorization():
                    self.pending[a.request_id] = a.id_tag
                case Reply() if isinstance(event, AvailabilityChanged):
                    if a.status == "Accepted":
                        self.inoperative[event.connector] = not event.operative
                case _:
                    pass

    # -- rules ---------------------------------------------------------------------------

    @rule(c=CONN, state=st.sampled_from(list(PilotState)))
    def pilot_changes(self, c: int, state: PilotState) -> None:
        self.pilot[c] = state
        self._feed(PilotChanged(c, state))

    @rule(c=CONN, dt=st.sampled_from([0.0, 0.5, 2.0, 5.0]))
    def ev_goes_to_c(self, c: int, dt: float) -> None:
        """Bias: a plugged EV asks for energy (makes closed contactors common)."""
        for state in (PilotState.B, PilotState.C):
            self.pilot[c] = state
            self._feed(PilotChanged(c, state), after=dt)

    @rule(c=CONN, tag=TAGS)
    def session_starts(self, c: int, tag: str) -> None:
        """Bias: plug, remote start, lock, EV to C (makes charging common)."""
        self.pilot[c] = PilotState.B
        self._feed(PilotChanged(c, PilotState.B))
        self._feed(RemoteStartRequested(c, tag))
        self.locked[c] = True
        self._feed(LockFeedback(c, True))
        self.pilot[c] = PilotState.C
        self._feed(PilotChanged(c, PilotState.C))

    @rule()
    def technician_clears_everything(self) -> None:
        for c in range(N + 1):
            for kind in list(self.faults[c]):
                self.faults[c].discard(kind)
                self._feed(FaultCleared(c, kind, technician=True))

    @rule(c=CONN, amps=st.sampled_from([None, 13, 20, 32, 63]))
    def cable_rating(self, c: int, amps: int | None) -> None:
        self.cable[c] = amps
        self._feed(CableRating(c, amps))

    @rule(c=CONN, locked=st.booleans())
    def lock_feedback(self, c: int, locked: bool) -> None:
        self.locked[c] = locked
        self._feed(LockFeedback(c, locked))

    @rule(c=CONN, closed=st.booleans())
    def contactor_feedback(self, c: int, closed: bool) -> None:
        self._feed(ContactorFeedback(c, closed))

    @rule(tag=TAGS)
    def card(self, tag: str) -> None:
        self._feed(CardPresented(tag))

    @precondition(lambda self: bool(self.pending))
    @rule(data=st.data(), status=st.sampled_from(list(AuthStatus)), parent=PARENTS)
    def authorization_answer(self, data: st.DataObject, status: AuthStatus,
                             parent: str | None) -> None:
        rid = data.draw(st.sampled_from(sorted(self.pending)))
        tag = self.pending.pop(rid)
        self._feed(AuthorizationResult(rid, tag, status, parent))

    @rule(c=CONN, status=st.sampled_from(list(AuthStatus)))
    def transaction_confirmed(self, c: int, status: AuthStatus) -> None:
        self._feed(TransactionConfirmed(c, status))

    @rule(c=st.sampled_from([None, 0, 1, 2, 3]), tag=TAGS, authorized=st.booleans(),
          limit=st.sampled_from([None, 0.0, 10.0, 40.0]))
    def remote_start(self, c: int | None, tag: str, authorized: bool,
                     limit: float | None) -> None:
        self._feed(RemoteStartRequested(c, tag, authorized, limit))

    @rule(c=st.integers(0, N + 1))
    def remote_stop(self, c: int) -> None:
        self._feed(RemoteStopRequested(c))

    @rule(c=CONN0, reason=st.sampled_from(list(StopReason)))
    def local_stop(self, c: int, reason: StopReason) -> None:
        self._feed(StopRequested(c, reason))

    @rule(c=st.integers(0, N + 1))
    def unlock(self, c: int) -> None:
        self._feed(UnlockRequested(c))

    @rule(rid=st.integers(1, 3), c=CONN0, tag=TAGS, parent=PARENTS,
          ttl=st.sampled_from([-1.0, 5.0, 60.0]))
    def reserve(self, rid: int, c: int, tag: str, parent: str | None, ttl: float) -> None:
        self._feed(ReservationMade(rid, c, tag, parent, self.bench.now + ttl))

    @rule(rid=st.integers(1, 3))
    def cancel_reservation(self, rid: int) -> None:
        self._feed(ReservationCancelled(rid))

    @rule(c=CONN0, operative=st.booleans())
    def availability(self, c: int, operative: bool) -> None:
        self._feed(AvailabilityChanged(c, operative))

    @rule(c=CONN0, kind=st.sampled_from(list(FaultKind)))
    def fault(self, c: int, kind: FaultKind) -> None:
        self.faults[c].add(kind)
        self._feed(FaultRaised(c, kind, "injected"))

    @rule(c=CONN0, kind=st.sampled_from(list(FaultKind)), technician=st.booleans())
    def fault_cleared(self, c: int, kind: FaultKind, technician: bool) -> None:
        if kind is not FaultKind.WELDED or technician:
            self.faults[c].discard(kind)
        self._feed(FaultCleared(c, kind, technician))

    @rule(c=CONN0, amps=st.sampled_from([0.0, 4.0, 6.0, 10.0, 16.0, 32.0, 63.0]))
    def limit_changes(self, c: int, amps: float) -> None:
        self.limit[c] = amps
        self._feed(CurrentLimitChanged(c, amps))

    @rule(c=CONN, wh=st.sampled_from([0.0, 100.0, 400.0]))
    def meter(self, c: int, wh: float) -> None:
        self.energy[c] += wh
        self._feed(MeterUpdated(c, self.energy[c], 7000.0))

    @rule(dt=st.sampled_from([0.1, 1.0, 2.9, 3.0, 10.0, 30.0, 120.0]))
    def time_passes(self, dt: float) -> None:
        RUNS["steps"] += 1
        self._fire_due(self.bench.now + dt)

    # -- invariants ----------------------------------------------------------------------

    def _blocking(self, c: int) -> bool:
        return any(k.blocks_charging for k in self.faults[c] | self.faults[0])

    @invariant()
    def interlock_holds(self) -> None:
        if not hasattr(self, "bench"):
            return
        now = self.bench.now
        for c in range(1, N + 1):
            if not self.closed[c]:
                continue
            RUNS["closed_checks"] += 1
            assert self.pilot[c] in (PilotState.C, PilotState.D), c
            assert not self._blocking(c), (c, self.faults)
            assert not self.settings.has_lock or self.locked[c], c
            assert self.tx_open[c], c
            assert not self.state_f[c], c
            amps = self.pwm[c]
            wind_down = now - self.pwm_off_at[c] < self.settings.ev_stop_timeout_s
            RUNS["wind_downs"] += amps is None
            assert (amps is not None and amps >= 6.0) or wind_down, (c, amps, now)

    @invariant()
    def weld_stays_latched(self) -> None:
        if not hasattr(self, "bench"):
            return
        view = self.bench.station.snapshot()
        for c in range(1, N + 1):
            if FaultKind.WELDED in self.faults[c] | self.faults[0]:
                assert view.connectors[c - 1].status is ConnectorStatus.FAULTED
                assert not self.closed[c]

    @invariant()
    def view_agrees_with_commands_and_reports(self) -> None:
        if not hasattr(self, "bench"):
            return
        view = self.bench.station.snapshot()
        reported = self.bench.reported
        assert reported[0][0] is view.status
        for c in range(1, N + 1):
            cv = view.connectors[c - 1]
            assert cv.contactor_closed is self.closed[c]
            assert (cv.session is not None) is self.tx_open[c]
            assert reported[c][0] is cv.status, (c, reported[c], cv.status)
            if self._blocking(c):
                assert cv.status is ConnectorStatus.FAULTED
            if cv.status is ConnectorStatus.CHARGING:
                assert self.closed[c]
            if self.tx_open[c]:
                assert cv.status not in (ConnectorStatus.AVAILABLE, ConnectorStatus.RESERVED,
                                         ConnectorStatus.UNAVAILABLE)


settings.register_profile(
    "chargepoint-core",
    max_examples=EXAMPLES,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
# Applied to this machine only (loading it globally would change other packages' tests).
StationMachine.TestCase.settings = settings.get_profile("chargepoint-core")
TestStationMachine = StationMachine.TestCase


def test_sequences_ran() -> None:
    """Runs after the machine in this module (file order): reports how much was explored."""
    print(f"\nstateful: {RUNS['sequences']} sequences, {RUNS['steps']} events, "
          f"{RUNS['closed_checks']} checks with a closed contactor, "
          f"{RUNS['wind_downs']} of them winding down")
