"""The session machine of one connector, as a table (h11 style).

Rules of this module:

- A connector is always in exactly one :class:`Phase`. The phase says where the *session* is
  (authorization, transaction, stop); what the user sees (the OCPP status) is derived from the
  phase plus availability, faults and the outputs (see ``chargepoint.core.status``).
- Phases change only through :func:`next_phase` with a :class:`Step`; a pair missing from
  :data:`TRANSITIONS` raises :class:`TransitionError` naming both (a bug in the core, never a
  reaction to the outside world: outside events that make no sense in a phase are ignored
  before a step is taken).

Clauses followed:

- OCPP 1.6 section 3.6 / 4.8 "Start Transaction": a transaction starts when the EV is
  connected (pilot B/C/D, IEC 61851-1 state B) *and* the user is authorized, in either order
  (OCTT 003 plug first, 004_1 identification first; 010/011_1 remote start).
- On a socket outlet (``Settings.has_lock``) the cable is locked *before* the transaction
  starts (phase ``LOCKING``): StartTransaction only once the lock feedback confirms. A lock
  that fails (FaultRaised LOCK), a stop, an unplug or ConnectionTimeOut before that ends the
  attempt with no transaction at all (OCTT 024 "lock failure": Faulted /
  ConnectorLockFailure, no StartTransaction / StopTransaction). Fixed cables skip ``LOCKING``.
- OCPP 1.6 configuration key ConnectionTimeOut: authorized but not plugged in time -> back to
  idle, no transaction (OCTT 004_2, 011_2). It also bounds ``LOCKING`` (a lock that never
  answers and never faults).
- Stopping under load follows IEC 61851-1 Annex A: PWM off, wait for B, open (phase
  ``STOPPING``); the StopTransaction is issued once the contactor is open.
- OCPP 1.6 section 4.9 StatusNotification: Finishing = transaction stopped, EV still plugged.
"""

from __future__ import annotations

import enum


class Phase(enum.Enum):
    IDLE = "idle"  # no EV, no authorization
    AUTHORIZED = "authorized"  # authorized (card / remote), waiting for the EV
    PLUGGED = "plugged"  # EV connected, waiting for an authorization
    LOCKING = "locking"  # authorized and plugged (socket), waiting for the lock to confirm
    TRANSACTION = "transaction"  # transaction running (energy may or may not flow)
    STOPPING = "stopping"  # transaction ending; waiting for the contactor to open
    FINISHING = "finishing"  # transaction ended, EV (or locked cable) still there


class Step(enum.Enum):
    PLUG = "EV connected (pilot A -> B/C/D)"
    UNPLUG = "EV gone (pilot A; with a socket: cable unlocked and out)"
    AUTHORIZE = "authorization accepted"
    LOCK = "authorized and plugged, socket outlet: lock the cable first"
    LOCKED = "lock feedback confirms the cable is locked"
    TIMEOUT = "ConnectionTimeOut expired"
    ABORT = "authorization dropped (fault, unavailable, reset, stop, moved to another connector)"
    STOP = "transaction stops, contactor open"
    STOP_UNDER_LOAD = "transaction stops, contactor closed"
    OPENED = "contactor opened"


class TransitionError(RuntimeError):
    """A phase/step pair the table does not allow: a bug in the core."""


TRANSITIONS: dict[tuple[Phase, Step], Phase] = {
    (Phase.IDLE, Step.PLUG): Phase.PLUGGED,
    (Phase.IDLE, Step.AUTHORIZE): Phase.AUTHORIZED,
    (Phase.AUTHORIZED, Step.PLUG): Phase.TRANSACTION,
    (Phase.AUTHORIZED, Step.LOCK): Phase.LOCKING,
    (Phase.AUTHORIZED, Step.TIMEOUT): Phase.IDLE,
    (Phase.AUTHORIZED, Step.ABORT): Phase.IDLE,
    (Phase.PLUGGED, Step.AUTHORIZE): Phase.TRANSACTION,
    (Phase.PLUGGED, Step.LOCK): Phase.LOCKING,
    (Phase.PLUGGED, Step.UNPLUG): Phase.IDLE,
    # OCTT 024: the transaction starts only once the lock confirmed; any other way out of
    # LOCKING leaves no transaction behind (the EV is still there unless unplugged).
    (Phase.LOCKING, Step.LOCKED): Phase.TRANSACTION,
    (Phase.LOCKING, Step.ABORT): Phase.PLUGGED,
    (Phase.LOCKING, Step.TIMEOUT): Phase.PLUGGED,
    (Phase.LOCKING, Step.UNPLUG): Phase.IDLE,
    (Phase.TRANSACTION, Step.STOP): Phase.FINISHING,
    (Phase.TRANSACTION, Step.STOP_UNDER_LOAD): Phase.STOPPING,
    (Phase.STOPPING, Step.OPENED): Phase.FINISHING,
    (Phase.FINISHING, Step.AUTHORIZE): Phase.TRANSACTION,
    (Phase.FINISHING, Step.LOCK): Phase.LOCKING,
    (Phase.FINISHING, Step.UNPLUG): Phase.IDLE,
}
"""phase -> step -> next phase. ``docs/core.md`` draws its diagram from this table."""


def next_phase(phase: Phase, step: Step) -> Phase:
    """The phase after ``step``; raises ``TransitionError`` for a pair not in the table."""
    try:
        return TRANSITIONS[(phase, step)]
    except KeyError:
        raise TransitionError(f"no transition from {phase.name} on {step.name}") from None
