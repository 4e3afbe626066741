"""ModbusMeter against the VirtualMeter: pymodbus framing on both ends of a pty."""

from __future__ import annotations

import asyncio
import math
import time

import pytest
from pymodbus.client import AsyncModbusSerialClient

from hardware.interfaces import EnergyMeter, MeterFault, MeterReading
from hardware.meter import list_models, load_model, open_meter
from hardware.meter.planner import char_time_s, plan_time_s
from hardware.sim.virtual_meter import VirtualMeter

from .meter_helpers import meter_on, virtual_bus

V3 = [229.5, 231.0, 232.5]
A3 = [16.0, 15.5, 0.25]


@pytest.mark.parametrize("model", sorted(list_models()))
async def test_every_map_round_trips(model: str) -> None:
    """Values set on the virtual meter come back in SI units, through the model's function
    codes, word order and scale."""
    regmap = load_model(model)
    phases = sum(1 for p in ("l1", "l2", "l3") if regmap.field(f"voltage_{p}"))
    async with virtual_bus({7: model}) as (vm, bus):
        vm.set_electrical(7, V3, A3, frequency_hz=49.98)
        vm.set_energy_wh(7, 1_234_500.0, export_wh=2_500.0)
        meter = meter_on(bus, model, unit=7)
        assert isinstance(meter, EnergyMeter)
        reading = await meter.poll()
        assert isinstance(reading, MeterReading), reading
        # the coarsest step of the shipped maps: EM340 energy in 0.1 kWh
        assert reading.energy_import_wh == pytest.approx(1_234_500.0, abs=100)
        assert reading.energy_export_wh == pytest.approx(2_500.0, abs=100)
        assert reading.voltage_v == pytest.approx(V3[:phases], abs=0.1)
        assert reading.current_a == pytest.approx(A3[:phases], abs=0.01)
        powers = [v * i for v, i in zip(V3[:phases], A3[:phases], strict=True)]
        assert reading.power_w_phases == pytest.approx(powers, abs=0.1)
        assert reading.power_w == pytest.approx(sum(powers), abs=0.1)
        assert reading.frequency_hz == pytest.approx(49.98, abs=0.1)
        # one request per planned block, each with the model's function code
        seen = vm.requests(7)
        assert len(seen) == meter.requests_per_poll
        assert {r.function for r in seen} == {f.function for f in regmap.fields}
        assert [(r.function, r.address, r.count) for r in seen] == [
            (b.function, b.start, b.count) for b in meter.plan
        ]


async def test_sdm630_poll_is_three_requests_not_thirteen() -> None:
    async with virtual_bus({1: "sdm630"}) as (vm, bus):
        meter = meter_on(bus, "sdm630")
        assert isinstance(await meter.poll(), MeterReading)
        seen = [(r.function, r.address, r.count) for r in vm.requests(1)]
        assert seen == [(4, 0x00, 18), (4, 0x34, 2), (4, 0x46, 6)]
        assert meter.requests_per_poll == 3
        assert meter.counters.requests == 3
        # 8 bytes per request; answers 5 + 2 per register: 3 * 8 + 3 * 5 + 2 * 26 = 91
        assert meter.counters.bytes_on_wire == 91
        assert bus.counters.bytes_on_wire == 91
        assert meter.predicted_wire_time_s == pytest.approx(
            0.1283 + 3 * load_model("sdm630").turnaround_s, abs=5e-4
        )


async def test_raw_registers_em340_low_word_first_abb_holding() -> None:
    """An independent client checks what the virtual meter puts on the wire."""
    async with virtual_bus({1: "em340", 2: "abb_b23"}) as (vm, bus):
        vm.set_energy_wh(1, 0x00010002 * 100)  # tenths of kWh = 0x00010002
        vm.set_energy_wh(2, 123_456.0)  # 0.01 kWh units: 12345.6 -> 12346
        client = AsyncModbusSerialClient(bus.port, baudrate=9600, timeout=0.5, retries=0)
        assert await client.connect()
        try:
            em = await client.read_input_registers(0x34, count=2, device_id=1)
            assert em.registers == [0x0002, 0x0001]
            abb = await client.read_holding_registers(0x5000, count=4, device_id=2)
            assert abb.registers == [0, 0, 0, 12346]
            wrong = await client.read_input_registers(0x5000, count=4, device_id=2)
            assert wrong.isError()  # ABB energy is not an input register
        finally:
            client.close()
        meter = meter_on(bus, "em340", unit=1)
        reading = await meter.poll()
        assert isinstance(reading, MeterReading)
        assert reading.energy_import_wh == 0x00010002 * 100


async def test_silent_meter_faults_then_recovers() -> None:
    async with virtual_bus({1: "sdm630"}) as (vm, bus):
        vm.set_energy_wh(1, 1000.0)
        meter = meter_on(bus, "sdm630", retries=1)
        good = await meter.poll()
        assert isinstance(good, MeterReading)
        vm.set_silent(1, True)
        vm.clear_requests()
        fault = await meter.poll()
        assert isinstance(fault, MeterFault)
        assert "no answer" in fault.reason
        assert len(vm.requests(1)) == 2  # first block, tried retries + 1 times, then give up
        assert not any(r.answered for r in vm.requests(1))
        assert meter.last_reading == good
        vm.set_silent(1, False)
        vm.add_energy_wh(1, 5.0)
        again = await meter.poll()
        assert isinstance(again, MeterReading)
        assert again.energy_import_wh == pytest.approx(1005.0, abs=1e-3)
        assert meter.counters.faults == 1


async def test_lower_energy_is_rejected_and_last_good_kept() -> None:
    async with virtual_bus({1: "sdm630"}) as (vm, bus):
        vm.set_energy_wh(1, 5000.0)
        meter = meter_on(bus, "sdm630")
        good = await meter.poll()
        assert isinstance(good, MeterReading)
        vm.set_energy_wh(1, 4000.0)
        fault = await meter.poll()
        assert isinstance(fault, MeterFault) and "below last good" in fault.reason
        assert meter.last_reading == good
        vm.set_energy_wh(1, 5001.0)
        later = await meter.poll()
        assert isinstance(later, MeterReading)
        assert later.energy_import_wh == pytest.approx(5001.0, abs=1e-3)


async def test_lower_export_energy_is_rejected() -> None:
    async with virtual_bus({1: "sdm630"}) as (vm, bus):
        vm.set_energy_wh(1, 5000.0, export_wh=300.0)
        meter = meter_on(bus, "sdm630")
        assert isinstance(await meter.poll(), MeterReading)
        vm.set_energy_wh(1, 5000.0, export_wh=200.0)
        fault = await meter.poll()
        assert isinstance(fault, MeterFault) and "export" in fault.reason


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
async def test_nan_and_inf_are_rejected(bad: float) -> None:
    async with virtual_bus({1: "sdm630"}) as (vm, bus):
        vm.set_energy_wh(1, 10.0)
        meter = meter_on(bus, "sdm630")
        good = await meter.poll()
        assert isinstance(good, MeterReading)
        vm.set_value(1, "voltage_l2", bad)
        fault = await meter.poll()
        assert isinstance(fault, MeterFault) and "voltage_l2" in fault.reason
        vm.clear_overrides(1)
        assert isinstance(await meter.poll(), MeterReading)
        assert meter.last_reading is not None


async def test_not_available_sentinel_is_rejected() -> None:
    async with virtual_bus({3: "abb_b23"}) as (vm, bus):
        meter = meter_on(bus, "abb_b23", unit=3)
        assert isinstance(await meter.poll(), MeterReading)
        vm.set_not_available(3, "energy_import")
        fault = await meter.poll()
        assert isinstance(fault, MeterFault) and "energy_import not available" in fault.reason
        vm.clear_overrides(3)
        vm.set_not_available(3, "power_l2")
        fault = await meter.poll()
        assert isinstance(fault, MeterFault) and "power_l2" in fault.reason


async def test_exception_response_is_retried_then_a_fault() -> None:
    """The wrong map for the meter: the meter answers illegal data address."""
    async with virtual_bus({1: "sdm630"}) as (vm, bus):
        meter = meter_on(bus, "abb_b23", unit=1, retries=2)
        fault = await meter.poll()
        assert isinstance(fault, MeterFault)
        assert "exception code 2" in fault.reason
        assert len(vm.requests(1)) == 3


async def test_unknown_unit_id_stays_silent() -> None:
    async with virtual_bus({1: "sdm630"}) as (vm, bus):
        meter = meter_on(bus, "sdm630", unit=9, retries=0)
        fault = await meter.poll()
        assert isinstance(fault, MeterFault) and "no answer" in fault.reason
        assert [r.unit for r in vm.requests()] == [9]


async def test_two_units_share_one_bus_without_interleaving() -> None:
    async with virtual_bus({1: "sdm630", 2: "em340"}) as (vm, bus):
        vm.set_electrical(1, [230.0] * 3, [10.0] * 3)
        vm.set_electrical(2, [240.0] * 3, [5.0] * 3)
        vm.set_energy_wh(1, 1000.0)
        vm.set_energy_wh(2, 2000.0)
        a, b = meter_on(bus, "sdm630", unit=1), meter_on(bus, "em340", unit=2)
        results = await asyncio.gather(*(m.poll() for _ in range(5) for m in (a, b)))
        assert all(isinstance(r, MeterReading) for r in results)
        for i, r in enumerate(results):
            assert isinstance(r, MeterReading)
            assert r.voltage_v == pytest.approx([230.0 if i % 2 == 0 else 240.0] * 3, abs=0.1)
        log = vm.wire_log
        assert len(log) == 2 * 5 * (a.requests_per_poll + b.requests_per_poll)
        # strictly request, answer, request, answer...: each answer from the unit just asked
        for (d1, u1), (d2, u2) in zip(log[::2], log[1::2], strict=True):
            assert (d1, d2) == ("rx", "tx") and u1 == u2
        units = {u for _, u in log}
        assert units == {1, 2}
        assert a.counters.requests + b.counters.requests == bus.counters.requests


async def test_port_gone_is_a_fault_and_reopen_recovers() -> None:
    async with virtual_bus({1: "sdm630"}) as (_vm, bus):
        meter = meter_on(bus, "sdm630")
        assert isinstance(await meter.poll(), MeterReading)
        await bus.close()  # e.g. after a port error: the next poll opens it again
        assert isinstance(await meter.poll(), MeterReading)
        assert bus.counters.reconnects == 2
    fault = await meter.poll()  # the pty is gone now
    assert isinstance(fault, MeterFault)


async def test_emulated_wire_speed_still_reads() -> None:
    async with virtual_bus({1: "sdm630"}, char_time_s=char_time_s(115200)) as (vm, bus):
        vm.set_energy_wh(1, 42.0)
        meter = meter_on(bus, "sdm630")
        reading = await meter.poll()
        assert isinstance(reading, MeterReading)
        assert reading.energy_import_wh == pytest.approx(42.0, abs=1e-3)


async def test_bus_keeps_the_rtu_silence_between_frames() -> None:
    """Modbus over serial line v1.02, 2.5.1.1: at least 3.5 characters of silence between two
    frames, seen on the emulated 9600 Bd wire; a client that skips it is caught."""
    ct = char_time_s(9600)
    async with virtual_bus({1: "sdm630"}, char_time_s=ct) as (vm, bus):
        meter = meter_on(bus, "sdm630")
        assert isinstance(await meter.poll(), MeterReading)
        t0 = time.monotonic()
        assert isinstance(await meter.poll(), MeterReading)
        # the emulated wire is never faster than the framing rules (no turnaround emulated)
        assert time.monotonic() - t0 >= plan_time_s(meter.plan, ct, 0.0)
        wire = vm.wire_stats
        assert wire.frames == 2 * 2 * meter.requests_per_poll  # request + answer per block
        assert wire.short_silences == 0
        assert wire.min_silence_s >= 3.5 * ct - 1e-6
        bus.frame_gap_s = 0.0  # sends as soon as the answer is in
        assert isinstance(await meter.poll(), MeterReading)
        assert vm.wire_stats.short_silences > 0


async def test_an_answer_in_pieces_is_read_and_counted_once() -> None:
    """A UART hands a 9600 Bd answer over in pieces (pymodbus traces its whole receive buffer
    each time): the poll reads it and the counters count every byte once."""
    async with virtual_bus({1: "sdm630"}, char_time_s=char_time_s(9600), piece_chars=8) as (
        vm,
        bus,
    ):
        vm.set_energy_wh(1, 42.0)
        meter = meter_on(bus, "sdm630")
        reading = await meter.poll()
        assert isinstance(reading, MeterReading)
        assert reading.energy_import_wh == pytest.approx(42.0, abs=1e-3)
        assert meter.counters.bytes_on_wire == bus.counters.bytes_on_wire == 91


async def test_bus_reopens_the_port_after_timeouts_in_a_row() -> None:
    async with virtual_bus({1: "sdm630"}) as (vm, bus):
        bus.reopen_after = 2
        meter = meter_on(bus, "sdm630", retries=0)
        assert isinstance(await meter.poll(), MeterReading)
        assert bus.counters.reconnects == 1
        vm.set_silent(1, True)
        assert isinstance(await meter.poll(), MeterFault)
        assert isinstance(await meter.poll(), MeterFault)  # second timeout in a row: closed
        vm.set_silent(1, False)
        assert isinstance(await meter.poll(), MeterReading)
        assert bus.counters.reconnects == 2


async def test_virtual_meter_history_is_bounded() -> None:
    async with VirtualMeter({1: "sdm630"}, history=4) as vm:
        meter = open_meter(port=vm.client_path, model="sdm630", timeout=0.3)
        for _ in range(3):
            assert isinstance(await meter.poll(), MeterReading)
        await meter.bus.close()
        assert len(vm.requests()) == 4
        assert len(vm.wire_log) == 8


async def test_crc_error_is_retried() -> None:
    async with virtual_bus({1: "sdm630"}) as (vm, bus):
        vm.set_energy_wh(1, 99.0)
        meter = meter_on(bus, "sdm630", retries=1)
        vm.corrupt_answers(1)
        reading = await meter.poll()
        assert isinstance(reading, MeterReading)
        assert reading.energy_import_wh == pytest.approx(99.0, abs=1e-3)
        assert meter.counters.retries == 1
        assert len(vm.requests(1)) == 4  # the first block twice
        vm.corrupt_answers(2)
        fault = await meter.poll()
        assert isinstance(fault, MeterFault) and "no answer" in fault.reason
