"""Simulated control pilot and proximity pilot of one connector, answered by a ``VirtualEV``.

``SimPilot`` implements ``hardware.interfaces.ControlPilot``; ``SimProximity`` implements
``hardware.interfaces.ProximityPilot``. Both are instant (no debounce is needed: the virtual
EV never bounces) and never block.
"""

from __future__ import annotations

from hardware.interfaces import PilotReading, PilotState
from hardware.sim.ev import EvFault, VirtualEV

# Nominal high level of each state as the EVSE's ADC sees it (IEC 61851-1 Table A.4).
HIGH_LEVEL_V = {
    PilotState.A: 12.0,
    PilotState.B: 9.0,
    PilotState.C: 6.0,
    PilotState.D: 3.0,
    PilotState.E: 0.0,
    PilotState.F: -12.0,
}
LOW_LEVEL_V = -12.0  # the negative PWM level, present only with a working EV diode


class SimPilot:
    """CP output and input of one connector; the output is what ``ev`` sees."""

    def __init__(self, ev: VirtualEV) -> None:
        self._ev = ev
        ev.duty_percent = None
        ev.evse_state_f = False

    @property
    def ev(self) -> VirtualEV:
        return self._ev

    def set_duty(self, duty_percent: float) -> None:
        """Start or change the PWM. Raises ValueError outside 0 < duty <= 100."""
        if not 0.0 < duty_percent <= 100.0:
            raise ValueError(f"duty must be in (0, 100] %, got {duty_percent!r}")
        self._ev.duty_percent = round(duty_percent, 1)
        self._ev.evse_state_f = False

    def set_off(self) -> None:
        self._ev.duty_percent = None
        self._ev.evse_state_f = False

    def set_state_f(self) -> None:
        self._ev.duty_percent = None
        self._ev.evse_state_f = True

    @property
    def duty_percent(self) -> float | None:
        return self._ev.duty_percent

    def read(self) -> PilotReading:
        """What the ADC would decode now: the EV's state with realistic high/low levels.

        With PWM on the low level is -12 V; with the EV's diode shorted the -12 V level is
        missing (the EV's resistors load the negative half as they load the positive one: the
        low level is minus the high level) and ``diode_ok`` is False; 0 V in state E. PWM at
        100 % has no low level.
        """
        ev = self._ev
        state = ev.state()
        high = HIGH_LEVEL_V[state]
        pwm_on = ev.duty_percent is not None and ev.duty_percent < 100.0
        if not pwm_on or state is PilotState.F:
            return PilotReading(state=state, high_v=high, low_v=None)
        if state is PilotState.E:
            return PilotReading(state=state, high_v=high, low_v=0.0)
        if (ev.fault is EvFault.DIODE and ev.plugged) or (
                ev.adapter is not None and ev.adapter_diode_short):
            return PilotReading(state=state, high_v=high, low_v=-high, diode_ok=False)
        return PilotReading(state=state, high_v=high, low_v=LOW_LEVEL_V)


class SimProximity:
    """PP of a Type 2 socket: the plugged cable's rating, ``None`` without a cable."""

    VALID_RATINGS = (13, 20, 32, 63)  # 1.5 kOhm, 680 Ohm, 220 Ohm, 100 Ohm

    def __init__(self, ev: VirtualEV, rating_a: int = 32) -> None:
        self._ev = ev
        self._rating_a = 32
        self.set_rating(rating_a)

    def set_rating(self, rating_a: int) -> None:
        """The rating of the cable plugged next (or now). Raises ValueError if not standard."""
        if rating_a not in self.VALID_RATINGS:
            raise ValueError(f"cable rating must be one of {self.VALID_RATINGS}, got {rating_a!r}")
        self._rating_a = rating_a

    def cable_rating_a(self) -> int | None:
        if self._ev.adapter is not None:  # a test adapter's PP selector
            return self._ev.adapter_cable_a
        return self._rating_a if self._ev.plugged else None
