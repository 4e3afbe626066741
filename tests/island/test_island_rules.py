"""The island's own decisions, as tables: every reason to open, lease expiry, renewals, and
the grants it refuses (chargepoint.island.rules)."""

from __future__ import annotations

import pytest

from chargepoint.island.rules import (
    MAX_LEASE_S,
    TEST_LEASE_S,
    Lease,
    LeaseKind,
    OpenReason,
    Sample,
    grant,
    must_open,
    renew,
)
from hardware.interfaces import PilotState

A, B, C, D, E, F = (PilotState.A, PilotState.B, PilotState.C, PilotState.D, PilotState.E,
                    PilotState.F)
CHARGING = Sample(pilot=C, pwm_on=True, cable=True)
CHARGE_LEASE = Lease(LeaseKind.CHARGE, until=10.0)
TEST_LEASE = Lease(LeaseKind.TEST, until=10.0)
EMPTY = Sample(pilot=A)


@pytest.mark.parametrize(("sample", "reason"), [
    (CHARGING, None),
    (Sample(pilot=D, pwm_on=True), None),
    (Sample(pilot=C, pwm_on=False), None),  # wind-down: PWM off, waiting for B (core's call)
    (Sample(pilot=B, pwm_on=True), OpenReason.PILOT),
    (Sample(pilot=A, pwm_on=True), OpenReason.PILOT),
    (Sample(pilot=E, pwm_on=True), OpenReason.PILOT),
    (Sample(pilot=F), OpenReason.PILOT),
    (Sample(pilot=C, pwm_on=True, diode_ok=False), OpenReason.DIODE),
    (Sample(pilot=C, pwm_on=True, rcd_tripped=True), OpenReason.RCD),
    (Sample(pilot=C, pwm_on=True, mirror_fault=True), OpenReason.MIRROR),
    (Sample(pilot=B, rcd_tripped=True, mirror_fault=True), OpenReason.RCD),  # first reason
])
def test_charge_lease_opens_for_every_hard_reason(sample: Sample,
                                                  reason: OpenReason | None) -> None:
    assert must_open(CHARGE_LEASE, sample, now=1.0) is reason


@pytest.mark.parametrize(("now", "reason"), [
    (9.999, None), (10.0, OpenReason.LEASE), (60.0, OpenReason.LEASE)])
def test_lease_expiry_opens_exactly_at_the_deadline(now: float,
                                                    reason: OpenReason | None) -> None:
    assert must_open(CHARGE_LEASE, CHARGING, now) is reason


def test_a_closed_contactor_without_a_lease_opens() -> None:
    assert must_open(None, CHARGING, 0.0) is OpenReason.LEASE


@pytest.mark.parametrize(("sample", "granted"), [
    (CHARGING, True),
    (Sample(pilot=D, pwm_on=True), True),
    (Sample(pilot=C, pwm_on=False), False),  # PWM off: no charging offered
    (Sample(pilot=A, pwm_on=True), False),
    (Sample(pilot=B, pwm_on=True), False),
    (Sample(pilot=E, pwm_on=True), False),
    (Sample(pilot=F), False),
    (Sample(pilot=C, pwm_on=True, diode_ok=False), False),
    (Sample(pilot=C, pwm_on=True, rcd_tripped=True), False),
    (Sample(pilot=C, pwm_on=True, mirror_fault=True), False),
])
def test_a_charge_lease_needs_pilot_c_or_d_with_pwm_and_no_fault(sample: Sample,
                                                                 granted: bool) -> None:
    verdict = grant(LeaseKind.CHARGE, sample, now=5.0, lease_s=2.0)
    assert isinstance(verdict, Lease) is granted
    if isinstance(verdict, Lease):
        assert verdict == Lease(LeaseKind.CHARGE, 7.0)
    else:
        assert verdict  # a reason for the log and the refusal message


@pytest.mark.parametrize(("lease_s", "until"),
                         [(2.0, 2.0), (60.0, MAX_LEASE_S), (1e30, MAX_LEASE_S)])
def test_leases_are_clamped(lease_s: float, until: float) -> None:
    assert grant(LeaseKind.CHARGE, CHARGING, 0.0, lease_s) == Lease(LeaseKind.CHARGE, until)


@pytest.mark.parametrize("lease_s", [0.0, -1.0, float("nan")])
def test_an_empty_or_nonsense_lease_is_refused(lease_s: float) -> None:
    assert isinstance(grant(LeaseKind.CHARGE, CHARGING, 0.0, lease_s), str)


@pytest.mark.parametrize(("now", "lease_s", "until"), [
    (9.0, 2.0, 11.0),  # extended from now
    (5.0, 2.0, 10.0),  # never shortened
    (9.0, 1e9, 9.0 + MAX_LEASE_S),  # clamped
    (9.0, -5.0, 10.0),  # nonsense does not shorten either
])
def test_renewals(now: float, lease_s: float, until: float) -> None:
    assert renew(CHARGE_LEASE, now, lease_s) == Lease(LeaseKind.CHARGE, until)


def test_a_test_lease_is_shorter() -> None:
    assert renew(TEST_LEASE, 9.0, 60.0).until == 9.0 + TEST_LEASE_S
    assert grant(LeaseKind.TEST, EMPTY, 0.0, 60.0) == Lease(LeaseKind.TEST, TEST_LEASE_S)


@pytest.mark.parametrize(("sample", "granted"), [
    (EMPTY, True),
    (Sample(pilot=A, cable=True), False),  # a cable in the socket
    (Sample(pilot=A, pwm_on=True), False),
    (Sample(pilot=B), False),  # an EV
    (Sample(pilot=C), False),
    (Sample(pilot=F), False),  # state F hides the EV: the island lifts it first
    (Sample(pilot=A, rcd_tripped=True), False),
])
def test_a_relay_test_needs_no_ev_and_no_cable(sample: Sample, granted: bool) -> None:
    assert isinstance(grant(LeaseKind.TEST, sample, 0.0, 1.0), Lease) is granted


@pytest.mark.parametrize(("sample", "reason"), [
    (EMPTY, None),
    (Sample(pilot=B), OpenReason.EV_PRESENT),  # an EV plugged in during the test
    (Sample(pilot=A, cable=True), OpenReason.EV_PRESENT),
    (Sample(pilot=A, mirror_fault=True), OpenReason.MIRROR),
])
def test_a_relay_test_ends_as_soon_as_an_ev_appears(sample: Sample,
                                                    reason: OpenReason | None) -> None:
    assert must_open(TEST_LEASE, sample, 1.0) is reason
