"""IEC 61851-1 current <-> PWM duty cycle (Annex A, table A.8: "Pilot duty cycle provided by
the EVSE").

- 6 A <= I <= 51 A: duty % = I / 0.6
- 51 A < I <= 80 A: duty % = I / 2.5 + 64
- below 6 A the EVSE must not offer charging (no PWM); 5 % is reserved for digital
  communication and is never produced here.

The duty is rounded to 0.1 %, the resolution of ``hardware.interfaces.ControlPilot.set_duty``.
"""

from __future__ import annotations

MIN_CURRENT_A = 6.0
"""The smallest current IEC 61851-1 lets an EVSE offer."""

MAX_CURRENT_A = 80.0
"""The largest current the PWM duty table can express."""


def duty_for_current(amps: float) -> float:
    """Duty cycle in percent (0.1 % steps) that offers ``amps``.

    Raises ``ValueError`` below 6 A (no PWM may be offered: switch PWM off instead) and above
    80 A (not expressible on the pilot).
    """
    if not amps >= MIN_CURRENT_A:  # also rejects NaN
        raise ValueError(f"{amps} A is below {MIN_CURRENT_A} A: switch PWM off instead")
    if amps > MAX_CURRENT_A:
        raise ValueError(f"{amps} A is above {MAX_CURRENT_A} A: not expressible on the pilot")
    duty = amps / 0.6 if amps <= 51.0 else amps / 2.5 + 64.0
    return round(duty, 1)
