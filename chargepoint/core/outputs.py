"""From state to outputs: PWM / state F, contactor (through the interlock), lock, status.

The station calls :func:`drive` for every connector after every event. It compares what the
outputs *should* be with what was last commanded and emits only the differences, in a safe
order: an opening contactor first, then the pilot, then a closing contactor (IEC 61851-1
Annex A: PWM is offered before the EV goes to C, and the contactor closes only in C/D).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from chargepoint.core.actions import (
    Action,
    CloseContactor,
    LockConnector,
    OpenContactor,
    PwmOff,
    SetPwm,
    SetStateF,
    UnlockConnector,
)
from chargepoint.core.connector import Connector
from chargepoint.core.duty import MAX_CURRENT_A, MIN_CURRENT_A, duty_for_current
from chargepoint.core.interlock import InterlockInputs, may_close
from chargepoint.core.session import Phase
from chargepoint.core.timers import TimerBook
from chargepoint.core.types import ConnectorStatus, FaultKind, PilotState, Settings

_ERROR_PILOT = (PilotState.E, PilotState.F)


@dataclass(frozen=True, slots=True)
class StationFacts:
    """Station-wide facts the per-connector decisions depend on."""

    settings: Settings
    station_faults: frozenset[FaultKind]
    station_operative: bool
    station_limit_a: float | None


def blocking(c: Connector, facts: StationFacts) -> bool:
    """A fault that blocks charging is active on the connector or the station."""
    return any(k.blocks_charging for k in c.faults) or any(
        k.blocks_charging for k in facts.station_faults
    )


def operative(c: Connector, facts: StationFacts) -> bool:
    """ChangeAvailability as applied. A station-wide Inoperative applies at once to idle
    connectors and to a busy one when its transaction has ended ("Scheduled"); a
    connector's own Scheduled change is applied by the station when its transaction ends."""
    return c.operative and (facts.station_operative or c.session is not None)


def offered_a(c: Connector, facts: StationFacts) -> float:
    """The smallest of every cap: wiring, smart charging, cable (PP), remote-start profile."""
    caps = [facts.settings.max_current_a, MAX_CURRENT_A]
    for cap in (c.limit_a, facts.station_limit_a, c.cable_a):
        if cap is not None:
            caps.append(float(cap))
    if c.session is not None and c.session.limit_a is not None:
        caps.append(c.session.limit_a)
    return min(caps)


def _energy_wanted(c: Connector, facts: StationFacts) -> bool:
    s = c.session
    return (
        c.phase is Phase.TRANSACTION
        and s is not None
        and not s.suspended
        and s.stop_reason is None
        and c.ev_present
        and c.pilot not in _ERROR_PILOT
        and (not facts.settings.has_lock or c.lock_feedback is True)
    )


def desired_pilot(c: Connector, facts: StationFacts) -> tuple[bool, float | None]:
    """(state F, PWM amps or None)."""
    in_session = c.phase in (Phase.TRANSACTION, Phase.STOPPING)
    if blocking(c, facts) or (not operative(c, facts) and not in_session):
        return True, None
    if _energy_wanted(c, facts):
        amps = offered_a(c, facts)
        if amps >= MIN_CURRENT_A:
            return False, amps
    return False, None


def interlock_inputs(c: Connector, facts: StationFacts, pwm_amps: float | None) -> InterlockInputs:
    s = c.session
    return InterlockInputs(
        pilot=c.pilot,
        pwm_amps=pwm_amps,
        authorized=(
            c.phase is Phase.TRANSACTION
            and s is not None
            and not s.suspended
            and s.stop_reason is None
        ),
        has_lock=facts.settings.has_lock,
        locked=c.lock_feedback is True,
        blocking_fault=blocking(c, facts),
        operative=operative(c, facts),
        abort=c.abort or (s is not None and s.abort),
    )


def drive(c: Connector, facts: StationFacts, now: float, timers: TimerBook,
          out: list[Action]) -> None:
    """Bring pilot, contactor and lock of ``c`` in line with its state (see module doc)."""
    state_f, amps = desired_pilot(c, facts)
    inputs = interlock_inputs(c, facts, amps)
    strict = may_close(inputs)
    wind_id = f"evstop:{c.id}"
    later: list[Action] = []  # timer actions go after the hardware ones
    if c.contactor_closed and not strict.ok and not strict.hard and not c.winding_down:
        # We end or pause delivery under load: PWM off, give the EV time to go to B.
        c.winding_down = True
        timers.start(wind_id, now + facts.settings.ev_stop_timeout_s, later)
    if c.winding_down and (strict.ok or not c.contactor_closed):
        c.winding_down = False
        timers.cancel(wind_id, later)
    verdict = may_close(replace(inputs, winding_down=c.winding_down))
    if c.contactor_closed and not verdict.ok:
        c.contactor_closed = False
        c.winding_down = False
        c.abort = False
        out.append(OpenContactor(c.id))
        timers.cancel(wind_id, later)
    if state_f and not c.state_f:
        out.append(SetStateF(c.id))
    elif not state_f and amps is not None and (c.state_f or c.pwm_amps != amps):
        out.append(SetPwm(c.id, duty_for_current(amps), amps))
    elif not state_f and amps is None and (c.state_f or c.pwm_amps is not None):
        out.append(PwmOff(c.id))
    c.state_f, c.pwm_amps = state_f, amps
    if not c.contactor_closed and verdict.ok:
        c.contactor_closed = True
        if c.session is not None:
            c.session.ever_charged = True
        out.append(CloseContactor(c.id))
    if not c.contactor_closed:
        c.abort = False  # one-shot: consumed by the opening
    # A plug stays locked while its contacts may be live: a mirror still reporting closed
    # or a latched weld means the socket can carry mains voltage (IEC 61851-1 / 62196).
    live = c.contactor_feedback is True or FaultKind.WELDED in c.faults
    # LOCKING: the cable is locked before the transaction starts (OCTT 024).
    want_lock = facts.settings.has_lock and (
        c.phase in (Phase.LOCKING, Phase.TRANSACTION, Phase.STOPPING) or c.keep_locked
        or c.contactor_closed or live
    )
    if want_lock != c.lock_locked:
        c.lock_locked = want_lock
        out.append(LockConnector(c.id) if want_lock else UnlockConnector(c.id))
    out.extend(later)


def derive_status(
    c: Connector, facts: StationFacts, reserved: bool
) -> tuple[ConnectorStatus, str, str | None]:
    """(OCPP 1.6 status, error code, info) of connector ``c`` (OCPP 1.6 section 4.9)."""
    # Station-wide faults that block charging show on every connector; the others (reader)
    # only on connector 0.
    faults = {**{k: "" for k in facts.station_faults if k.blocks_charging}, **c.faults}
    code, info = "NoError", None
    blockers = [k for k in faults if k.blocks_charging]
    others = [k for k in faults if not k.blocks_charging]
    if blockers or others:
        kind = sorted(blockers or others, key=lambda k: k.value)[0]
        code, info = kind.error_code, (faults[kind] or None)
    if blockers:
        return ConnectorStatus.FAULTED, code, info
    s = c.session
    if not operative(c, facts) and s is None:
        return ConnectorStatus.UNAVAILABLE, code, info
    if c.phase is Phase.IDLE:
        status = ConnectorStatus.RESERVED if reserved else ConnectorStatus.AVAILABLE
    elif c.phase in (Phase.AUTHORIZED, Phase.PLUGGED, Phase.LOCKING):
        status = ConnectorStatus.PREPARING
    elif c.phase is Phase.FINISHING or s is None:
        status = ConnectorStatus.FINISHING
    elif c.contactor_closed:
        status = ConnectorStatus.CHARGING
    elif s.suspended or s.stop_reason is not None or (
        c.ev_present and offered_a(c, facts) < MIN_CURRENT_A
    ):
        status = ConnectorStatus.SUSPENDED_EVSE
    elif not (s.ever_charged or s.grace_over):
        status = ConnectorStatus.PREPARING  # the EV has not answered the first PWM offer yet
    elif not c.ev_present or c.pwm_amps is not None:
        status = ConnectorStatus.SUSPENDED_EV
    else:
        status = ConnectorStatus.SUSPENDED_EVSE
    return status, code, info
