"""Control pilot (CP) and proximity pilot (PP) of one connector.

- ``PilotDecoder``: pure volts -> IEC 61851-1 state decoding (hysteresis, debounce, diode check);
- ``SysfsPwm``: 1 kHz PWM through ``/sys/class/pwm``;
- ``GpioControlPilot``: ``ControlPilot`` over a PWM channel and an MCP3008 channel;
- ``AdcProximityPilot``: ``ProximityPilot`` over an MCP3008 channel.
"""

from hardware.pilot.control import AnalogInput, GpioControlPilot, PwmOutput, Switch
from hardware.pilot.decoder import STANDARD_BANDS, PilotDecoder, classify
from hardware.pilot.proximity import PP_BANDS, AdcProximityPilot, rating_for_ohm
from hardware.pilot.pwm import SysfsPwm

__all__ = [
    "PP_BANDS",
    "STANDARD_BANDS",
    "AdcProximityPilot",
    "AnalogInput",
    "GpioControlPilot",
    "PilotDecoder",
    "PwmOutput",
    "Switch",
    "SysfsPwm",
    "classify",
    "rating_for_ohm",
]
