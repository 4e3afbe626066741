"""The runtime's durable facts: what is written, when, and by whom (one writer per fact).

- **availability** (connector 0..N, survives a reboot: OCTT 034): the one writer. Written when
  the core's view changes (a ChangeAvailability applied, or answered Scheduled: the target is
  kept, so that a reboot before the session ends still comes back Inoperative).
- **latched faults**: set when the relay supervision raises one, cleared by a technician.
- **the last meter reading** of each connector (the meterStop of a transaction a power cut
  stops): while charging at most every ``METER_SAVE_CHARGING_S``, idle every
  ``METER_SAVE_IDLE_S`` (each write is an fsync on the SD card), only when it changed. A save
  that is due writes every connector's newer reading in the same commit (2 connectors
  charging: one fsync a second, not two); a charging connector's stored reading is then at
  most one poll behind its newest, as with a save of its own every second.

Every write goes through one background task, in order (``run()``), so that the control loop
never waits on sqlite; ``flush()`` waits until what was handed over is written.
"""

from __future__ import annotations

import asyncio
import logging
import math
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
        self._meter_unsaved: dict[int, tuple[float, str]] = {}  # connector -> newer (Wh, stamp)
        self._meter_commit_at = -math.inf  # monotonic time of the last meter readings' commit

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
        """A good meter reading at monotonic ``at``; written when the policy says so, with
        every other connector's newer reading not written yet (one commit for all)."""
        if not math.isfinite(energy_wh):
            return  # no register value: the store would refuse it (and the batch with it)
        last_at, last_wh = self._meter_saved.get(connector, (-METER_SAVE_IDLE_S, -1.0))
        if energy_wh == last_wh:
            self._meter_unsaved.pop(connector, None)
            return
        self._meter_unsaved[connector] = (energy_wh, utc_stamp())
        # Charging: the last meter commit of ANY connector counts (it carried this one's
        # newest reading too), so that connectors polled out of phase share one commit.
        due = (at - self._meter_commit_at >= METER_SAVE_CHARGING_S if charging
               else at - last_at >= METER_SAVE_IDLE_S)
        if not due:
            return  # kept: written by the next save due (its own, or another connector's)
        rows = [(c, wh, stamp) for c, (wh, stamp) in sorted(self._meter_unsaved.items())]
        for c, wh, _ in rows:
            self._meter_saved[c] = (at, wh)
        self._meter_unsaved.clear()
        self._meter_commit_at = at
        self._write(lambda: self._store.save_meter_readings(rows))

    def _write(self, job: Callable[[], None]) -> None:
        self._jobs.put_nowait(job)

    async def run(self) -> None:
        """The writer task: the jobs handed over, in order; those waiting together are done
        in one worker-thread hop (each still its own commit, a failing one logged alone)."""
        while True:
            jobs = [await self._jobs.get()]
            while not self._jobs.empty():
                jobs.append(self._jobs.get_nowait())
            try:
                await asyncio.to_thread(_run_all, jobs)
            finally:
                for _ in jobs:
                    self._jobs.task_done()

    async def flush(self) -> None:
        """Until every write handed over so far is done (or failed and was logged)."""
        await self._jobs.join()


def _run_all(jobs: list[Callable[[], None]]) -> None:
    for job in jobs:
        try:
            job()
        except Exception:
            log.exception("durable write failed")
