"""A real adapter run against the bench CSMS: the drain of the offline-replay figures.

``seeded(path, seed, messages)`` opens the store at ``path`` and queues ``messages`` (and
the seconds it took). ``drain(adapter, csms, store, ...)`` runs the adapter until the CSMS
received ``expected`` ``action`` CALLs and the store's queue is empty (BootNotification ->
empty queue: ``drained_s``), then measures ``pings`` CALL round trips, closes the adapter,
queues ``extra`` more messages (``reseed``) and times ``store_work`` on them.
``report(fig, ...)`` adds the rows and details both replay figures share.
``shutdown(adapter, task, csms)`` ends a run.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from bench.csms import Csms
from bench.report import Figure
from chargepoint.store.db import Store


class Adapter(Protocol):
    async def run(self) -> None: ...
    async def ping(self) -> float: ...
    async def close(self) -> None: ...


@dataclasses.dataclass(frozen=True, slots=True)
class Drain:
    drained_s: float
    rtts: list[float]
    extra: int  # messages queued again for ``store_work``
    store_s: float  # seconds per message of ``store_work``


async def seeded(path: Path, seed: Callable[[Store, int], None],
                 messages: int) -> tuple[Store, float]:
    store = Store.open(path)
    t0 = time.perf_counter()
    await asyncio.to_thread(seed, store, messages)
    seed_s = time.perf_counter() - t0
    assert store.queue_length() == messages
    return store, seed_s


async def until(predicate: Callable[[], bool], timeout: float) -> None:
    async def wait() -> None:
        while not predicate():
            await asyncio.sleep(0.005)
    await asyncio.wait_for(wait(), timeout)


async def shutdown(adapter: Adapter, task: asyncio.Task[Any], csms: Csms) -> None:
    await adapter.close()
    task.cancel()
    with contextlib.suppress(BaseException):
        await task
    await csms.stop()


async def drain(adapter: Adapter, csms: Csms, store: Store, *, station: str, action: str,
                expected: int, messages: int, pings: int, reseed: Callable[[int], None],
                store_work: Callable[[Store], float]) -> Drain:
    """See the module docstring; stops the adapter and ``csms`` in every case."""
    task = asyncio.create_task(adapter.run())
    try:
        booted = await csms.wait_booted(station, timeout=30)
        await csms.wait_received(action, expected, timeout=600)
        await until(lambda: store.queue_length() == 0, timeout=60)
        drained_s = time.monotonic() - booted
        rtts = [await adapter.ping() for _ in range(pings)]
        await adapter.close()
        extra = min(messages, 2000)
        await asyncio.to_thread(reseed, extra)
        store_s = await asyncio.to_thread(store_work, store)
    finally:
        await shutdown(adapter, task, csms)
    return Drain(drained_s, rtts, extra, store_s)


def report(fig: Figure, d: Drain, *, messages: int, confirmed: int, csms: Csms,
           seed_s: float) -> None:
    rtt = statistics.median(d.rtts)
    fig.row("drain time", "s", d.drained_s, messages * rtt, f"{messages} x median RTT")
    fig.row("per message", "ms", d.drained_s / messages * 1000, rtt * 1000, "median CALL RTT")
    fig.details = {
        "messages": messages,
        "confirmed": confirmed,
        "csms_received": dict(csms.received),
        "rtt_ms": {"median": round(rtt * 1000, 3), "min": round(min(d.rtts) * 1000, 3),
                   "count": len(d.rtts)},
        "seed_s": round(seed_s, 3),
        "throughput_msg_per_s": round(messages / d.drained_s, 1),
        "store_only_ms_per_message": round(d.store_s * 1000, 3),
        "store_only_note": f"the sender's store calls alone on {d.extra} more messages, "
                           "one thread, no network, no asyncio.to_thread hops",
    }
