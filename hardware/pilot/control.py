"""``GpioControlPilot``: CP output through a PWM channel, CP input through an ADC channel.

Front end (docs/hardware.md): the PWM pin drives a +-12 V op-amp stage that feeds the CP line
through 1 kOhm (IEC 61851-1 A.2); a divider with level shift brings the CP line (-12..+12 V)
into the MCP3008's 0..Vref range. The ADC's normalised value ``x`` (0..1, gpiozero
``MCP3008.value``) is first the ADC pin voltage ``x * adc_vref``, then CP volts as
``adc_volts * scale + offset`` (``[hardware.pilot] scale`` / ``offset``). The defaults fit the
reference front end of docs/hardware.md (CP = adc_volts * 30 / 3.3 - 15).

Output mapping (duty is the high time of the CP line):

- ``set_duty(d)``: 1 kHz PWM at ``d`` % (0.1 % resolution) -- 100 % is a constant +12 V;
- ``set_off()``: constant +12 V (no charging offered, IEC 61851-1 A.2.2 "no PWM");
- ``set_state_f()``: constant -12 V (state F), i.e. the PWM held at 0 %; an optional
  ``f_switch`` output (e.g. a relay that switches the CP to the -12 V rail) is turned on too.

``read()`` samples a burst spanning more than one PWM period (``burst_s``, default 1.2 ms, and at
least ``min_samples``) while a square wave is output, else ``flat_samples`` (default 1: the line
is a DC level, one conversion reads it; the decoder's debounce filters a noisy one), and hands
the volts to a ``PilotDecoder``. The burst is the one thing here that takes more than a
millisecond (about 1.2 ms while PWM is on); it never waits on anything else.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

from hardware.interfaces import PilotReading, PilotState
from hardware.pilot.decoder import PilotDecoder

log = logging.getLogger(__name__)


class PwmOutput(Protocol):
    """What the pilot needs from a PWM channel (``SysfsPwm`` implements it)."""

    def set_duty(self, percent: float) -> None: ...


class AnalogInput(Protocol):
    """One ADC channel: ``value`` normalised to 0..1 (gpiozero ``MCP3008`` implements it)."""

    @property
    def value(self) -> float: ...


class Switch(Protocol):
    """A digital output (gpiozero ``DigitalOutputDevice`` implements it)."""

    def on(self) -> None: ...

    def off(self) -> None: ...


class GpioControlPilot:
    """Implements ``hardware.interfaces.ControlPilot``. Starts in ``set_off()`` (+12 V)."""

    def __init__(
        self,
        pwm: PwmOutput,
        adc: AnalogInput,
        decoder: PilotDecoder,
        *,
        scale: float = 30.0 / 3.3,
        offset: float = -15.0,
        adc_vref: float = 3.3,
        burst_s: float = 0.0012,
        min_samples: int = 8,
        max_samples: int = 400,
        flat_samples: int = 1,
        f_switch: Switch | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if min_samples < 1 or max_samples < min_samples:
            raise ValueError("need 1 <= min_samples <= max_samples")
        if not 1 <= flat_samples <= max_samples:
            raise ValueError("need 1 <= flat_samples <= max_samples")
        self._pwm = pwm
        self._adc = adc
        self._decoder = decoder
        self._gain = adc_vref * scale  # normalised ADC value -> CP volts
        self._offset = offset
        self._burst_s = burst_s
        self._min = min_samples
        self._max = max_samples
        self._flat = flat_samples
        self._f_switch = f_switch
        self._clock = clock
        self._duty: float | None = None
        self._square = False  # 0 < duty < 100: there is a low level to check
        self.set_off()

    def set_duty(self, duty_percent: float) -> None:
        """Offer PWM at ``duty_percent`` (0 < d <= 100), rounded to 0.1 %. Else ``ValueError``."""
        if not 0.0 < duty_percent <= 100.0:
            raise ValueError(f"duty must be in (0, 100] %, got {duty_percent!r}")
        duty = round(duty_percent, 1)
        if duty == 0.0:
            raise ValueError(f"duty {duty_percent!r} % rounds to 0 at 0.1 % resolution")
        self._leave_f()
        self._pwm.set_duty(duty)
        self._duty = duty
        self._square = duty < 100.0

    def set_off(self) -> None:
        self._leave_f()
        self._pwm.set_duty(100.0)
        self._duty = None
        self._square = False

    def set_state_f(self) -> None:
        self._pwm.set_duty(0.0)
        if self._f_switch is not None:
            self._f_switch.on()
        self._duty = None
        self._square = False

    def _leave_f(self) -> None:
        if self._f_switch is not None:
            self._f_switch.off()

    @property
    def spi(self) -> str:
        """How the ADC is read: ``hardware`` / ``software`` SPI, or ``other`` (see
        ``hardware.gpio.spi_interface``)."""
        from hardware.gpio import spi_interface

        return spi_interface(self._adc)

    def release(self) -> None:
        """On shutdown: leave the CP in state F (EVSE unavailable). The kernel keeps the PWM
        output after the process ends, so this is what an EV sees while nothing runs."""
        self.set_state_f()

    @property
    def duty_percent(self) -> float | None:
        return self._duty

    @property
    def settling(self) -> bool:
        """The decoder saw a change it has not confirmed yet (``PilotDecoder.settling``)."""
        return self._decoder.settling

    def volts(self) -> float:
        """One ADC sample converted to CP volts."""
        return self._adc.value * self._gain + self._offset

    def sample(self) -> list[float]:
        """One burst of CP volts: while a square wave is output at least ``min_samples`` and
        more than one PWM period (``burst_s``); else ``flat_samples``. Raises ``OSError`` when
        the ADC cannot be read."""
        start = self._clock()
        samples = [self.volts()]
        if not self._square:
            while len(samples) < self._flat:
                samples.append(self.volts())
            return samples
        while len(samples) < self._max and (
            len(samples) < self._min or self._clock() - start < self._burst_s
        ):
            samples.append(self.volts())
        return samples

    def read(self) -> PilotReading:
        """Sample and decode. An unreadable ADC (SPI error) reads as state E at once: an error
        state never lets the core close the contactor."""
        try:
            samples = self.sample()
        except OSError as exc:
            log.error("pilot ADC read failed: %s", exc)
            return PilotReading(PilotState.E, high_v=0.0, low_v=None, diode_ok=False)
        return self._decoder.feed(samples, self._clock(), pwm_on=self._square)
