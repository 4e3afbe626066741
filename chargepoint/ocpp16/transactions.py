"""Transactions for the OCPP 1.6 adapter: persisting, preparing, confirming; authorization.

- ``perform(action)`` (StartTransaction / StopTransaction from the core) reserves the action's
  place in the sender's line and hands it to ``run()``, the persist worker, which commits it
  with its message (``store.begin_transaction`` / ``stop_transaction``) in the order given.
  While the store refuses writes (``StoreWriteError``: disk full, I/O error) the worker keeps
  the job and retries it every ``persist_retry_s``, later jobs waiting behind it: nothing is
  dropped, and the storage fault (``chargepoint.storage_fault``) stops the charging meanwhile.
- ``prepare(msg)``: right before sending, a queued StopTransaction / MeterValues gets the
  CSMS's transactionId of its transaction (never -1 or a placeholder on the wire) and every
  timestamp placeholder is resolved.
- ``confirmed(msg, result)``: authorization cache, StartTransaction.conf's CSMS id and the
  message's removal in one store transaction (``store.confirm``; one worker-thread call),
  ``TransactionConfirmed`` to the core while the transaction is open.
- ``authorize(action)``: answers ``RequestAuthorization`` with ``AuthorizationResult``.
- ``recover()``: at start, stops transactions a crash left open (reason PowerLoss, 032_2).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from chargepoint.core.actions import (
    ReportStatus,
    RequestAuthorization,
    StartTransaction,
    StopTransaction,
)
from chargepoint.core.events import AuthorizationResult, TransactionConfirmed
from chargepoint.core.types import AuthStatus, ConnectorStatus
from chargepoint.ocpp16 import conversions
from chargepoint.ocpp16.authorization import Authorizer, DecisionKind, Recorded
from chargepoint.ocpp16.client import CallFailed
from chargepoint.ocpp16.conversions import auth_status
from chargepoint.ocppj.timestamps import Clock, ClockUnknown
from chargepoint.ports import StationPort
from chargepoint.store.api import MessageKind, QueuedMessage, StoreAPI, TransactionRecord
from chargepoint.store.errors import StoreWriteError

LOG = logging.getLogger("chargepoint.ocpp")

_WITH_TX_ID = ("StopTransaction", "MeterValues")
_CSMS_IDS_KEPT = 64  # CSMS ids remembered for sending (transactions with queued messages)
_SESSIONS_KEPT = 64  # this run's transactions whose StartTransaction.conf may still come


class MeterSessions(Protocol):
    """The per-transaction meter sampling (``sampler.Sampler``)."""

    def open(self, connector: int) -> asyncio.Future[int]: ...

    def close(self, connector: int, at: float) -> list[dict[str, Any]]: ...


class SendLine(Protocol):
    """The sender's line of durable messages (``outbox.Outbox``)."""

    def ticket(self) -> int: ...

    def persisted(self, ticket: int, action: str, key: int | None) -> None: ...

    def stalled(self, ticket: int) -> None: ...


class TransactionServices(Protocol):
    """What ``Transactions`` uses of the adapter (``Ocpp16Adapter`` provides it)."""

    @property
    def port(self) -> StationPort: ...
    @property
    def store(self) -> StoreAPI: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def authorizer(self) -> Authorizer: ...
    @property
    def sampler(self) -> MeterSessions: ...
    @property
    def outbox(self) -> SendLine: ...
    @property
    def registered(self) -> asyncio.Event: ...

    async def request(self, action: str, payload: dict[str, Any]) -> dict[str, Any]: ...

    def post_status(self, action: ReportStatus) -> None: ...


class Transactions:
    def __init__(self, services: TransactionServices) -> None:
        self._services = services
        self.statuses: dict[int, ReportStatus] = {}  # latest status per connector
        self._queue: asyncio.Queue[tuple[int, str, Callable[[], Awaitable[int | None]]]] = (
            asyncio.Queue())
        self.persist_retry_s = 2.0
        self._waiting: list[int] = []  # tickets of jobs not yet taken by run()
        self._stalled = False  # the store refuses writes: the jobs wait, statuses must not
        # CSMS ids of transactions whose StartTransaction.conf this run recorded (the store
        # holds them too): their Stop / MeterValues need no store read before sending.
        self._csms_ids: dict[int, str] = {}
        # The core's sessions per connector, counted as it performs them (before any commit):
        # a StartTransaction.conf that arrives after the core stopped its session, but before
        # that stop is committed, must not reach the core (an Invalid could stop the next one).
        self._begun: dict[int, int] = {}  # connector -> sessions the core started
        self._ended: dict[int, int] = {}  # connector -> sessions the core stopped
        self._session_of: dict[int, tuple[int, int]] = {}  # local id -> (connector, number)

    # -- persisting
    def perform(self, action: StartTransaction | StopTransaction) -> None:
        """Take the core's action now; it is committed by ``run()`` in order."""
        connector = action.connector
        if isinstance(action, StartTransaction):
            number = self._begun[connector] = self._begun.get(connector, 0) + 1
            started = self._services.sampler.open(connector)
            self._put("StartTransaction", lambda: self._begin(action, started, number))
        else:
            self._ended[connector] = self._begun.get(connector, 0)
            data = self._services.sampler.close(connector, action.at)
            self._put("StopTransaction", lambda: self._stop(action, data))

    def enqueue_meter_values(self, local_id: int, payload: dict[str, Any]) -> None:
        """Queue a transaction's MeterValues.req durably (in line with Start/Stop)."""
        async def persist() -> int:
            return await asyncio.to_thread(self._services.store.enqueue,
                                           MessageKind.TRANSACTION_UPDATE, payload, local_id)
        self._put("MeterValues", persist)

    def _put(self, action: str, job: Callable[[], Awaitable[int | None]]) -> None:
        ticket = self._services.outbox.ticket()
        self._waiting.append(ticket)
        if self._stalled:
            self._services.outbox.stalled(ticket)
        self._queue.put_nowait((ticket, action, job))

    async def run(self) -> None:
        """The persist worker: commits queued jobs one by one, in order."""
        while True:
            ticket, action, job = await self._queue.get()
            self._waiting.remove(ticket)
            key: int | None = None
            try:
                key = await self._commit(ticket, action, job)
            except Exception:
                LOG.exception("could not persist %s", action)
            finally:
                self._services.outbox.persisted(ticket, action, key)

    async def _commit(self, ticket: int, action: str,
                      job: Callable[[], Awaitable[int | None]]) -> int | None:
        """Run ``job``; while the store refuses writes, run it again every persist_retry_s."""
        failed = False
        while True:
            try:
                key = await job()
            except StoreWriteError as exc:
                if not failed:
                    LOG.error("could not persist %s (%s): kept, retrying every %.0f s",
                              action, exc, self.persist_retry_s)
                    self._stalled = True
                    for waiting in (ticket, *self._waiting):  # and what queues up behind it
                        self._services.outbox.stalled(waiting)
                failed = True
                await asyncio.sleep(self.persist_retry_s)
                continue
            if failed:
                LOG.warning("%s persisted after the store recovered", action)
                self._stalled = False
            return key

    async def _begin(self, action: StartTransaction, started: asyncio.Future[int],
                     number: int) -> int:
        store = self._services.store
        payload: dict[str, Any] = {"connectorId": action.connector, "idTag": action.id_tag,
                                   "meterStart": round(action.meter_start_wh),
                                   "timestamp": self._services.clock.stamp(action.at)}
        if action.reservation_id is not None:
            payload["reservationId"] = action.reservation_id
        stale = await asyncio.to_thread(store.open_transaction_on, action.connector)
        if stale is not None:
            # The core starts a session only on a free connector: a record still open here is
            # stale (e.g. a lost stop) and must not block the new session.
            LOG.error("closing stale transaction %d on connector %d", stale.local_id,
                      stale.connector)
            await self._close(stale, action.meter_start_wh, "Other")
        try:
            local_id = await asyncio.to_thread(
                store.begin_transaction, action.connector, action.id_tag,
                action.meter_start_wh, payload["timestamp"], action.reservation_id, payload)
        except StoreWriteError:
            raise  # retried by run(): the sampler keeps waiting for the local id
        except BaseException as exc:
            if not started.done():
                started.set_exception(exc)
            raise
        self._session_of[local_id] = (action.connector, number)
        if len(self._session_of) > _SESSIONS_KEPT:
            del self._session_of[next(iter(self._session_of))]  # the oldest
        # A session that already stopped cancelled its sampling task, and with it this future
        # (its waiter): the transaction is stored all the same, nobody waits for the id.
        if not started.done():
            started.set_result(local_id)
        return local_id

    async def _close(self, record: TransactionRecord, meter_stop_wh: float,
                     reason: str) -> None:
        stamp = self._services.clock.stamp()
        payload = {"meterStop": round(meter_stop_wh), "timestamp": stamp, "reason": reason}
        await asyncio.to_thread(self._services.store.stop_transaction, record.local_id,
                                meter_stop_wh, stamp, reason, None, payload)

    async def _stop(self, action: StopTransaction, data: list[dict[str, Any]]) -> int | None:
        store = self._services.store
        record = await asyncio.to_thread(store.open_transaction_on, action.connector)
        if record is None:
            LOG.error("StopTransaction on connector %d without an open transaction",
                      action.connector)
            return None
        payload: dict[str, Any] = {"meterStop": round(action.meter_stop_wh),
                                   "timestamp": self._services.clock.stamp(action.at),
                                   "reason": conversions.stop_reason(action.reason)}
        if action.id_tag:
            payload["idTag"] = action.id_tag
        if data:
            payload["transactionData"] = data
        await asyncio.to_thread(store.stop_transaction, record.local_id, action.meter_stop_wh,
                                payload["timestamp"], action.reason.value, action.id_tag,
                                payload)
        return record.local_id

    async def recover(self) -> list[TransactionRecord]:
        """Stop transactions left open by a crash (needs ``Store.recover_after_crash``)."""
        recover = getattr(self._services.store, "recover_after_crash", None)
        if recover is None:
            return []

        def build(record: TransactionRecord) -> dict[str, Any]:
            return {"meterStop": round(record.meter_stop_wh or record.meter_start_wh),
                    "timestamp": record.stopped_at, "reason": record.stop_reason}

        stopped: list[TransactionRecord] = await asyncio.to_thread(
            recover, self._services.clock.stamp(), build)
        for record in stopped:
            LOG.warning("transaction %d on connector %d was left open: stopped (PowerLoss)",
                        record.local_id, record.connector)
        return stopped

    # -- sending
    async def prepare(self, msg: QueuedMessage) -> dict[str, Any] | None:
        payload = dict(msg.payload)
        if msg.action in _WITH_TX_ID and msg.tx_local_id is not None:
            csms_id = self._csms_ids.get(msg.tx_local_id)
            if csms_id is None:  # not confirmed in this run: the store knows
                record = await asyncio.to_thread(self._services.store.transaction,
                                                 msg.tx_local_id)
                if record is None or record.csms_id is None:
                    return None  # its StartTransaction was discarded: no valid id exists
                csms_id = record.csms_id
            payload["transactionId"] = int(csms_id)  # 1.6: an integer on the wire
        try:
            resolved: dict[str, Any] = self._services.clock.resolve_payload(payload)
        except ClockUnknown as exc:
            raise TimeoutError("wall clock not known yet") from exc
        return resolved

    async def confirmed(self, msg: QueuedMessage, result: dict[str, Any]) -> None:
        """Apply the CSMS's answer and remove ``msg`` from the queue: the idTagInfo's cache
        entry, the CSMS id and the removal in one store transaction (``store.confirm``, one
        commit), made in ONE worker-thread call."""
        info = result.get("idTagInfo")
        id_tag = msg.payload.get("idTag")
        learn = (id_tag, info) if isinstance(info, dict) and isinstance(id_tag, str) else None
        start = msg.action == "StartTransaction" and msg.tx_local_id is not None
        csms_id = str(int(result["transactionId"])) if start else None
        a = self._services
        now_wall = a.clock.wall_now()

        def apply() -> tuple[Recorded | None, TransactionRecord | None]:
            entry, recorded = (a.authorizer.learn(*learn, now_wall) if learn is not None
                               else (None, None))
            return recorded, a.store.confirm(msg.seq, msg.tx_local_id, csms_id, entry)

        if csms_id is not None and msg.tx_local_id is not None:
            # known before the commit: the sender prepares the next message meanwhile (its
            # StopTransaction needs this id); forgotten again if the commit fails
            self._remember_csms_id(msg.tx_local_id, csms_id)
        try:
            recorded, record = await asyncio.to_thread(apply)
        except BaseException:
            if csms_id is not None and msg.tx_local_id is not None:
                self._csms_ids.pop(msg.tx_local_id, None)
            raise
        if recorded is not None and recorded.local_list_conflict:
            self._report_conflict()
        if msg.tx_local_id is not None and msg.action == "StopTransaction":
            self._csms_ids.pop(msg.tx_local_id, None)
        if start and record is not None and isinstance(info, dict) \
                and not self._stopped(record):
            a.port.submit(TransactionConfirmed(record.connector, auth_status(info["status"])))

    def _stopped(self, record: TransactionRecord) -> bool:
        """The transaction is stopped: in the store, or by the core (its stop may still be
        waiting for its commit)."""
        session = self._session_of.pop(record.local_id, None)
        if record.stopped:
            return True
        if session is None:
            return False  # begun in an earlier run: the store's word stands
        connector, number = session
        return self._ended.get(connector, 0) >= number

    def _remember_csms_id(self, local_id: int, csms_id: str) -> None:
        self._csms_ids[local_id] = csms_id
        if len(self._csms_ids) > _CSMS_IDS_KEPT:
            del self._csms_ids[next(iter(self._csms_ids))]  # the oldest

    # -- authorization
    async def authorize(self, action: RequestAuthorization) -> None:
        """Answer ``RequestAuthorization`` (local list / cache, Authorize.req, offline rules)."""
        a = self._services
        decision = await asyncio.to_thread(a.authorizer.decide_local, action.id_tag,
                                           online=a.registered.is_set(),
                                           now_wall=a.clock.wall_now())
        if decision.kind is DecisionKind.ASK:
            try:
                result = await a.request("Authorize", {"idTag": action.id_tag})
            except (ConnectionError, CallFailed, TimeoutError) as exc:
                LOG.warning("Authorize for %s failed (%s): offline rules", action.id_tag, exc)
            else:
                recorded = await self.record_id_tag(action.id_tag, result["idTagInfo"])
                a.port.submit(AuthorizationResult(action.request_id, action.id_tag,
                                                  recorded.status, recorded.parent_id_tag))
                return
            decision = await asyncio.to_thread(a.authorizer.decide_local, action.id_tag,
                                               online=False, now_wall=a.clock.wall_now())
        a.port.submit(AuthorizationResult(action.request_id, action.id_tag,
                                          decision.status or AuthStatus.INVALID,
                                          decision.parent_id_tag))

    async def record_id_tag(self, id_tag: str, info: dict[str, Any]) -> Recorded:
        """Learn an idTagInfo from the CSMS (cache); report a local list conflict (3.5.3)."""
        a = self._services
        recorded = await asyncio.to_thread(a.authorizer.record, id_tag, info,
                                           a.clock.wall_now())
        if recorded.local_list_conflict:
            self._report_conflict()
        return recorded

    def _report_conflict(self) -> None:
        current = self.statuses.get(0)
        self._services.post_status(ReportStatus(0, current.status if current else
                                                ConnectorStatus.AVAILABLE, "LocalListConflict"))
