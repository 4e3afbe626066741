"""IEC 61851-1 table A.8: current -> PWM duty."""

from __future__ import annotations

import math

import pytest

from chargepoint.core.duty import duty_for_current


@pytest.mark.parametrize(
    ("amps", "duty"),
    [
        (6, 10.0),
        (10, 16.7),
        (13, 21.7),
        (16, 26.7),
        (20, 33.3),
        (32, 53.3),
        (40, 66.7),
        (51, 85.0),
        (52, 84.8),  # second segment: 52 / 2.5 + 64
        (63, 89.2),
        (80, 96.0),
    ],
)
def test_duty_table(amps: float, duty: float) -> None:
    assert duty_for_current(amps) == duty


@pytest.mark.parametrize("amps", [0, 5.9, -1, 80.1, math.nan, math.inf])
def test_no_duty_outside_6_to_80_amps(amps: float) -> None:
    with pytest.raises(ValueError):
        duty_for_current(amps)


def test_duty_is_monotonic_within_each_segment() -> None:
    tenths = [a / 10 for a in range(60, 801)]
    low = [duty_for_current(a) for a in tenths if a <= 51]
    high = [duty_for_current(a) for a in tenths if a > 51]
    assert low == sorted(low) and high == sorted(high)
    assert all(10.0 <= d <= 96.0 for d in low + high)
