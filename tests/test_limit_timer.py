"""``chargepoint.limit_timer``: the limits reach the core at once and at each period boundary
(on a wall clock that runs with the event loop), and nothing before ``run()``."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from chargepoint.core.events import CurrentLimitChanged, Event
from chargepoint.core.schedule import Circuit, Schedule
from chargepoint.limit_timer import LimitTimer
from tests.core.schedule_support import profile

BASE = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


async def test_limits_change_at_the_boundary_and_the_timer_then_rests() -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    seen: list[Event] = []
    changed = asyncio.Event()

    def submit(event: Event) -> None:
        seen.append(event)
        changed.set()

    def wall_now() -> datetime:
        return BASE + timedelta(seconds=loop.time() - started)

    timer = LimitTimer(submit, wall_now, Schedule({1: Circuit(32.0), 2: Circuit(16.0)}))
    step = profile(periods=((0, 10.0), (1, 20.0)), start=BASE)  # 20 A from BASE + 1 s
    timer.update(schedule=Schedule({1: Circuit(32.0), 2: Circuit(16.0)}, (step,)))
    assert seen == []  # the core may not be up before run()
    task = asyncio.create_task(timer.run())
    try:
        async with asyncio.timeout(10):
            while CurrentLimitChanged(1, 20.0) not in seen:
                changed.clear()
                await changed.wait()
        assert seen == [CurrentLimitChanged(1, 10.0), CurrentLimitChanged(2, 16.0),
                        CurrentLimitChanged(1, 20.0)]  # connector 2: 16 A hardware
        assert wall_now() >= BASE + timedelta(seconds=1)  # not early
        assert timer.wake_at is None  # nothing left to change: no wake-up at all
        timer.update(transactions={})  # nothing changed: nothing sent again
        assert len(seen) == 3
    finally:
        task.cancel()
