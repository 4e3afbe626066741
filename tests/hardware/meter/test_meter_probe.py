"""Technician probe: one read without the daemon, JSON as INTERFACE.md fixes it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hardware.interfaces import MeterFault, MeterReading
from hardware.meter import MapError, probe, reading_json
from hardware.sim.virtual_meter import VirtualMeter


async def test_probe_reads_every_quantity_as_json() -> None:
    async with VirtualMeter({4: "sdm630"}) as vm:
        vm.set_electrical(4, [230.0, 231.0, 232.0], [1.0, 2.0, 3.0], frequency_hz=50.02)
        vm.add_energy_wh(4, 777.0)
        reading = await probe(vm.client_path, "sdm630", unit=4, timeout=0.3)
    assert isinstance(reading, MeterReading)
    doc = reading_json(reading)
    assert json.loads(json.dumps(doc)) == doc
    assert doc["energy_wh"] == pytest.approx(777.0, abs=1e-3)
    assert doc["power_w"] == pytest.approx(230 + 462 + 696, abs=0.01)
    assert doc["voltage_v"] == pytest.approx([230.0, 231.0, 232.0])
    assert doc["current_a"] == pytest.approx([1.0, 2.0, 3.0])
    assert doc["power_w_phases"] == pytest.approx([230.0, 462.0, 696.0])
    assert doc["frequency_hz"] == pytest.approx(50.02, abs=1e-3)


async def test_probe_of_a_silent_meter_is_a_fault_with_a_reason() -> None:
    async with VirtualMeter({1: "sdm230"}) as vm:
        vm.set_silent(1, True)
        result = await probe(vm.client_path, "sdm230", timeout=0.1)
    assert isinstance(result, MeterFault)
    assert "no answer" in result.reason


async def test_probe_of_a_missing_port_is_a_fault(tmp_path: Path) -> None:
    result = await probe(str(tmp_path / "ttyNOPE"), "sdm630", timeout=0.1)
    assert isinstance(result, MeterFault)
    assert "cannot open" in result.reason


async def test_probe_unknown_model_raises() -> None:
    with pytest.raises(MapError, match="unknown meter model"):
        await probe("/dev/null", "nosuch")


async def test_probe_releases_the_port() -> None:
    """Two probes in a row: the first must not keep the (exclusively locked) tty."""
    async with VirtualMeter({1: "sdm630"}) as vm:
        first = await probe(vm.client_path, "sdm630", timeout=0.3)
        second = await probe(vm.client_path, "sdm630", timeout=0.3)
    assert isinstance(first, MeterReading) and isinstance(second, MeterReading)
