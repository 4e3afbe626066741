"""The analog CP and PP lines between the REAL pilot drivers and a ``VirtualEV``.

``CpLine`` is the PWM output (``hardware.pilot.PwmOutput``) and the ADC input
(``hardware.pilot.AnalogInput``) of ``hardware.pilot.GpioControlPilot`` at once: the duty the
driver writes is what the EV sees, and every ADC sample returns the CP voltage the EV's
resistors (and diode) make at that instant of the 1 kHz square wave. Time is simulated: each
sample advances ``clock()`` by ``sample_s`` (pass ``clock`` to the driver), so a burst sees
both levels without real waiting.

Levels (IEC 61851-1 A.2/A.4): high level = the EV state's nominal volts; low level -12 V,
minus the high level with a shorted EV diode, 0 V in state E; duty 0 % is constant -12 V
(state F), 100 % is constant high (no PWM).

``PpLine`` is the ADC channel of ``hardware.pilot.AdcProximityPilot``: the PP node of a pull-up
to the supply loaded by the plugged cable's coding resistor (IEC 61851-1 Annex B).
"""

from __future__ import annotations

from hardware.interfaces import PilotState
from hardware.sim.ev import EvFault, VirtualEV
from hardware.sim.pilot import HIGH_LEVEL_V, LOW_LEVEL_V, SimProximity

# One MCP3008 conversion over the kernel's SPI (spidev, ~1 MHz clock: 24 bits plus the call):
# what a sample costs on a Pi with hardware SPI. gpiozero's bit-banged software SPI takes about
# ten times as long.
HARDWARE_SPI_SAMPLE_S = 37e-6

# Cable coding resistor per rating (IEC 61851-1 Table B.2)
CODING_OHM = {13: 1500.0, 20: 680.0, 32: 220.0, 63: 100.0}


class CpLine:
    """PWM output and ADC channel of one CP line. ``value`` is normalised as
    ``(volts - offset) / scale`` (the driver's ``scale``/``offset`` invert it)."""

    def __init__(
        self,
        ev: VirtualEV,
        *,
        scale: float = 30.0,
        offset: float = -15.0,
        sample_s: float = HARDWARE_SPI_SAMPLE_S,
        period_s: float = 1e-3,
    ) -> None:
        if scale <= 0 or sample_s <= 0 or period_s <= 0:
            raise ValueError("scale, sample_s and period_s must be positive")
        self._ev = ev
        self._scale = scale
        self._offset = offset
        self._sample_s = sample_s
        self._period_s = period_s
        self._t = 0.0
        self._duty = 100.0
        ev.duty_percent = None
        ev.evse_state_f = False

    def clock(self) -> float:
        """Simulated monotonic time (seconds)."""
        return self._t

    def set_duty(self, percent: float) -> None:
        """What the PWM channel outputs: 0 % = constant -12 V, 100 % = constant +12 V."""
        if not 0.0 <= percent <= 100.0:
            raise ValueError(f"duty must be in [0, 100] %, got {percent!r}")
        self._duty = percent
        self._ev.evse_state_f = percent == 0.0
        self._ev.duty_percent = percent if 0.0 < percent < 100.0 else None

    def volts(self) -> float:
        """The CP voltage now."""
        ev = self._ev
        if ev.evse_state_f:
            return HIGH_LEVEL_V[PilotState.F]
        state = ev.state()
        high = HIGH_LEVEL_V[state]
        phase = (self._t % self._period_s) / self._period_s
        if phase < self._duty / 100.0:
            return high
        if state is PilotState.E:
            return 0.0
        if ev.fault is EvFault.DIODE and ev.plugged:
            return -high
        return LOW_LEVEL_V

    @property
    def value(self) -> float:
        """One ADC sample (0..1); advances the simulated time by one conversion."""
        self._t += self._sample_s
        return min(1.0, max(0.0, (self.volts() - self._offset) / self._scale))


class PpLine:
    """ADC channel on the PP node: ``value`` = node volts / ``adc_vref`` (0..1)."""

    def __init__(
        self,
        proximity: SimProximity,
        *,
        pullup_ohm: float = 330.0,
        supply_v: float = 3.3,
        adc_vref: float = 3.3,
    ) -> None:
        if pullup_ohm <= 0 or supply_v <= 0 or adc_vref <= 0:
            raise ValueError("pullup_ohm, supply_v and adc_vref must be positive")
        self._proximity = proximity
        self._pullup = pullup_ohm
        self._supply = supply_v
        self._vref = adc_vref

    def volts(self) -> float:
        """The PP node: the supply without a cable, else the divider pull-up / coding resistor."""
        rating = self._proximity.cable_rating_a()
        if rating is None:
            return self._supply
        rc = CODING_OHM[rating]
        return self._supply * rc / (rc + self._pullup)

    @property
    def value(self) -> float:
        return min(1.0, max(0.0, self.volts() / self._vref))
