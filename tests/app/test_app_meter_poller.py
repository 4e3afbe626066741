"""The meter poller's cadence (``chargepoint.meter_poller``): fast while the connector is busy,
``SETTLE_POLLS`` more after, then the idle rate; a nudge or ``fresh`` polls an idle meter now.

The idle interval is an hour here: a poll that comes within the tests' timeouts came from the
rule under test, never from the idle timer."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import pytest

from chargepoint.meter_poller import SETTLE_POLLS, MeterPoller
from hardware.interfaces import MeterFault, MeterReading

FAST_S = 0.01
IDLE_S = 3600.0


class CountingMeter:
    """An ``EnergyMeter`` that counts its polls; ``during_poll`` runs inside the next one."""

    model = "counting"
    requests_per_poll = 1

    def __init__(self) -> None:
        self.polls = 0
        self.energy_wh = 1000.0
        self.during_poll: Callable[[], None] | None = None
        self.polled = asyncio.Event()
        self.silent = False  # the meter does not answer

    async def poll(self) -> MeterReading | MeterFault:
        self.polls += 1
        if self.during_poll is not None:
            self.during_poll()
            self.during_poll = None
        self.polled.set()
        await asyncio.sleep(0)
        if self.silent:
            return MeterFault("timeout")
        return MeterReading(energy_import_wh=self.energy_wh, power_w=0.0)


class Rig:
    def __init__(self) -> None:
        self.meter = CountingMeter()
        self.busy = False
        self.results: list[MeterReading | MeterFault] = []
        self.poller = MeterPoller(self.meter, interval_s=FAST_S, idle_interval_s=IDLE_S,
                                  busy=lambda: self.busy,
                                  on_result=lambda result, _at: self.results.append(result))

    async def until(self, check: Callable[[], bool], timeout: float = 5.0) -> None:
        async def wait() -> None:
            while not check():
                self.meter.polled.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.meter.polled.wait(), 0.05)
        await asyncio.wait_for(wait(), timeout)


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    r = Rig()
    task = asyncio.create_task(r.poller.run())
    yield r
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_a_connector_never_busy_is_polled_once_then_idles(rig: Rig) -> None:
    await rig.until(lambda: rig.poller.idling)
    assert rig.meter.polls == 1 and rig.poller.latest == MeterReading(1000.0, power_w=0.0)


async def test_busy_polls_fast_then_settles_then_idles(rig: Rig) -> None:
    await rig.until(lambda: rig.poller.idling)
    rig.busy = True
    rig.poller.nudge()
    await rig.until(lambda: rig.meter.polls >= 5)  # at the fast rate: an idle one is an hour
    ended_at: list[int] = []

    def quiet() -> None:  # the contactor opens while a poll runs
        rig.busy = False
        ended_at.append(rig.meter.polls)
    rig.meter.during_poll = quiet
    await rig.until(lambda: bool(ended_at) and rig.poller.idling)
    assert rig.meter.polls - ended_at[0] == SETTLE_POLLS  # each started after it went quiet


async def test_a_nudge_polls_a_connector_that_became_busy_at_once(rig: Rig) -> None:
    await rig.until(lambda: rig.poller.idling)
    rig.poller.nudge()  # nothing changed: it stays asleep
    await asyncio.sleep(0)
    assert rig.meter.polls == 1 and rig.poller.idling
    rig.busy = True
    rig.poller.nudge()
    await rig.until(lambda: rig.meter.polls >= 2)


async def test_fresh_polls_an_idle_meter_now_and_only_when_needed(rig: Rig) -> None:
    await rig.until(lambda: rig.poller.idling)
    rig.meter.energy_wh = 1500.0
    reading = await rig.poller.fresh(0.0)
    assert reading is not None and reading.energy_import_wh == 1500.0
    assert rig.meter.polls == 2
    again = await rig.poller.fresh(60.0)  # the one just taken is young enough
    assert again is reading and rig.meter.polls == 2
    await rig.until(lambda: rig.poller.idling)


async def test_a_failing_idle_meter_is_polled_fast_until_it_answers_again(rig: Rig) -> None:
    await rig.until(lambda: rig.poller.idling)
    rig.meter.silent = True
    assert await rig.poller.fresh(0.0) is None  # the fault is found (here: asked for)
    polls = rig.meter.polls
    await rig.until(lambda: rig.meter.polls >= polls + 3)  # no idle hour between them
    rig.meter.silent = False
    await rig.until(lambda: isinstance(rig.results[-1], MeterReading))
    await rig.until(lambda: rig.poller.idling)  # answering again: back to the idle rate
