"""PilotDecoder over the IEC 61851-1 Table A.4 voltage table, without any I/O."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardware.interfaces import PilotState
from hardware.pilot import STANDARD_BANDS, PilotDecoder, classify

S = PilotState
NOMINAL = {S.A: 12.0, S.B: 9.0, S.C: 6.0, S.D: 3.0, S.E: 0.0, S.F: -12.0}


def wave(high: float, low: float = -12.0, n: int = 20, duty: float = 0.5) -> list[float]:
    k = max(1, round(n * duty))
    return [high] * k + [low] * (n - k)


# --- classification: the standard bands -------------------------------------------------


@pytest.mark.parametrize("state", list(S))
def test_nominal_and_band_edges_decode_from_scratch(state: PilotState) -> None:
    lo, hi = STANDARD_BANDS[state]
    for v in (lo, NOMINAL[state], hi):
        assert classify(v) is state, v


@pytest.mark.parametrize("current", list(S))
@pytest.mark.parametrize("state", list(S))
def test_band_edges_decode_whatever_the_current_state(
    state: PilotState, current: PilotState
) -> None:
    lo, hi = STANDARD_BANDS[state]
    for v in (lo, NOMINAL[state], hi):
        assert classify(v, current, hysteresis_v=0.49) is state, (v, current)


@given(
    state=st.sampled_from(list(S)),
    frac=st.floats(0.0, 1.0),
    current=st.sampled_from([None, *S]),
    hyst=st.floats(0.0, 0.49),
)
def test_any_voltage_inside_a_band_decodes_to_it(
    state: PilotState, frac: float, current: PilotState | None, hyst: float
) -> None:
    lo, hi = STANDARD_BANDS[state]
    assert classify(lo + (hi - lo) * frac, current, hyst) is state


def test_gaps_use_mid_thresholds_and_hysteresis() -> None:
    assert classify(10.6) is S.A and classify(10.4) is S.B
    assert classify(10.4, S.A, 0.3) is S.A  # held: inside A's widened range
    assert classify(10.19, S.A, 0.3) is S.B
    assert classify(10.6, S.B, 0.3) is S.B
    assert classify(10.81, S.B, 0.3) is S.A
    assert classify(7.6, S.C, 0.3) is S.C and classify(7.4) is S.C
    assert classify(4.4, S.C, 0.3) is S.C and classify(4.4) is S.D
    assert classify(1.4, S.D, 0.3) is S.D and classify(1.4) is S.E
    assert classify(-5.0) is S.E and classify(-7.0) is S.F
    assert classify(14.5) is S.A


def test_hysteresis_must_leave_neighbour_bands_alone() -> None:
    with pytest.raises(ValueError):
        PilotDecoder(hysteresis_v=0.5)
    with pytest.raises(ValueError):
        PilotDecoder(debounce_count=0)


# --- debouncing -------------------------------------------------------------------------


def test_first_burst_is_adopted_then_changes_need_n_consecutive() -> None:
    d = PilotDecoder(debounce_count=3)
    assert d.state is None
    assert d.feed(wave(12.0), 0.0, pwm_on=True).state is S.A
    assert d.feed(wave(9.0), 0.1, pwm_on=True).state is S.A
    assert d.feed(wave(9.0), 0.2, pwm_on=True).state is S.A
    assert d.feed(wave(9.0), 0.3, pwm_on=True).state is S.B
    # an interrupted run starts again
    assert d.feed(wave(6.0), 0.4, pwm_on=True).state is S.B
    assert d.feed(wave(6.0), 0.5, pwm_on=True).state is S.B
    assert d.feed(wave(9.0), 0.6, pwm_on=True).state is S.B
    assert d.feed(wave(6.0), 0.7, pwm_on=True).state is S.B
    assert d.feed(wave(6.0), 0.8, pwm_on=True).state is S.B
    assert d.feed(wave(6.0), 0.9, pwm_on=True).state is S.C


def test_settling_while_a_change_awaits_confirmation() -> None:
    """``settling`` tells the island to sample again soon (a plug-in is then confirmed in
    tens of milliseconds, not three idle ticks)."""
    d = PilotDecoder(debounce_count=3)
    d.feed(wave(12.0), 0.0, pwm_on=False)
    assert not d.settling
    d.feed(wave(9.0), 0.1, pwm_on=False)
    assert d.settling and d.state is S.A
    d.feed(wave(12.0), 0.2, pwm_on=False)  # a bounce: dropped
    assert not d.settling and d.state is S.A
    for t in (0.3, 0.32, 0.34):
        d.feed(wave(9.0), t, pwm_on=False)
    assert not d.settling and d.state is S.B
    d.feed(wave(9.0, low=-9.0), 0.4, pwm_on=True)  # the diode verdict too
    assert d.settling


def test_time_window_debounce() -> None:
    d = PilotDecoder(debounce_count=2, debounce_s=0.05)
    d.feed(wave(9.0), 0.0, pwm_on=True)
    assert d.feed(wave(6.0), 1.00, pwm_on=True).state is S.B
    assert d.feed(wave(6.0), 1.01, pwm_on=True).state is S.B  # 2 bursts, only 10 ms
    assert d.feed(wave(6.0), 1.049, pwm_on=True).state is S.B
    assert d.feed(wave(6.0), 1.05, pwm_on=True).state is S.C


def test_noise_around_a_threshold_does_not_flap() -> None:
    d = PilotDecoder(debounce_count=1, hysteresis_v=0.3)
    d.feed(wave(12.0), 0.0, pwm_on=True)
    for i, v in enumerate([10.45, 10.55, 10.3, 10.6, 10.25]):
        assert d.feed(wave(v), 1.0 + i, pwm_on=True).state is S.A
    assert d.feed(wave(9.9), 10.0, pwm_on=True).state is S.B
    for i, v in enumerate([10.55, 10.7, 10.45]):
        assert d.feed(wave(v), 11.0 + i, pwm_on=True).state is S.B


# --- levels and diode check -------------------------------------------------------------


def test_levels_reported_per_burst() -> None:
    d = PilotDecoder()
    r = d.feed([6.02, 5.98, -11.9, -12.1, 6.0], 0.0, pwm_on=True)
    assert r.state is S.C and r.high_v == 6.02 and r.low_v == -12.1 and r.diode_ok
    r = d.feed([11.9, 12.0, 12.1], 1.0, pwm_on=False)
    assert r.low_v is None and r.high_v == 12.1


@pytest.mark.parametrize("state", [S.A, S.B, S.C, S.D])
def test_missing_negative_level_fails_diode_check(state: PilotState) -> None:
    d = PilotDecoder(debounce_count=2)
    high = NOMINAL[state]
    assert d.feed(wave(high), 0.0, pwm_on=True).diode_ok
    # shorted diode: the negative half sees the EV's load like the positive one (in A, with no
    # EV, a missing negative level means a broken -12 V rail or front end)
    bad_low = -high if state is not S.A else 0.0
    assert d.feed(wave(high, low=bad_low), 0.1, pwm_on=True).diode_ok
    r = d.feed(wave(high, low=bad_low), 0.2, pwm_on=True)
    assert not r.diode_ok and r.state is state
    assert d.feed(wave(high), 0.3, pwm_on=True).diode_ok is False
    assert d.feed(wave(high), 0.4, pwm_on=True).diode_ok


def test_diode_not_judged_without_pwm_or_in_e_and_f() -> None:
    d = PilotDecoder(debounce_count=1)
    assert d.feed([9.0] * 5, 0.0, pwm_on=False).diode_ok
    assert d.feed(wave(0.0, low=0.0), 1.0, pwm_on=True).diode_ok  # E: short to PE
    assert d.feed([-12.0] * 5, 2.0, pwm_on=False).state is S.F


def test_diode_threshold_configurable() -> None:
    d = PilotDecoder(debounce_count=1, diode_max_low_v=-11.0)
    assert not d.feed(wave(9.0, low=-10.5), 0.0, pwm_on=True).diode_ok
    assert d.feed(wave(9.0, low=-11.2), 1.0, pwm_on=True).diode_ok


def test_empty_burst_is_misuse() -> None:
    with pytest.raises(ValueError):
        PilotDecoder().feed([], 0.0, pwm_on=True)
