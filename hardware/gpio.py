"""Small gpiozero helpers shared by the relay, pilot and RCD drivers.

Every helper takes the BCM pin number, the electrical polarity from the config and an optional
gpiozero ``pin_factory`` (``None``: gpiozero's default, i.e. the real Pi; tests pass a
``MockFactory``). Outputs always start inactive (contactor open, lock motor off).
"""

from __future__ import annotations

from typing import Any

from gpiozero import DigitalInputDevice, DigitalOutputDevice


def output_pin(pin: int, *, active_high: bool = True, pin_factory: Any = None) -> Any:
    """A digital output that starts inactive. ``active_high=False``: the driver sinks (low=on)."""
    return DigitalOutputDevice(
        pin, active_high=active_high, initial_value=False, pin_factory=pin_factory
    )


def input_pin(pin: int, *, active_high: bool = True, pin_factory: Any = None) -> Any:
    """A digital input with the internal pull resistor on the inactive side.

    ``active_high=True`` (pull-down): a contact to 3.3 V reads active. ``active_high=False``
    (pull-up): a contact to GND reads active, and a broken wire reads inactive.
    """
    return DigitalInputDevice(pin, pull_up=not active_high, pin_factory=pin_factory)


def spi_interface(device: Any) -> str:
    """How a gpiozero SPI device (e.g. ``MCP3008``) talks to its chip: ``"hardware"`` (the
    kernel's spidev), ``"software"`` (bit-banged on GPIOs: about ten times slower per sample,
    gpiozero's fallback when spidev is missing) or ``"other"`` (a mock or a simulated line)."""
    name = type(getattr(device, "_spi", None)).__name__
    if "Software" in name:
        return "software"
    if "Hardware" in name:
        return "hardware"
    return "other"
