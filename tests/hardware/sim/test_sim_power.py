"""The bench's mains supply: ``power(on)`` drives the real PowerFailInput on a mock pin."""

from __future__ import annotations

import json

import pytest
from gpiozero.pins.mock import MockFactory

from hardware.interfaces import PowerSupervisor
from hardware.sim.bench import SimBench
from hardware.sim.mains import PIN, SimMains


async def test_power_off_and_on_reach_the_station_input() -> None:
    async with SimBench(4, meter_model=None) as bench:  # 4 boards: the pin is still free
        power = bench.hardware.power
        assert isinstance(power, PowerSupervisor)
        assert power.mains_ok()
        assert bench.describe()["power"] == {"mains": "on", "mains_ok": True}
        bench.power(False)
        assert not power.mains_ok()
        bench.power("on")
        assert power.mains_ok()
        bench.power("off")
        described = bench.describe()
        assert described["power"] == {"mains": "off", "mains_ok": False}
        json.dumps(described)


async def test_power_set_before_start_is_the_starting_level() -> None:
    bench = SimBench(1, meter_model=None)
    bench.power(False)
    assert bench.describe()["power"] == {"mains": "off", "mains_ok": None}
    async with bench:
        power = bench.hardware.power
        assert power is not None and not power.mains_ok()


def test_power_refuses_other_words() -> None:
    with pytest.raises(ValueError, match="on or off"):
        SimBench(1, meter_model=None).power("maybe")


def test_sim_mains_is_the_real_input_on_its_pin() -> None:
    factory = MockFactory()
    try:
        mains = SimMains(factory)
        assert factory.pin(PIN).state is False and mains.input.mains_ok()
        mains.set(False)
        assert factory.pin(PIN).state is True and not mains.input.mains_ok() and not mains.on
        mains.close()
        mains.close()  # idempotent
    finally:
        factory.reset()
