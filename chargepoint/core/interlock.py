"""THE safety interlock: the one place that decides whether a contactor may be closed.

Every contactor decision of the core goes through :func:`may_close`; the station re-evaluates
it after every event and opens the contactor as soon as the verdict is no longer ``ok``.

Conditions (ARCHITECTURE.md, IEC 61851-1 clause 5.2 / Annex A sequences):

1. pilot in C or D (the EV asks for energy; IEC 61851-1 table A.3);
2. PWM on with a limit of at least 6 A (below 6 A the EVSE must not offer charging);
3. the session is authorized (a transaction runs and was not suspended/deauthorized);
4. with a connector lock (socket outlet), the lock feedback says locked;
5. no fault that blocks charging is active on the connector or the station;
6. the connector is operative (ChangeAvailability applied);
7. no abort request (emergency stop, or the EV ignored PWM off for too long).

Conditions 2, 3 and 6 are *soft*: when the station itself ends or pauses energy delivery under
load it switches PWM off first and lets the EV open S2 (go to B) before the contactor opens
(IEC 61851-1 A.4.10: the EV reduces current on PWM change; the EVSE opens after at most
``Settings.ev_stop_timeout_s``, 3 s). During that *wind-down* the soft conditions are waived.
The others are *hard*: they open the contactor at once, wind-down or not.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from chargepoint.core.duty import MIN_CURRENT_A
from chargepoint.core.types import PilotState


class Reason(enum.Enum):
    """Why the contactor may not be closed."""

    PILOT_NOT_C_OR_D = "pilot not in C or D"
    PWM_OFF = "PWM off or below 6 A"
    NOT_AUTHORIZED = "no authorized session"
    NOT_LOCKED = "connector not locked"
    FAULT = "blocking fault active"
    INOPERATIVE = "connector inoperative"
    ABORT = "abort requested"

    @property
    def soft(self) -> bool:
        """Soft reasons may be waived during a wind-down (PWM off, waiting for B)."""
        return self in _SOFT


_SOFT = frozenset({Reason.PWM_OFF, Reason.NOT_AUTHORIZED, Reason.INOPERATIVE})


@dataclass(frozen=True, slots=True)
class InterlockInputs:
    """Everything the interlock looks at, for one connector."""

    pilot: PilotState
    pwm_amps: float | None  # None: PWM off / state F
    authorized: bool
    has_lock: bool
    locked: bool  # lock feedback (ignored when has_lock is False)
    blocking_fault: bool
    operative: bool
    winding_down: bool = False  # PWM just went off under load; waiting for the EV to go to B
    abort: bool = False


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    reasons: frozenset[Reason]

    @property
    def hard(self) -> bool:
        """True when some reason cannot be waived by a wind-down."""
        return any(not r.soft for r in self.reasons)


def may_close(inputs: InterlockInputs) -> Verdict:
    """May the contactor be (or stay) closed? ``ok`` iff no reason remains.

    Pure and total: never raises. With ``winding_down`` the soft reasons are waived.
    """
    reasons: set[Reason] = set()
    if inputs.pilot not in (PilotState.C, PilotState.D):
        reasons.add(Reason.PILOT_NOT_C_OR_D)
    if inputs.pwm_amps is None or not inputs.pwm_amps >= MIN_CURRENT_A:
        reasons.add(Reason.PWM_OFF)
    if not inputs.authorized:
        reasons.add(Reason.NOT_AUTHORIZED)
    if inputs.has_lock and not inputs.locked:
        reasons.add(Reason.NOT_LOCKED)
    if inputs.blocking_fault:
        reasons.add(Reason.FAULT)
    if not inputs.operative:
        reasons.add(Reason.INOPERATIVE)
    if inputs.abort:
        reasons.add(Reason.ABORT)
    if inputs.winding_down:
        reasons -= _SOFT
    return Verdict(ok=not reasons, reasons=frozenset(reasons))
