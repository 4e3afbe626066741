"""A virtual EV: how a car answers the control pilot and what current it draws.

Pure logic, no I/O and no clock. The simulated pilot (``hardware.sim.pilot``) tells the EV what
the EVSE outputs; the bench asks it which pilot state it presents and what it draws.

EV side of IEC 61851-1 (Annex A):

- unplugged: nothing on the pilot, the EVSE sees state A (+12 V);
- plugged: 2.74 kOhm (S2 open) -> state B (+9 V);
- the EV closes S2 (+6 V state C, +3 V state D with ventilation) only while a valid PWM is
  offered and it wants energy; PWM off or a pause -> back to B;
- it draws at most the current the duty cycle offers (Table A.8, EV side), and only while
  the contactor actually conducts.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from hardware.interfaces import PilotState

NOMINAL_VOLTAGE_V = 230.0
NOMINAL_FREQUENCY_HZ = 50.0
ADAPTER_STATES = ("A", "B", "C", "D", "E", "diode")


class EvFault(enum.Enum):
    """Faults an EV (or its cable) can present on the pilot."""

    NONE = "none"
    STATE_E = "state_e"  # CP shorted to PE: 0 V
    DIODE = "diode"  # the EV's diode is shorted: the -12 V PWM low level is missing


def offered_current_a(duty_percent: float | None) -> float:
    """The current a duty cycle offers, as an EV decodes it (IEC 61851-1 Table A.8).

    Returns 0.0 where no charging is offered: PWM off (``None``), 100 % (constant +12 V),
    below 8 % (3..7 % asks for digital communication, which this EV does not speak) or
    above 97 %.
    """
    if duty_percent is None:
        return 0.0
    d = duty_percent
    if d < 8.0 or d > 97.0:
        return 0.0
    if d < 10.0:
        return 6.0  # 8 % <= d < 10 %: 6 A
    if d <= 85.0:
        return d * 0.6  # 10 % .. 85 %: duty * 0.6 A
    if d <= 96.0:
        return (d - 64.0) * 2.5  # 85 % .. 96 %: (duty - 64) * 2.5 A
    return 80.0  # 96 % < d <= 97 %: 80 A


@dataclass(slots=True)
class VirtualEV:
    """One car behind one connector. Change the attributes (or call the methods) freely.

    ``duty_percent`` is what the EVSE outputs (``None``: PWM off); ``evse_state_f`` is True
    while the EVSE drives -12 V. The simulated pilot keeps both up to date.
    """

    plugged: bool = False
    wants_energy: bool = True
    max_current_a: float = 32.0
    phases: int = 3
    voltage_v: float = NOMINAL_VOLTAGE_V
    needs_ventilation: bool = False  # presents D instead of C
    fault: EvFault = EvFault.NONE
    duty_percent: float | None = None
    evse_state_f: bool = False
    # An EV test adapter in the socket instead of a car (``None``: no adapter): its switch
    # presents a fixed state A..E, optionally with the diode shorted, and a PP coding resistor
    # (``adapter_cable_a``, None: open). It draws nothing.
    adapter: PilotState | None = None
    adapter_diode_short: bool = False
    adapter_cable_a: int | None = None

    def set_adapter(self, state: str, cable_a: int | None = None) -> None:
        """Set the adapter's switch: ``A``..``E``, ``diode`` (C with the diode shorted) or
        ``off`` (adapter removed). Raises ValueError for another word."""
        if state == "off":
            self.adapter, self.adapter_diode_short, self.adapter_cable_a = None, False, None
            return
        if state not in ADAPTER_STATES:
            raise ValueError(f"adapter state must be one of {', '.join(ADAPTER_STATES)}, off; "
                             f"got {state!r}")
        self.adapter = PilotState.C if state == "diode" else PilotState(state)
        self.adapter_diode_short = state == "diode"
        self.adapter_cable_a = cable_a

    def plug(self, max_current_a: float = 32.0) -> None:
        """Plug in; the EV wants energy. Raises ValueError for a non-positive current."""
        if not max_current_a > 0.0:
            raise ValueError(f"max current must be positive, got {max_current_a!r}")
        self.plugged = True
        self.wants_energy = True
        self.max_current_a = float(max_current_a)

    def unplug(self) -> None:
        self.plugged = False

    @property
    def offered_a(self) -> float:
        """What the EVSE currently offers (0.0 in state F or without a valid PWM)."""
        if self.evse_state_f:
            return 0.0
        return offered_current_a(self.duty_percent)

    def state(self) -> PilotState:
        """The pilot state the EVSE measures with this EV (its high level)."""
        if self.fault is EvFault.STATE_E:
            return PilotState.E
        if self.adapter is PilotState.E:
            return PilotState.E
        if self.evse_state_f:
            return PilotState.F
        if self.adapter is not None:
            return self.adapter
        if not self.plugged:
            return PilotState.A
        if self.wants_energy and self.offered_a > 0.0:
            return PilotState.D if self.needs_ventilation else PilotState.C
        return PilotState.B

    def draw_a(self, contactor_closed: bool) -> float:
        """Current per phase the EV draws: min(offered, its max) in C/D with the contactor
        closed, else 0.0."""
        if not contactor_closed or self.state() not in (PilotState.C, PilotState.D):
            return 0.0
        if self.adapter is not None:  # a test adapter is no load
            return 0.0
        return min(self.offered_a, self.max_current_a)

    def power_w(self, contactor_closed: bool) -> float:
        """Total active power drawn (sum of V * I over its phases, unity power factor)."""
        return self.phases * self.voltage_v * self.draw_a(contactor_closed)
