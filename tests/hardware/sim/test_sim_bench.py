"""SimBench end to end: pilot, relays, the real meter driver over the virtual meter, reader."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from hardware.interfaces import (
    MeterFault,
    MeterReading,
    MismatchKind,
    PilotState,
    StationHardware,
    Token,
)
from hardware.sim.bench import SimBench

DEADLINE_S = 10.0


@pytest.fixture
async def bench() -> AsyncIterator[SimBench]:
    b = SimBench(2, energy_tick_s=0.02)
    await b.start()
    yield b
    await b.stop()


async def good_poll(bench: SimBench, connector: int) -> MeterReading:
    meter = bench.hardware.connectors[connector - 1].meter
    assert meter is not None
    reading = await meter.poll()
    assert isinstance(reading, MeterReading), reading
    return reading


async def poll_until_energy_above(
    bench: SimBench, connector: int, wh: float, current_a: float
) -> MeterReading:
    """Poll through the real driver until the energy register passes ``wh`` and the current
    reads ``current_a`` (one poll is several requests: a tick may fall between them)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE_S
    while True:
        reading = await good_poll(bench, connector)
        if reading.energy_import_wh > wh and reading.current_a == pytest.approx(
            [current_a] * len(reading.current_a), abs=0.01
        ):
            return reading
        assert loop.time() < deadline, f"stuck at {reading}"
        await bench.next_tick()


async def test_hardware_bundle_shape(bench: SimBench) -> None:
    hw = bench.hardware
    assert isinstance(hw, StationHardware)
    assert [c.connector for c in hw.connectors] == [1, 2]
    for c in hw.connectors:
        assert c.lock is not None and c.rcd is not None and c.meter is not None
        assert c.proximity is not None
        assert c.meter.model == "sdm630"
    assert hw.reader is bench.reader


async def test_plug_b_pwm_c_unplug_a(bench: SimBench) -> None:
    hw = bench.hardware.connectors[0]
    assert hw.pilot.read().state is PilotState.A
    assert hw.proximity is not None and hw.proximity.cable_rating_a() is None
    bench.plug(1)
    assert hw.pilot.read().state is PilotState.B
    assert hw.proximity.cable_rating_a() == 32
    hw.pilot.set_duty(26.7)  # 16 A
    assert hw.pilot.read().state is PilotState.C
    bench.ev(1, charge=False)
    assert hw.pilot.read().state is PilotState.B
    bench.ev(1, charge=True)
    assert hw.pilot.read().state is PilotState.C
    bench.ev(1, "pause")
    assert hw.pilot.read().state is PilotState.B
    bench.ev(1, "charge")
    assert hw.pilot.read().state is PilotState.C
    bench.unplug(1)
    assert hw.pilot.read().state is PilotState.A
    assert bench.hardware.connectors[1].pilot.read().state is PilotState.A  # the other one


async def test_energy_rises_only_while_contactor_closed(bench: SimBench) -> None:
    hw = bench.hardware.connectors[0]
    start = await good_poll(bench, 1)
    assert start.current_a == [0.0, 0.0, 0.0]
    bench.plug(1, max_current_a=20.0)
    hw.pilot.set_duty(53.3)  # 32 A offered, the EV takes its 20 A
    assert hw.pilot.read().state is PilotState.C
    hw.contactor.close(0.0)
    assert hw.contactor.mirror_closed()
    reading = await poll_until_energy_above(bench, 1, start.energy_import_wh + 1.0, 20.0)
    assert reading.voltage_v == pytest.approx([230.0, 230.0, 230.0])
    assert reading.power_w == pytest.approx(3 * 230.0 * 20.0)
    other = await good_poll(bench, 2)
    assert other.energy_import_wh == 0.0  # unit 2 is another connector's meter
    hw.contactor.open(1.0)
    # after the next tick the draw is gone and the counter stands still
    opened = bench.connector(1)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE_S
    while (await good_poll(bench, 1)).current_a != [0.0, 0.0, 0.0]:
        assert loop.time() < deadline
    assert opened.draw_a == 0.0
    first = await good_poll(bench, 1)
    second = await good_poll(bench, 1)
    assert second.energy_import_wh == first.energy_import_wh


async def test_welded_mirror_stays_closed(bench: SimBench) -> None:
    contactor = bench.hardware.connectors[0].contactor
    contactor.close(0.0)
    bench.fault(1, "welded")
    contactor.open(1.0)
    assert contactor.mirror_closed()
    mismatch = contactor.check(5.0)
    assert mismatch is not None and mismatch.kind is MismatchKind.WELDED
    assert bench.describe()["connectors"][0]["faults"] == ["welded"]
    bench.fault(1, "none")
    assert not contactor.mirror_closed()
    assert contactor.check(10.0) is None


async def test_welded_contacts_keep_conducting(bench: SimBench) -> None:
    hw = bench.hardware.connectors[0]
    bench.plug(1)
    hw.pilot.set_duty(16.0)
    hw.contactor.close(0.0)
    bench.fault(1, "welded")
    hw.contactor.open(1.0)
    before = (await good_poll(bench, 1)).energy_import_wh
    await poll_until_energy_above(bench, 1, before, 9.6)


async def test_meter_fault_then_recovery(bench: SimBench) -> None:
    meter = bench.hardware.connectors[0].meter
    assert meter is not None
    await good_poll(bench, 1)
    bench.fault(1, "meter")
    assert isinstance(await meter.poll(), MeterFault)
    assert isinstance(await good_poll(bench, 2), MeterReading)  # the other unit still answers
    bench.fault(1, "none")
    assert isinstance(await meter.poll(), MeterReading)


async def test_solenoid_lock_bench() -> None:
    async with SimBench(1, meter_model=None, lock_kind="solenoid") as bench:
        lock = bench.hardware.connectors[0].lock
        assert lock is not None
        lock.lock(0.0)
        assert lock.is_locked()
        assert bench.describe()["connectors"][0]["lock"] == {
            "commanded": "locked",
            "feedback": "locked",
        }
        lock.unlock(1.0)
        assert not lock.is_locked()


async def test_lock_fault_feedback_does_not_follow(bench: SimBench) -> None:
    lock = bench.hardware.connectors[0].lock
    assert lock is not None
    bench.fault(1, "lock")
    lock.lock(0.0)
    assert not lock.is_locked()
    mismatch = lock.check(5.0)
    assert mismatch is not None and mismatch.kind is MismatchKind.LOCK_FAILED
    bench.fault(1, "none")
    assert lock.is_locked()


async def test_rcd_fault_trips_the_input(bench: SimBench) -> None:
    rcd = bench.hardware.connectors[1].rcd
    assert rcd is not None
    assert not rcd.tripped()
    bench.fault(2, "rcd")
    assert rcd.tripped()
    assert not bench.hardware.connectors[0].rcd.tripped()  # type: ignore[union-attr]
    bench.fault(2, "none")
    assert not rcd.tripped()


async def test_pilot_and_diode_faults(bench: SimBench) -> None:
    pilot = bench.hardware.connectors[0].pilot
    bench.plug(1)
    pilot.set_duty(50.0)
    bench.fault(1, "pilot")
    assert pilot.read().state is PilotState.E
    bench.fault(1, "none")
    assert pilot.read().state is PilotState.C
    bench.fault(1, "diode")
    assert pilot.read().diode_ok is False
    bench.fault(1, "none")
    assert pilot.read().diode_ok is True


async def test_tap_comes_out_of_the_reader(bench: SimBench) -> None:
    reader = bench.hardware.reader
    assert reader is not None
    events = reader.events()
    bench.tap("04a1b2c3d4e5f6")
    assert await asyncio.wait_for(anext(events), DEADLINE_S) == Token(
        "04A1B2C3D4E5F6", "ISO14443A"
    )


async def test_bad_commands_raise_value_error(bench: SimBench) -> None:
    with pytest.raises(ValueError, match="no connector 3"):
        bench.plug(3)
    with pytest.raises(ValueError, match="no connector 0"):
        bench.fault(0, "none")
    with pytest.raises(ValueError, match="unknown fault"):
        bench.fault(1, "fire")
    with pytest.raises(ValueError, match="UID"):
        bench.tap("not-hex")
    with pytest.raises(ValueError, match="no EV"):
        bench.ev(1, charge=True)
    with pytest.raises(ValueError, match="charge or pause"):
        bench.ev(1, "sleep")
    with pytest.raises(ValueError, match="current"):
        bench.plug(1, max_current_a=-1.0)
    with pytest.raises(ValueError, match="rating"):
        bench.plug(1, cable_rating_a=16)


async def test_describe_is_json(bench: SimBench) -> None:
    bench.plug(2, max_current_a=16.0)
    bench.hardware.connectors[1].pilot.set_duty(26.7)
    state = json.loads(json.dumps(bench.describe()))
    assert state["started"] is True
    assert state["meter"]["model"] == "sdm630"
    c2 = state["connectors"][1]
    assert c2["id"] == 2
    assert c2["pilot"] == "C"
    assert c2["ev"]["plugged"] is True
    assert c2["offered_a"] == pytest.approx(16.02)
    assert c2["contactor"] == {"commanded": "open", "mirror": "open"}
    assert c2["lock"] == {"commanded": "unlocked", "feedback": "unlocked"}


async def test_bench_without_meter_or_lock() -> None:
    async with SimBench(1, meter_model=None, has_lock=False, energy_tick_s=0.02) as bench:
        hw = bench.hardware.connectors[0]
        assert hw.meter is None and hw.lock is None
        with pytest.raises(ValueError, match="no lock"):
            bench.fault(1, "lock")
        with pytest.raises(ValueError, match="no meter"):
            bench.fault(1, "meter")
        bench.plug(1)
        hw.pilot.set_duty(16.0)
        hw.contactor.close(0.0)
        c = bench.connector(1)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DEADLINE_S
        while c.energy_wh == 0.0:
            assert loop.time() < deadline
            await bench.next_tick()
        assert c.draw_a == pytest.approx(9.6)


async def test_lifecycle_misuse() -> None:
    bench = SimBench(1, meter_model=None)
    with pytest.raises(RuntimeError, match="not started"):
        _ = bench.hardware
    await bench.start()
    with pytest.raises(RuntimeError, match="already"):
        await bench.start()
    await bench.stop()
    await bench.stop()  # idempotent
    with pytest.raises(RuntimeError, match="not started"):
        _ = bench.hardware
    with pytest.raises(RuntimeError, match="new one"):
        await bench.start()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"connectors": 0}, "connectors"),
        ({"connectors": 5}, "connectors"),
        ({"pin_factory": object()}, "MockFactory"),
        ({"energy_tick_s": 0.0}, "energy_tick_s"),
        ({"lock_kind": "magnet"}, "lock_kind"),
    ],
)
def test_bad_construction(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        SimBench(**kwargs)  # type: ignore[arg-type]


async def test_unknown_meter_model() -> None:
    bench = SimBench(1, meter_model="no-such-meter")
    with pytest.raises(ValueError, match="no-such-meter"):
        await bench.start()
    await bench.stop()


async def test_single_phase_meter_single_phase_ev() -> None:
    async with SimBench(1, meter_model="sdm230", energy_tick_s=0.02) as bench:
        hw = bench.hardware.connectors[0]
        bench.plug(1)
        hw.pilot.set_duty(16.0)
        hw.contactor.close(0.0)
        reading = await poll_until_energy_above(bench, 1, 0.0, 9.6)
        assert len(reading.current_a) == 1
        assert reading.power_w == pytest.approx(230.0 * 9.6, rel=0.01)


async def test_feedback_delay_follows_later() -> None:
    async with SimBench(1, meter_model=None, feedback_delay_s=0.05) as bench:
        hw = bench.hardware.connectors[0]
        board = bench.connector(1).board
        assert board is not None
        hw.contactor.close(0.0)
        assert not hw.contactor.mirror_closed()  # the contacts have not moved yet
        await board.settled()
        assert hw.contactor.mirror_closed()
        hw.contactor.open(1.0)
        assert hw.contactor.mirror_closed()
        await board.settled()
        assert not hw.contactor.mirror_closed()


async def test_test_adapter_is_described_and_validated(bench: SimBench) -> None:
    bench.adapter(1, "D", cable_a=13)
    described = bench.describe()["connectors"][0]
    assert described["adapter"] == {"state": "D", "cable_a": 13}
    assert (described["pilot"], described["cable_rating_a"]) == ("D", 13)
    with pytest.raises(ValueError, match="cable rating must be one of"):
        bench.adapter(1, "B", cable_a=16)
    with pytest.raises(ValueError, match="no connector 9"):
        bench.adapter(9, "B")
    bench.adapter(1, "off")
    assert bench.describe()["connectors"][0]["adapter"] is None


async def test_an_idle_bench_integrates_only_while_contacts_are_closed() -> None:
    """With every contactor open nothing can draw: the energy task waits for contacts to
    close (switched from another thread, as the safety island does) instead of ticking."""
    async with SimBench(1, meter_model=None, has_lock=False, energy_tick_s=0.01) as bench:
        steps: list[float] = []
        update = bench._update_meter

        def counted(dt_s: float) -> None:
            steps.append(dt_s)
            update(dt_s)

        bench._update_meter = counted  # type: ignore[method-assign]
        await asyncio.sleep(0.1)  # ten ticks' worth of nothing (a window, not a wait)
        assert steps == []
        hw = bench.hardware.connectors[0]
        bench.plug(1)
        hw.pilot.set_duty(16.0)
        await asyncio.to_thread(hw.contactor.close, 0.0)
        c = bench.connector(1)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DEADLINE_S
        while c.energy_wh == 0.0:
            assert loop.time() < deadline
            await asyncio.sleep(0.01)
        await asyncio.to_thread(hw.contactor.open, 0.0)
        while c.draw_a:
            assert loop.time() < deadline
            await asyncio.sleep(0.01)
        ticked = len(steps)
        await asyncio.sleep(0.1)
        assert len(steps) == ticked  # at rest again
        await bench.next_tick()  # still answers: one step on request
        assert len(steps) == ticked + 1
