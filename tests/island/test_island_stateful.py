"""Property: whatever the main process commands and whatever the EV and the pins do, after
every tick of the island a closed contactor has a lease that has not run out, no hard fault,
and a pilot that allows it (C/D for a charge lease; A, no PWM, no cable for a relay test).

Hypothesis drives the island (``chargepoint.island.loop``) with random commands, EV states,
faults and clock jumps on small in-memory pins. CHARGEPOINT_HYPOTHESIS_EXAMPLES sets the count.
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from chargepoint.island import wire
from chargepoint.island.loop import Island
from chargepoint.island.rules import LeaseKind
from hardware.interfaces import (
    ConnectorHardware,
    MismatchKind,
    PilotReading,
    PilotState,
    RelayKind,
    RelayMismatch,
)

EXAMPLES = int(os.environ.get("CHARGEPOINT_HYPOTHESIS_EXAMPLES", "60"))


class Pilot:
    def __init__(self) -> None:
        self.ev = PilotState.A
        self.duty: float | None = None
        self.f = False
        self.diode_ok = True

    def set_duty(self, duty: float) -> None:
        self.duty, self.f = duty, False

    def set_off(self) -> None:
        self.duty, self.f = None, False

    def set_state_f(self) -> None:
        self.duty, self.f = None, True

    @property
    def duty_percent(self) -> float | None:
        return self.duty

    def read(self) -> PilotReading:
        state = PilotState.F if self.f else self.ev
        return PilotReading(state, 0.0, None, self.diode_ok or self.duty is None)


class Contactor:
    def __init__(self) -> None:
        self.closed = False
        self.fault = False

    def close(self, now: float) -> None:
        self.closed = True

    def open(self, now: float) -> None:
        self.closed = False

    @property
    def commanded_closed(self) -> bool:
        return self.closed

    def mirror_closed(self) -> bool:
        return self.closed

    def check(self, now: float) -> RelayMismatch | None:
        return RelayMismatch(RelayKind.CONTACTOR, MismatchKind.WELDED, now) if self.fault else None


class Rcd:
    def __init__(self) -> None:
        self.trip = False

    def tripped(self) -> bool:
        return self.trip


class Proximity:
    def __init__(self) -> None:
        self.rating: int | None = None

    def cable_rating_a(self) -> int | None:
        return self.rating


class IslandMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.pilot, self.contactor, self.rcd, self.pp = Pilot(), Contactor(), Rcd(), Proximity()
        hw = ConnectorHardware(connector=1, pilot=self.pilot, contactor=self.contactor,
                               proximity=self.pp, rcd=self.rcd)
        self.main, theirs = wire.pair()
        self.main.setblocking(False)
        self.theirs = theirs
        self.now = 0.0
        self.island = Island([hw], None, theirs, clock=lambda: self.now)
        self.island.step(self.now)

    def teardown(self) -> None:
        self.main.close()
        self.theirs.close()

    def _drain(self) -> None:
        try:
            while self.main.recv(wire.MAX_DATAGRAM):
                pass
        except BlockingIOError:
            pass

    def _command(self, **message: Any) -> None:
        self.island.handle(message, self.now)
        self._drain()

    def _tick(self, dt: float) -> None:
        self.now += dt
        self.island.step(self.now)
        self._drain()

    @rule(state=st.sampled_from([*PilotState, PilotState.C, PilotState.C]),
          dt=st.floats(0.0, 0.5))
    def ev_changes(self, state: PilotState, dt: float) -> None:
        self.pilot.ev = state
        self._tick(dt)

    @rule(which=st.sampled_from(["diode", "rcd", "mirror"]), on=st.booleans(),
          dt=st.floats(0.0, 0.5))
    def a_fault_comes_or_goes(self, which: str, on: bool, dt: float) -> None:
        if which == "diode":
            self.pilot.diode_ok = not on
        elif which == "rcd":
            self.rcd.trip = on
        else:
            self.contactor.fault = on
        self._tick(dt)

    @rule(cable=st.sampled_from([None, 13, 32]), dt=st.floats(0.0, 0.5))
    def cable_changes(self, cable: int | None, dt: float) -> None:
        self.pp.rating = cable
        self._tick(dt)

    @rule(dt=st.floats(0.0, 3.0))
    def tick(self, dt: float) -> None:
        self._tick(dt)

    @rule(duty=st.floats(8.0, 96.0))
    def pwm_on(self, duty: float) -> None:
        self._command(op="duty", c=1, duty=duty)

    @rule()
    def pwm_off(self) -> None:
        self._command(op="pwm_off", c=1)

    @rule()
    def state_f(self) -> None:
        self._command(op="state_f", c=1)

    @rule(lease_s=st.floats(-1.0, 100.0))
    def close(self, lease_s: float) -> None:
        self._command(op="close", c=1, lease_s=lease_s)

    @rule(lease_s=st.floats(-1.0, 100.0))
    def renew(self, lease_s: float) -> None:
        self._command(op="renew", c=[1], lease_s=lease_s)

    @rule()
    def open(self) -> None:
        self._command(op="open", c=1)

    @rule(state=st.sampled_from([PilotState.C, PilotState.D]), lease_s=st.floats(0.1, 5.0))
    def a_session_starts(self, state: PilotState, lease_s: float) -> None:
        """What the core does when a session starts (the usual way to a closed contactor)."""
        self.pilot.ev = state
        self._command(op="duty", c=1, duty=26.7)
        self._command(op="close", c=1, lease_s=lease_s)

    @rule()
    def test_close(self) -> None:
        self._command(op="test_close", c=1)

    @invariant()
    def closed_only_under_a_valid_lease(self) -> None:
        if not self.contactor.closed:
            return
        conn = self.island._connectors[1]
        lease = conn.lease
        assert lease is not None and self.now < lease.until
        assert lease.until - self.now <= 5.0 + 1e-9
        assert not self.rcd.trip and not self.contactor.fault
        seen = self.pilot.read().state
        if lease.kind is LeaseKind.CHARGE:
            assert seen in (PilotState.C, PilotState.D)
            assert self.pilot.read().diode_ok
        else:
            assert seen is PilotState.A and self.pilot.duty is None and self.pp.rating is None


TestIsland = IslandMachine.TestCase
TestIsland.settings = settings(max_examples=EXAMPLES, stateful_step_count=40, deadline=None)
