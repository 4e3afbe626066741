"""The interlock truth table: closed only when every condition holds."""

from __future__ import annotations

import itertools

import pytest

from chargepoint.core.interlock import InterlockInputs, Reason, may_close
from chargepoint.core.types import PilotState

GOOD = InterlockInputs(
    pilot=PilotState.C, pwm_amps=16.0, authorized=True, has_lock=True, locked=True,
    blocking_fault=False, operative=True,
)


def _inputs(pilot: PilotState, pwm: float | None, auth: bool, locked: bool, fault: bool,
            op: bool, wind: bool, abort: bool) -> InterlockInputs:
    return InterlockInputs(pilot=pilot, pwm_amps=pwm, authorized=auth, has_lock=True,
                           locked=locked, blocking_fault=fault, operative=op,
                           winding_down=wind, abort=abort)


@pytest.mark.parametrize(
    ("pilot", "pwm", "auth", "locked", "fault", "op", "wind", "abort"),
    list(itertools.product(list(PilotState), [None, 5.9, 6.0, 32.0], [False, True],
                           [False, True], [False, True], [False, True], [False, True],
                           [False, True])),
)
def test_truth_table(pilot: PilotState, pwm: float | None, auth: bool, locked: bool,
                     fault: bool, op: bool, wind: bool, abort: bool) -> None:
    v = may_close(_inputs(pilot, pwm, auth, locked, fault, op, wind, abort))
    hard_ok = pilot in (PilotState.C, PilotState.D) and locked and not fault and not abort
    soft_ok = pwm is not None and pwm >= 6.0 and auth and op
    assert v.ok is (hard_ok and (soft_ok or wind))
    assert v.ok is (not v.reasons)


def test_each_reason_is_named() -> None:
    assert may_close(GOOD).ok
    cases = {
        Reason.PILOT_NOT_C_OR_D: {"pilot": PilotState.B},
        Reason.PWM_OFF: {"pwm_amps": 5.0},
        Reason.NOT_AUTHORIZED: {"authorized": False},
        Reason.NOT_LOCKED: {"locked": False},
        Reason.FAULT: {"blocking_fault": True},
        Reason.INOPERATIVE: {"operative": False},
        Reason.ABORT: {"abort": True},
    }
    from dataclasses import replace

    for reason, change in cases.items():
        v = may_close(replace(GOOD, **change))  # type: ignore[arg-type]
        assert v.reasons == {reason}, reason
        assert v.hard is (not reason.soft)


def test_lock_ignored_without_a_lock() -> None:
    from dataclasses import replace

    assert may_close(replace(GOOD, has_lock=False, locked=False)).ok
    assert may_close(replace(GOOD, pilot=PilotState.D)).ok
