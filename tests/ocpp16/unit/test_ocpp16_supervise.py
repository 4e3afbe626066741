"""chargepoint.ocppj.supervise: a failing task starts again; its failures do not flood the log."""

from __future__ import annotations

import asyncio
import logging

import pytest

from chargepoint.ocppj.supervise import MAX_CONSECUTIVE, FailureLog, Supervisor


def test_failures_are_logged_at_powers_of_two_with_one_traceback(
        caplog: pytest.LogCaptureFixture) -> None:
    log = FailureLog(logging.getLogger("test.supervise"))
    for _ in range(1000):
        log.failed("handler", ValueError("bad input"))
    records = [r for r in caplog.records if r.name == "test.supervise"]
    assert len(records) == 10  # 1, 2, 4 ... 512
    assert records[0].exc_info is not None
    assert all(r.exc_info is None for r in records[1:])
    assert "1000" not in records[-1].getMessage() and "512" in records[-1].getMessage()
    assert log.count("handler") == 1000


async def test_a_failing_task_starts_again_and_counts_as_unhealthy_when_it_keeps_failing(
        caplog: pytest.LogCaptureFixture) -> None:
    supervisor = Supervisor(FailureLog(logging.getLogger("test.supervise")),
                            backoff_min_s=0.001)
    runs = 0
    again = asyncio.Event()

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        if runs == 3:
            again.set()
            await asyncio.Event().wait()  # the third run keeps going
        raise RuntimeError("poison")

    supervisor.start("flaky", flaky)
    await asyncio.wait_for(again.wait(), 5)
    assert supervisor.healthy()  # two failures in a row: not yet
    await supervisor.close()
    assert not supervisor.healthy()  # gone

    always = Supervisor(FailureLog(logging.getLogger("test.supervise")), backoff_min_s=0.001)
    count = 0
    enough = asyncio.Event()

    async def broken() -> None:
        nonlocal count
        count += 1
        if count > MAX_CONSECUTIVE:
            enough.set()
        raise RuntimeError("always")

    always.start("broken", broken)
    await asyncio.wait_for(enough.wait(), 5)
    assert always.unhealthy() == ["broken"]
    await always.close()
