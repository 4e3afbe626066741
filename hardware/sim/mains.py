"""The bench's mains supply: the REAL ``PowerFailInput`` on a gpiozero MockFactory pin.

``SimMains`` plays a UPS HAT's power-loss output wired to BCM ``PIN`` (above the four
connectors' relay boards): ``set(on)`` drives the pin to the level the input reads as mains
present (``True``) or failed (``False``). Mains starts present.
"""

from __future__ import annotations

from gpiozero.pins.mock import MockFactory

from hardware.relays import PowerFailInput

PIN = 26  # the relay boards use GPIO 2..25 (hardware.sim.board)
ACTIVE_HIGH = True  # high = mains failed; the input pulls up: a broken wire reads as failed


class SimMains:
    """Mains supervision of the bench. ``input`` is the ``PowerSupervisor`` the station reads;
    ``close()`` frees the pin (idempotent)."""

    def __init__(self, factory: MockFactory) -> None:
        self.input = PowerFailInput(PIN, ACTIVE_HIGH, pin_factory=factory)
        self._pin = factory.pin(PIN)
        self._on = True
        self._closed = False
        self.set(True)

    @property
    def on(self) -> bool:
        """What the bench was told: True while mains is present."""
        return self._on

    def set(self, on: bool) -> None:
        """Mains present (``True``) or failed (``False``)."""
        self._on = on
        if (not on) == ACTIVE_HIGH:  # the level that means "failed" is high
            self._pin.drive_high()
        else:
            self._pin.drive_low()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.input.release()
