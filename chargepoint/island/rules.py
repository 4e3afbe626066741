"""When the island opens a contactor on its own, and when it grants a lease. Pure.

The core decides *whether* a connector may be energised (``chargepoint.core.interlock``). It
hands the island a **lease**: "connector N may stay closed until T". The island keeps only the
hard conditions of that decision, the ones it can see on its own pins, and acts on them without
asking anyone:

- the pilot leaves C/D (IEC 61851-1 A.4: open within 100 ms when the EV leaves C/D; E and F
  are not C/D either);
- the diode check fails (the negative PWM level is missing: IEC 61851-1 A.4.1);
- the RCD trips;
- the contactor's mirror contact disagrees with the command past its limit;
- the lease runs out (the main process hung, was stopped, or died).

Grants: a charge lease only for a pilot in C/D with PWM on and no hard fault; a *test* lease
(``chargepoint relay N contactor test``) only with no EV and no cable (pilot A with PWM off, no
PP rating), and it ends as soon as that stops being true. Leases are clamped to
``MAX_LEASE_S`` so that a confused main process cannot grant itself minutes of blindness.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from hardware.interfaces import PilotState

MAX_LEASE_S = 5.0  # the longest lease the island accepts (a longer one is clamped)
TEST_LEASE_S = 2.0  # a relay test holds the contactor closed at most this long


class OpenReason(enum.Enum):
    """Why the island opened a contactor (sent to the main process, logged)."""

    PILOT = "pilot left C/D"
    DIODE = "diode check failed"
    RCD = "residual current trip"
    MIRROR = "mirror contact disagrees with the coil"
    LEASE = "lease expired"
    EV_PRESENT = "EV or cable present during a relay test"
    COMMANDED = "opened on request"
    LINK_LOST = "main process lost"
    SHUTDOWN = "island stopping"


class LeaseKind(enum.Enum):
    CHARGE = "charge"  # granted by the core's interlock for a session
    TEST = "test"  # a technician's relay test on an empty connector


@dataclass(frozen=True, slots=True)
class Sample:
    """What the island read from one connector's pins in one tick."""

    pilot: PilotState
    diode_ok: bool = True
    rcd_tripped: bool = False
    mirror_fault: bool = False  # the contactor's RelayMismatch is due
    pwm_on: bool = False  # PWM is output (a duty is set)
    cable: bool = False  # PP reads a cable rating


@dataclass(frozen=True, slots=True)
class Lease:
    kind: LeaseKind
    until: float  # monotonic seconds


def hard_reason(sample: Sample) -> OpenReason | None:
    """The first hard reason in ``sample`` that forbids a closed contactor in any lease."""
    if sample.rcd_tripped:
        return OpenReason.RCD
    if sample.mirror_fault:
        return OpenReason.MIRROR
    if not sample.diode_ok:
        return OpenReason.DIODE
    return None


def _test_allowed(sample: Sample) -> bool:
    return sample.pilot is PilotState.A and not sample.pwm_on and not sample.cable


def grant(kind: LeaseKind, sample: Sample, now: float, lease_s: float) -> Lease | str:
    """A lease of ``kind`` for ``lease_s`` (clamped) from ``now``, or why it is refused."""
    if not lease_s > 0:
        return f"lease of {lease_s!r} s"
    reason = hard_reason(sample)
    if reason is not None:
        return reason.value
    if kind is LeaseKind.CHARGE:
        if sample.pilot not in (PilotState.C, PilotState.D):
            return f"pilot is {sample.pilot.value}, not C/D"
        if not sample.pwm_on:
            return "PWM is off"
        return Lease(kind, now + min(lease_s, MAX_LEASE_S))
    if not _test_allowed(sample):
        return (f"an EV or cable is present (pilot {sample.pilot.value}, "
                f"PWM {'on' if sample.pwm_on else 'off'}, cable {'yes' if sample.cable else 'no'})")
    return Lease(kind, now + min(lease_s, TEST_LEASE_S))


def renew(lease: Lease, now: float, lease_s: float) -> Lease:
    """The same lease, running ``lease_s`` (clamped) from ``now``; never shortened."""
    cap = MAX_LEASE_S if lease.kind is LeaseKind.CHARGE else TEST_LEASE_S
    return Lease(lease.kind, max(lease.until, now + min(max(lease_s, 0.0), cap)))


def must_open(lease: Lease | None, sample: Sample, now: float) -> OpenReason | None:
    """Why a closed contactor with ``lease`` must open now, or ``None`` to keep it closed.

    No lease at all is a reason too (``LEASE``): the island never holds a contactor closed that
    nobody granted."""
    reason = hard_reason(sample)
    if reason is not None:
        return reason
    if lease is None or now >= lease.until:
        return OpenReason.LEASE
    if lease.kind is LeaseKind.CHARGE:
        if sample.pilot not in (PilotState.C, PilotState.D):
            return OpenReason.PILOT
        return None
    if not _test_allowed(sample):
        return OpenReason.EV_PRESENT
    return None
