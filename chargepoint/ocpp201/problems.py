"""NotifyEvent of the station's faults (N07-style HardWiredNotification, trigger Delta).

The faults the core knows (``FaultRaised`` / ``FaultCleared``, the ones 1.6 reports as a
StatusNotification errorCode) are component variables of the device model:

    fault (1.6 errorCode)                  component                    variable  evse
    welded, contactor (PowerSwitchFailure) PowerContactor               Problem   N
    lock (ConnectorLockFailure)            ConnectorPlugRetentionLock   Problem   N, connector 1
    meter (PowerMeterFailure)              FiscalMetering               Problem   N
    rcd (GroundFailure)                    RCD                          Tripped   N
    pilot (EVCommunicationError)           CPPWMController              Problem   N
    reader (ReaderFailure)                 TokenReader                  Problem   -
    storage (InternalError)                ChargingStation              Problem   -

(a fault of connector 0 has no ``evse``). When one appears or clears, a NotifyEvent carries
an ``eventData`` per changed variable: ``eventId`` increasing (kept in the store across
restarts), trigger Delta, ``actualValue`` "true" / "false" (``cleared`` true with "false"),
``techCode`` the 1.6 error code, ``techInfo`` what the core was told, eventNotificationType
HardWiredNotification, the timestamp of the change.

Registered: every transition is reported, in order, even a fault that appears and clears
within milliseconds (G05.FR.02: the lock that fails, then unlocks): the changes seen while
registered are logged (at most ``MAX_LOG``, the oldest dropped) and the next NotifyEvent
carries them all, an ``eventData`` each ("true" then "false" of one variable in one message).

Offline: the current state is sent, not the history. ``ProblemReports`` keeps in the store
which variables the CSMS was last told are "true"; after every (re)registration it sends the
variables whose state differs from what the CSMS was told (the log is dropped when the link
goes: a fault that appeared and cleared while offline is not reported; one that is still
there is, with the time it appeared; one that cleared while the station was off is reported
cleared after the boot). A NotifyEvent the CSMS answers with a CALLERROR is not sent again
(logged); a timeout is retried after 10 s (with the changes seen meanwhile).

Latched faults (welded) come back from the store at a restart, as they do in the core, and a
``FaultCleared`` of a latched fault counts only from a technician (the core's rule).
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from chargepoint.core.events import FaultCleared, FaultRaised
from chargepoint.core.types import FaultKind
from chargepoint.ocpp201.services import AdapterServices
from chargepoint.ocppj.rpc_errors import CallFailed
from chargepoint.ocppj.timestamps import ClockUnknown, format_utc

LOG = logging.getLogger("chargepoint.ocpp")

EVENT_ID_KEY = "ocpp201.event_id"  # kv: the next eventId
REPORTED_KEY = "ocpp201.problems"  # kv: JSON list of the variables the CSMS knows are "true"
RETRY_S = 10.0
MAX_LOG = 100  # transitions kept while registered and not yet sent

_COMPONENTS: dict[FaultKind, tuple[str, str]] = {
    FaultKind.WELDED: ("PowerContactor", "Problem"),
    FaultKind.CONTACTOR: ("PowerContactor", "Problem"),
    FaultKind.LOCK: ("ConnectorPlugRetentionLock", "Problem"),
    FaultKind.METER: ("FiscalMetering", "Problem"),
    FaultKind.RCD: ("RCD", "Tripped"),
    FaultKind.PILOT: ("CPPWMController", "Problem"),
    FaultKind.READER: ("TokenReader", "Problem"),
    FaultKind.STORAGE: ("ChargingStation", "Problem"),
}
_ON_CONNECTOR = frozenset({"ConnectorPlugRetentionLock"})  # connector-level components


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """A component variable that reports a fault; ``evse`` 0: the station's."""

    component: str
    variable: str
    evse: int

    def wire(self) -> dict[str, Any]:
        """The ``component`` and ``variable`` of an EventDataType."""
        component: dict[str, Any] = {"name": self.component}
        if self.evse:
            component["evse"] = {"id": self.evse}
            if self.component in _ON_CONNECTOR:
                component["evse"]["connectorId"] = 1
        return {"component": component, "variable": {"name": self.variable}}

    def key(self) -> str:
        return f"{self.component}/{self.variable}/{self.evse}"


def problem_of(connector: int, kind: FaultKind) -> Problem:
    component, variable = _COMPONENTS[kind]
    return Problem(component, variable, connector)


@dataclass(frozen=True, slots=True)
class _Change:
    problem: Problem
    active: bool
    at: float  # monotonic, of the change (of the latest one for a difference)
    code: str
    info: str


class ProblemServices(AdapterServices, Protocol):
    """What ``ProblemReports`` uses of the adapter (``Ocpp201Adapter``)."""

    @property
    def offline(self) -> asyncio.Event: ...


class ProblemReports:
    def __init__(self, services: ProblemServices) -> None:
        self._s = services
        self._faults: dict[tuple[int, FaultKind], str] = {}  # active: (connector, kind) -> info
        self._changed_at: dict[Problem, float] = {}
        self._repaired: set[tuple[int, FaultKind]] = set()  # latched, cleared by a technician
        self._reported: set[Problem] | None = None  # what the CSMS knows is "true"
        self._log: list[_Change] = []  # transitions seen while registered, not sent yet
        self._wake = asyncio.Event()
        services.port.observe(self._seen)

    def _seen(self, item: object) -> None:
        if not isinstance(item, FaultRaised | FaultCleared):
            return
        problem = problem_of(item.connector, item.kind)
        was = self.active().get(problem)
        if isinstance(item, FaultRaised):
            self._faults[(item.connector, item.kind)] = item.info
        else:
            if item.kind.latched and not item.technician:
                return  # the core keeps it too
            if item.kind.latched:
                self._repaired.add((item.connector, item.kind))
            self._faults.pop((item.connector, item.kind), None)
        at = self._s.port.now()
        self._changed_at[problem] = at
        now = self.active().get(problem)
        if self._s.registered.is_set() and (was is None) != (now is None):
            code, info = now or ("", "")
            self._log.append(_Change(problem, now is not None, at, code, info))
            del self._log[:-MAX_LOG]
        self._wake.set()

    def active(self) -> dict[Problem, tuple[str, str]]:
        """The variables that are "true" now, with the 1.6 error code and info of a fault."""
        found: dict[Problem, tuple[str, str]] = {}
        for (connector, kind), info in sorted(self._faults.items(),
                                              key=lambda f: (f[0][0], f[0][1].value)):
            found.setdefault(problem_of(connector, kind), (kind.error_code, info))
        return found

    def pending(self) -> list[_Change]:
        """What the CSMS has not been told yet, in order: the logged transitions that change
        what it was told, then what still differs from the current state (after a
        registration: all of it). Empty before ``run`` read the store."""
        if self._reported is None:
            return []
        told = set(self._reported)
        changes = []
        for change in self._log:
            if change.active == (change.problem in told):
                continue  # no news (e.g. a second fault of the same variable)
            changes.append(change)
            if change.active:
                told.add(change.problem)
            else:
                told.discard(change.problem)
        now = self.active()
        differ = [_Change(p, True, self._changed_at.get(p, self._s.port.now()), code, info)
                  for p, (code, info) in now.items() if p not in told]
        differ += [_Change(p, False, self._changed_at.get(p, self._s.port.now()), "", "")
                   for p in told if p not in now]
        return changes + sorted(differ, key=lambda c: c.problem)

    async def run(self) -> None:
        """The sender (a supervised task): the store first, then every change (``pending``)."""
        await self._load()
        while True:
            await self._s.registered.wait()
            self._wake.clear()
            logged = len(self._log)
            changes = self.pending()
            if not changes:
                del self._log[:logged]  # nothing new in them
                await self._wait(None)
                continue
            try:
                await self._send(changes)
            except ConnectionError:  # the state is sent after the next registration
                self._log.clear()
                await self._wait(RETRY_S)
                continue
            except TimeoutError as exc:
                LOG.warning("NotifyEvent not confirmed (%s): retry in %.0f s", exc, RETRY_S)
                await self._wait(RETRY_S)
                continue
            except CallFailed as exc:
                LOG.error("NotifyEvent refused by the CSMS (%s): not sent again", exc)
                await self._told(changes)
            del self._log[:logged]

    async def _wait(self, timeout: float | None) -> None:
        """Until a fault changes or the link drops (or ``timeout``). A drop ends the log:
        the state is what is sent after the next registration."""
        lost = asyncio.ensure_future(self._s.offline.wait())
        woken = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({lost, woken}, timeout=timeout,
                               return_when=asyncio.FIRST_COMPLETED)
            if lost.done():
                self._log.clear()
        finally:
            for task in (lost, woken):
                task.cancel()

    async def _load(self) -> None:
        store = self._s.port.store

        def read() -> tuple[set[Problem], list[tuple[int, str]]]:
            raw = store.kv_get(REPORTED_KEY)
            told = {Problem(str(c), str(v), int(e)) for c, v, e in json.loads(raw or "[]")}
            return told, store.latched_faults()

        told, latched = await asyncio.to_thread(read)
        known = {k.value: k for k in FaultKind}
        for connector, name in latched:
            kind = known.get(name)
            if kind is not None and kind.latched and (connector, kind) not in self._repaired:
                self._faults.setdefault((connector, kind), "restored")
        self._reported = told

    async def _send(self, changes: list[_Change]) -> None:
        store = self._s.port.store

        def take_ids() -> int:
            first = int(store.kv_get(EVENT_ID_KEY) or 1)
            store.kv_set(EVENT_ID_KEY, str(first + len(changes)))
            return first

        first = await asyncio.to_thread(take_ids)
        data = []
        for event_id, change in enumerate(changes, first):
            item: dict[str, Any] = {
                "eventId": event_id, "timestamp": self._stamp(change.at), "trigger": "Delta",
                "actualValue": "true" if change.active else "false",
                "eventNotificationType": "HardWiredNotification", **change.problem.wire()}
            if change.active:
                if change.code:
                    item["techCode"] = change.code[:50]
                if change.info:
                    item["techInfo"] = change.info[:500]
            else:
                item["cleared"] = True
            data.append(item)
        await self._s.request("NotifyEvent", {"generatedAt": self._stamp(None), "seqNo": 0,
                                              "tbc": False, "eventData": data})
        await self._told(changes)

    async def _told(self, changes: list[_Change]) -> None:
        """The CSMS knows ``changes`` now: kept in the store."""
        assert self._reported is not None
        for change in changes:
            if change.active:
                self._reported.add(change.problem)
            else:
                self._reported.discard(change.problem)
        value = json.dumps(sorted([p.component, p.variable, p.evse] for p in self._reported))
        await asyncio.to_thread(self._s.port.store.kv_set, REPORTED_KEY, value)

    def _stamp(self, at: float | None) -> str:
        try:
            return self._s.clock.resolve(self._s.clock.stamp(at))
        except (ClockUnknown, ValueError):
            return format_utc(datetime.now(UTC))
