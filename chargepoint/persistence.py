"""The runtime's durable facts: what is written, when, and by whom (one writer per fact).

- **availability** (connector 0..N, survives a reboot: OCTT 034): the one writer. Written when
  the core's view changes (a ChangeAvailability applied, or answered Scheduled: the target is
  kept, so that a reboot before the session ends still comes back Inoperative).
- **latched faults**: set when the relay supervision raises one, cleared by a technician.
- **the last meter reading** of each connector (the meterStop of a transaction a power cut
  stops): while charging at most every ``METER_SAVE_CHARGING_S``, idle every
  ``METER_SAVE_IDLE_S`` (each write is an fsync on the SD card), only when it changed.

Every write goes through one background task, in order (``run()``), so that the control loop
never waits on sqlite; ``flush()`` waits until what was handed over is written.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from functools import partial

from chargepoint.core.types import FaultKind
from chargepoint.core.view import StationView
from chargepoint.store.api import StoreAPI
from chargepoint.wallclock import utc_stamp

log = logging.getLogger("chargepoint.runtime")

METER_SAVE_CHARGING_S = 1.0
METER_SAVE_IDLE_S = 60.0


class Persistence:
    def __init__(self, store: StoreAPI) -> None:
        self._store = store
        self._jobs: asyncio.Queue[Callable[[], None]] = asyncio.Queue()
        self._operative: dict[int, bool] = {}
        self._meter_saved: dict[int, tuple[float, float]] = {}  # connector -> (at, Wh)

    async def load(self) -> None:
        """Read what is persisted already (before the first ``availability``)."""
        self._operative = dict(await asyncio.to_thread(self._store.availability))

    def availability(self, view: StationView) -> None:
        """Persist each connector's availability (the target while Scheduled) on change."""
        now_operative = {0: view.operative, **{
            c.id: c.operative if c.scheduled_operative is None else c.scheduled_operative
            for c in view.connectors}}
        for connector, operative in now_operative.items():
            if self._operative.get(connector, True) != operative:
                self._write(partial(self._store.set_availability, connector, operative))
        self._operative = now_operative

    def latched_fault(self, connector: int, kind: FaultKind, present: bool) -> None:
        self._write(partial(self._store.set_latched_fault, connector, kind.value, present))

    def meter_reading(self, connector: int, energy_wh: float, at: float,
                      charging: bool) -> None:
        """A good meter reading at monotonic ``at``; written when the policy says so."""
        last_at, last_wh = self._meter_saved.get(connector, (-METER_SAVE_IDLE_S, -1.0))
        every = METER_SAVE_CHARGING_S if charging else METER_SAVE_IDLE_S
        if energy_wh != last_wh and at - last_at >= every:
            self._meter_saved[connector] = (at, energy_wh)
            stamp = utc_stamp()
            self._write(lambda: self._store.save_meter_reading(connector, energy_wh, stamp))

    def _write(self, job: Callable[[], None]) -> None:
        self._jobs.put_nowait(job)

    async def run(self) -> None:
        """The writer task: one job at a time, in the order handed over."""
        while True:
            job = await self._jobs.get()
            try:
                await asyncio.to_thread(job)
            except Exception:
                log.exception("durable write failed")
            finally:
                self._jobs.task_done()

    async def flush(self) -> None:
        """Until every write handed over so far is done (or failed and was logged)."""
        await self._jobs.join()
