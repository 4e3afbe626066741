"""The storage fault: the store's write health as a station-wide fault of the core.

``StorageFault(store, submit, probe_interval_s=5.0)``; ``await run()`` as a task (cancel it to
stop). While durable writes fail (disk full, I/O error, read-only or corrupt file), the
station has ``FaultKind.STORAGE`` on connector 0: OCPP 1.6 error code InternalError, Faulted,
every session stops and none starts, because a session the store cannot record would be
charged for nothing (or not at all). The info is sqlite's reason. Every ``probe_interval_s``
it tries ``store.probe_write()`` in a worker thread; when that succeeds the fault clears.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Protocol

from chargepoint.core.events import Event, FaultCleared, FaultRaised
from chargepoint.core.types import FaultKind
from chargepoint.store.errors import StoreError
from chargepoint.store.health import WriteHealth

log = logging.getLogger("chargepoint.store")

INFO_PREFIX = "store write failed: "


class ProbedStore(Protocol):
    """The part of ``chargepoint.store.db.Store`` the storage fault uses."""

    @property
    def health(self) -> WriteHealth: ...

    def probe_write(self) -> None: ...


class StorageFault:
    def __init__(self, store: ProbedStore, submit: Callable[[Event], object], *,
                 probe_interval_s: float = 5.0) -> None:
        self._store = store
        self._submit = submit
        self.probe_interval_s = probe_interval_s  # tests shorten it
        self.active = False

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        changed = asyncio.Event()

        def heard(_: str | None) -> None:  # in the writing thread
            loop.call_soon_threadsafe(changed.set)

        stop = self._store.health.listen(heard)
        try:
            while True:
                changed.clear()
                self._report(self._store.health.failure)
                if not self.active:
                    await changed.wait()
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), self.probe_interval_s)
                    continue
                with contextlib.suppress(StoreError):  # still failing: stays Faulted
                    await asyncio.to_thread(self._store.probe_write)
        finally:
            stop()

    def _report(self, failure: str | None) -> None:
        if failure is not None and not self.active:
            self.active = True
            self._submit(FaultRaised(0, FaultKind.STORAGE, (INFO_PREFIX + failure)[:50]))
        elif failure is None and self.active:
            self.active = False
            self._submit(FaultCleared(0, FaultKind.STORAGE))
