"""The mains power-fail input over gpiozero's MockFactory (the test plays the UPS HAT)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gpiozero.pins.mock import MockFactory

from hardware.interfaces import PowerSupervisor, ResidualCurrentMonitor
from hardware.relays import PowerFailInput

PIN = 6


@pytest.fixture
def factory() -> Iterator[MockFactory]:
    f = MockFactory()
    yield f
    f.reset()


@pytest.mark.parametrize("active_high", [True, False])
def test_polarity_gives_the_level_that_means_failed(factory: MockFactory,
                                                    active_high: bool) -> None:
    power = PowerFailInput(PIN, active_high, pin_factory=factory)
    assert isinstance(power, PowerSupervisor)
    assert not isinstance(power, ResidualCurrentMonitor)
    pin = factory.pin(PIN)
    failed, present = (pin.drive_high, pin.drive_low) if active_high else (
        pin.drive_low, pin.drive_high)
    present()
    assert power.mains_ok()
    failed()
    assert not power.mains_ok()
    present()
    assert power.mains_ok()
    power.release()


@pytest.mark.parametrize("active_high", [True, False])
def test_broken_wire_reads_as_mains_failed(factory: MockFactory, active_high: bool) -> None:
    # Fail-safe: the default pull goes towards the "failed" level; nothing drives the pin.
    power = PowerFailInput(PIN, active_high, pin_factory=factory)
    assert not power.mains_ok()
    assert factory.pin(PIN).pull == ("up" if active_high else "down")


def test_pull_can_be_chosen_for_a_driven_output(factory: MockFactory) -> None:
    power = PowerFailInput(PIN, True, pull_up=False, pin_factory=factory)
    assert factory.pin(PIN).pull == "down"
    assert power.mains_ok()  # floating to the pull-down: a push-pull output would drive it
