"""The trial boot of a new release: health check, automatic rollback, late reporting.

Rules:
1. Before ``current`` is switched, the manager persists (store kv ``firmware.pending``) the
   new version, the previous slot, the deadline (wall clock, epoch s) and the request.
2. At start-up ``BootGuard.boot()`` reads it. Running the pending version with the deadline
   not passed: a timer is armed. Deadline passed (e.g. the new release crash-loops): roll back
   now. Running something else: the switch never took effect -> reported as failed.
3. BootNotification Accepted (``registered()``) before the deadline: the release is good ->
   clear the state, report Installed.
4. Timer fires first: switch ``current`` back to the previous slot, persist phase
   ``rolled_back`` and restart. The previous release, once registered, reports
   InstallationFailed (OCPP 1.6 FirmwareStatus has no "rolled back") and clears the state.
OS updaters (``kind = "os"``) follow the same steps with the installer's ``mark_good`` /
``rollback`` commands instead of the symlink.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from chargepoint.firmware.host import FirmwareHost
from chargepoint.firmware.installer import Installer, OsUpdaterInstaller
from chargepoint.firmware.slots import Slots
from chargepoint.store.api import StoreAPI

LOG = logging.getLogger("chargepoint.firmware")
KV_PENDING = "firmware.pending"
TRIAL = "trial"
ROLLED_BACK = "rolled_back"


@dataclass(frozen=True, slots=True)
class Pending:
    version: str
    previous: str | None  # previous slot path (None: nothing to go back to)
    deadline: float  # epoch seconds
    request_id: int | None  # SignedUpdateFirmware requestId (None: UpdateFirmware)
    kind: str = "slot"  # "slot" or "os"
    phase: str = TRIAL
    boot_attempts: int = 0  # counted by ``guard.py`` (ExecStartPre)


def load_pending(store: StoreAPI) -> Pending | None:
    raw = store.kv_get(KV_PENDING)
    if not raw:
        return None
    try:
        data: dict[str, Any] = json.loads(raw)
        return Pending(**data)
    except (ValueError, TypeError) as exc:
        LOG.error("unreadable %s (%s): ignored", KV_PENDING, exc)
        return None


def save_pending(store: StoreAPI, pending: Pending | None) -> None:
    store.kv_set(KV_PENDING, None if pending is None else json.dumps(asdict(pending)))


def status_action(request_id: int | None) -> tuple[str, dict[str, object]]:
    """The notification name and base payload for a request (signed or not)."""
    if request_id is None:
        return "FirmwareStatusNotification", {}
    return "SignedFirmwareStatusNotification", {"requestId": request_id}


class BootGuard:
    def __init__(self, store: StoreAPI, host: FirmwareHost, slots: Slots, installer: Installer,
                 running_version: str, *, wall: Callable[[], float] = time.time) -> None:
        self._store = store
        self._host = host
        self._slots = slots
        self._installer = installer
        self._running = running_version
        self._wall = wall
        self._timer: asyncio.Task[None] | None = None
        self.rolled_back = asyncio.Event()  # set after a rollback was performed (tests)

    def _report(self, pending: Pending, status: str) -> None:
        action, payload = status_action(pending.request_id)
        self._host.report(action, {**payload, "status": status})

    def in_trial(self) -> bool:
        """Blocking (reads the store): call from a worker thread."""
        pending = load_pending(self._store)
        return pending is not None and pending.phase == TRIAL

    async def boot(self) -> None:
        """Call once at start-up, before the CSMS connection (see rule 2)."""
        pending = await asyncio.to_thread(load_pending, self._store)
        if pending is None or pending.phase != TRIAL:
            return
        if pending.kind == "slot" and pending.version != self._running:
            LOG.error("release %s was to be tried but %s runs: update failed",
                      pending.version, self._running)
            await asyncio.to_thread(save_pending, self._store,
                                    Pending(**{**asdict(pending), "phase": ROLLED_BACK}))
            return
        remaining = pending.deadline - self._wall()
        LOG.warning("trial boot of %s: BootNotification must be Accepted within %.0f s",
                    pending.version, max(0.0, remaining))
        if remaining <= 0:
            await self.rollback()
        else:
            self._timer = asyncio.ensure_future(self._expire(remaining))

    async def _expire(self, delay: float) -> None:
        await asyncio.sleep(delay)
        await self.rollback()

    async def registered(self) -> None:
        """BootNotification was Accepted (rules 3 and 4, second half)."""
        pending = await asyncio.to_thread(load_pending, self._store)
        if pending is None:
            return
        if pending.phase == TRIAL and (pending.kind == "os" or pending.version == self._running):
            if self._timer is not None:
                self._timer.cancel()
            if isinstance(self._installer, OsUpdaterInstaller):
                await self._installer.run_hook(self._installer.mark_good)
            await asyncio.to_thread(save_pending, self._store, None)
            LOG.warning("release %s is healthy: Installed", pending.version)
            if pending.kind == "slot":
                keep = {Path(pending.previous)} if pending.previous else set()
                removed = await asyncio.to_thread(self._slots.prune, keep)
                if removed:
                    LOG.info("old releases removed: %s", ", ".join(removed))
            self._report(pending, "Installed")
            self._host.security_event("FirmwareUpdated", f"release {pending.version} installed")
        elif pending.phase == ROLLED_BACK:
            await asyncio.to_thread(save_pending, self._store, None)
            LOG.error("release %s was rolled back: InstallationFailed", pending.version)
            self._report(pending, "InstallationFailed")

    async def rollback(self) -> None:
        """Give up on the trial release: back to the previous one and restart (rule 4)."""
        pending = await asyncio.to_thread(load_pending, self._store)
        if pending is None or pending.phase != TRIAL:
            return
        LOG.error("release %s did not reach BootNotification Accepted in time: rolling back",
                  pending.version)
        if pending.kind == "os":
            if isinstance(self._installer, OsUpdaterInstaller):
                await self._installer.run_hook(self._installer.rollback)
        elif pending.previous is not None and Path(pending.previous).is_dir():
            self._slots.switch(Path(pending.previous))
        else:
            # Nothing to go back to: keep running, say so now.
            await asyncio.to_thread(save_pending, self._store, None)
            self._report(pending, "InstallationFailed")
            return
        await asyncio.to_thread(save_pending, self._store,
                                Pending(**{**asdict(pending), "phase": ROLLED_BACK}))
        self.rolled_back.set()
        await self._host.restart()

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(BaseException):
                await self._timer
