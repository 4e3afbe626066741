"""TransactionEvent: the 2.0.1 transactions of the station as durable messages (E01-E07,
J02), started and ended where TxStartPoint / TxStopPoint say (``tx_points.TxPoints``).

- What the core reports reaches ``TxPoints``: its protocol actions through ``perform``
  (StartTransaction, StopTransaction, ReportStatus), the events it is fed and its contactor
  commands through ``observe`` (``StationPort.observe``). Both arrive in the core's order.
- The station chooses the transactionId (a UUID) when the protocol transaction starts; it is
  stored as the transaction's ``csms_id`` with the store's transaction record, which is opened
  by the Started message (``begin_transaction``) and closed by the Ended one
  (``stop_transaction``): the record is the protocol transaction, which may begin before the
  core's transaction (EVConnected, Authorized) or after it (PowerPathClosed, EnergyTransfer),
  and end after it (TxStopPoint EVConnected). A core transaction that ends before the start
  point was reached leaves nothing (no record, no message).
- ``seqNo`` is continuous per transaction, from 0 at Started: the next one is kept in the store
  (``kv`` "ocpp201.seq.<local id>") and written before its message is queued; after a crash the
  queued messages of the transaction are consulted as well, so no number is used twice.
- Every message is written to the store's queue (by kind: ``MessageKind``) before it is sent,
  in the order decided (one persist worker, ``run()``; the periodic and clock-aligned Updated
  go through it too, so none follows its Ended), and sent by the shared
  ``ocppj.outbox.Outbox`` as "TransactionEvent". ``offline`` is true when it was queued while
  the station was not registered.
- ``recover()`` at start: a transaction left open by a crash ends once, with stoppedReason
  PowerLoss (the store's ``recover_after_crash`` is atomic per transaction).
- Meter values: Started carries ``SampledDataCtrlr.TxStartedMeasurands`` (Transaction.Begin),
  Updated every ``TxUpdatedInterval`` s ``TxUpdatedMeasurands`` (Sample.Periodic), Updated at
  every ``AlignedDataCtrlr.Interval`` boundary ``AlignedDataCtrlr.Measurands`` (Sample.Clock,
  trigger MeterValueClock: ``clock_sample``), Ended the samples taken every
  ``SampledDataCtrlr.TxEndedInterval`` s (TxEndedMeasurands) and at every
  ``AlignedDataCtrlr.TxEndedInterval`` boundary (AlignedDataCtrlr.TxEndedMeasurands), then
  Transaction.End. The TxEnded samples are kept in memory (at most ``ENDED_VALUES``, thinned
  evenly): a crash loses them, the PowerLoss Ended carries the last stored reading only.
- ``trigger_update``: an Updated with triggerReason Trigger (TriggerMessage, F06.FR.07).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from chargepoint.core.actions import (
    Action,
    CloseContactor,
    OpenContactor,
    ReportStatus,
    StartTransaction,
    StopTransaction,
)
from chargepoint.core.events import (
    AuthorizationResult,
    Event,
    MeterUpdated,
    PilotChanged,
    RemoteStartRequested,
    TimerExpired,
    TransactionConfirmed,
)
from chargepoint.core.types import AuthStatus, PilotState
from chargepoint.ocpp201 import conversions
from chargepoint.ocpp201.authorization import Authorization
from chargepoint.ocpp201.meter_values import ENERGY, meter_value
from chargepoint.ocpp201.services import AdapterServices
from chargepoint.ocpp201.tx_points import TxMessage, TxPoints
from chargepoint.ocppj.outbox import Outbox
from chargepoint.ocppj.timestamps import ClockUnknown
from chargepoint.store.api import MessageKind, QueuedMessage, StoreAPI, TransactionRecord
from hardware.interfaces import MeterReading

LOG = logging.getLogger("chargepoint.ocpp")

ACTION = "TransactionEvent"
ENDED_VALUES = 48  # TxEnded samples kept per transaction for its Ended
_PRESENT = (PilotState.B, PilotState.C, PilotState.D)


def seq_key(local_id: int) -> str:
    return f"ocpp201.seq.{local_id}"


def queued_seq(store: StoreAPI, local_id: int) -> int | None:
    """The queue position of a transaction's newest message (None: already sent)."""
    try:
        queued = store.queued_for_transaction(local_id)
    except Exception as exc:
        LOG.error("transaction %d: queue not read: %s", local_id, exc)
        return None
    return queued[-1].seq if queued else None


class TransactionServices(AdapterServices, Protocol):
    """What the transaction code uses of the adapter."""

    @property
    def outbox(self) -> Outbox: ...
    @property
    def free_vend_id_tag(self) -> str | None: ...
    @property
    def authorization(self) -> Authorization: ...


def sampled_values(reading: MeterReading | None, energy_wh: float | None, context: str,
                   measurands: list[str]) -> list[dict[str, Any]]:
    """The sampledValue list of one meterValue: the energy register always (``energy_wh``
    without a reading), the other ``measurands`` when the reading has them."""
    value = meter_value(reading, [ENERGY, *measurands], context, "", None, energy_wh)
    return [] if value is None else list(value["sampledValue"])


class _Open:
    """A protocol transaction in the store: its local id and the samples for its Ended."""

    def __init__(self, local_id: int, connector: int) -> None:
        self.local_id = local_id
        self.connector = connector
        self.ended_values: list[dict[str, Any]] = []
        self.task: asyncio.Task[None] | None = None

    def keep(self, value: dict[str, Any] | None) -> None:
        if value is None:
            return
        if len(self.ended_values) >= ENDED_VALUES:  # thin evenly, keep the span
            self.ended_values = [self.ended_values[0], *self.ended_values[1:][1::2]]
        self.ended_values.append(value)


class Transactions:
    def __init__(self, services: TransactionServices) -> None:
        self._s = services
        model = services.model
        self.points = TxPoints(services.port.connector_count,
                               lambda: model.members("TxCtrlr.TxStartPoint"),
                               lambda: model.members("TxCtrlr.TxStopPoint"),
                               ev_side_stops=lambda: model.get_bool(
                                   "TxCtrlr.StopTxOnEVSideDisconnect"))
        self._work: asyncio.Queue[tuple[int, Callable[[int], Awaitable[None]]]] = (
            asyncio.Queue())
        self._open: dict[str, _Open] = {}  # transactionId -> in the store
        self._wake = asyncio.Event()
        self._ended = asyncio.Event()

    # -- from perform() and observe() (synchronous, in the core's order)
    def expect_remote_start(self, connector: int, remote_start_id: int) -> None:
        """The next transaction on ``connector`` answers RequestStartTransaction."""
        self.points.expect_remote_start(connector, remote_start_id)

    def forget_remote_start(self, connector: int) -> None:
        """The core refused that RequestStartTransaction: the next start is not its."""
        self.points.forget_remote_start(connector)

    def perform(self, action: StartTransaction | StopTransaction | ReportStatus) -> None:
        port, points = self._s.port, self.points
        if isinstance(action, StartTransaction):
            free = action.free_vend or action.id_tag == self._s.free_vend_id_tag
            self._queue(points.core_started(action.connector, "" if free else action.id_tag,
                                            False, action.reservation_id, action.at,
                                            action.meter_start_wh))
        elif isinstance(action, StopTransaction):
            stopped, trigger = conversions.stop_reasons(action.reason)
            tag = action.id_tag
            if tag is not None and tag == self._s.free_vend_id_tag:
                tag = ""
            self._queue(points.core_stopped(action.connector, stopped, trigger, tag,
                                            action.reason.value, action.at,
                                            action.meter_stop_wh))
        elif action.connector > 0:
            view = port.connector_view(action.connector)
            if view.session is not None and view.session.stopping:
                points.core_stopping(action.connector)
            self._queue(points.status(action.connector, action.status, action.at))

    def observe(self, item: Event | Action) -> None:
        """``StationPort.observe``: the core's events and contactor commands."""
        points, now = self.points, self._s.port.now()
        match item:
            case PilotChanged(connector=c, state=state):
                points.event_seen()
                if state in _PRESENT:
                    self._queue(points.plugged(c, now))
                elif state is PilotState.A:
                    self._queue(points.unplugged(c, now))
            case AuthorizationResult(id_tag=tag, status=status):
                points.event_seen((tag, False) if status is AuthStatus.ACCEPTED else None)
            case RemoteStartRequested(id_tag=tag):
                points.event_seen((tag, True))
            case TimerExpired():
                points.event_seen(timer=True)
            case MeterUpdated(connector=c, energy_wh=wh):
                points.event_seen()
                points.meter(c, wh)
            case CloseContactor(connector=c):
                self._queue(points.power_path(c, True, now))
            case OpenContactor(connector=c):
                self._queue(points.power_path(c, False, now))
            case _ if not isinstance(item, Action):
                points.event_seen()

    def open_transactions(self) -> set[str]:
        """The transactionIds of the 2.0.1 transactions open now (decided or stored)."""
        ids = {self.points.open_transaction(c)
               for c in range(1, self._s.port.connector_count + 1)}
        return {i for i in ids if i is not None} | set(self._open)

    async def ended(self, transaction_ids: set[str]) -> None:
        """Returns once none of ``transaction_ids`` is open any more (Reset OnIdle)."""
        while transaction_ids & self.open_transactions():
            self._ended.clear()
            await self._ended.wait()

    def clock_sample(self, connector: int, stamp: str) -> bool:
        """AlignedDataCtrlr.Interval boundary: an Updated (MeterValueClock, Sample.Clock) if
        a transaction runs on ``connector`` (True), else False (a MeterValuesRequest)."""
        transaction_id = self.points.open_transaction(connector)
        if transaction_id is None:
            return False
        self._job(lambda t: self._sampled(t, transaction_id, "MeterValueClock", "Sample.Clock",
                                          "AlignedDataCtrlr.Measurands", stamp))
        return True

    def clock_ended_sample(self, connector: int, stamp: str) -> None:
        """AlignedDataCtrlr.TxEndedInterval boundary: a sample for the running Ended."""
        transaction_id = self.points.open_transaction(connector)
        if transaction_id is not None:
            self._job(lambda t: self._keep_ended(t, transaction_id, "Sample.Clock",
                                                 "AlignedDataCtrlr.TxEndedMeasurands", stamp))

    def _queue(self, messages: list[TxMessage]) -> None:
        for message in messages:
            self._job(functools.partial(self._persist, message))

    def _job(self, job: Callable[[int], Awaitable[None]]) -> None:
        self._work.put_nowait((self._s.outbox.ticket(), job))

    async def run(self) -> None:
        """The persist worker: the decided messages into the store, in order."""
        while True:
            ticket, job = await self._work.get()
            while True:
                try:
                    await job(ticket)
                    break
                except Exception as exc:  # the store refuses writes: retry, never reorder
                    LOG.error("TransactionEvent not persisted (%s): retrying", exc)
                    self._s.outbox.stalled(ticket)
                    await asyncio.sleep(1.0)

    # -- building and persisting
    def _base(self, message: TxMessage, seq_no: int, stamp: str | None = None) -> dict[str, Any]:
        return {"eventType": message.event_type,
                "timestamp": stamp or self._s.clock.stamp(message.at),
                "triggerReason": message.trigger, "seqNo": seq_no,
                "offline": not self._s.registered.is_set(),
                "transactionInfo": {"transactionId": message.transaction_id,
                                    "chargingState": message.charging_state},
                "evse": {"id": message.connector, "connectorId": 1}}

    def _value(self, connector: int, key: str, context: str, stamp: str,
               energy_wh: float | None = None) -> dict[str, Any] | None:
        port = self._s.port
        return meter_value(port.meter_reading(connector), self._s.model.members(key), context,
                           stamp, port.offered_current(connector), energy_wh)

    async def _persist(self, message: TxMessage, ticket: int) -> None:
        if message.event_type == "Started":
            await self._start(ticket, message)
        elif message.event_type == "Ended":
            await self._end(ticket, message)
        else:
            await self._update(ticket, message)

    async def _start(self, ticket: int, message: TxMessage) -> None:
        s = self._s
        payload = self._base(message, 0)
        if message.remote_start_id is not None:
            payload["transactionInfo"]["remoteStartId"] = message.remote_start_id
        if message.reservation_id is not None:
            payload["reservationId"] = message.reservation_id  # H01.FR.15: it is used
        if message.id_tag is not None:
            payload["idToken"] = self._s.authorization.id_token(message.id_tag)
        begin = self._value(message.connector, "SampledDataCtrlr.TxStartedMeasurands",
                            "Transaction.Begin", payload["timestamp"], message.energy_wh)
        if begin is not None:
            payload["meterValue"] = [begin]
        store = s.port.store
        meter_start = message.energy_wh or 0.0

        def write() -> tuple[int, int | None]:
            local_id = store.begin_transaction(
                message.connector, message.id_tag or "", meter_start,
                payload["timestamp"], message.reservation_id, payload)
            # Committed: from here on nothing may raise into run() (it would begin it again).
            try:
                store.set_csms_transaction_id(local_id, message.transaction_id)
                store.kv_set(seq_key(local_id), "1")
            except Exception as exc:  # the Started message carries the id: still sent
                LOG.error("transaction %s: id / seqNo not recorded: %s",
                          message.transaction_id, exc)
            return local_id, queued_seq(store, local_id)

        local_id, seq = await asyncio.to_thread(write)
        s.outbox.persisted(ticket, ACTION, seq)
        self._opened(message.transaction_id, _Open(local_id, message.connector))

    async def _local_id(self, transaction_id: str) -> _Open | None:
        known = self._open.get(transaction_id)
        if known is not None:
            return known
        record = await asyncio.to_thread(self._s.port.store.transaction_by_csms_id,
                                         transaction_id)
        if record is None or record.stopped:
            return None
        self._opened(transaction_id, _Open(record.local_id, record.connector))
        return self._open[transaction_id]

    async def _next_seq(self, local_id: int) -> int:
        """The next seqNo of a transaction, counted on in the store (blocking write)."""
        store = self._s.port.store

        def take() -> int:
            stored = store.kv_get(seq_key(local_id))
            queued = [m.payload.get("seqNo", -1) for m in store.queued_for_transaction(local_id)]
            seq_no = max(int(stored or 0), max(queued, default=-1) + 1)
            store.kv_set(seq_key(local_id), str(seq_no + 1))
            return seq_no

        return await asyncio.to_thread(take)

    async def _enqueue(self, ticket: int, local_id: int, payload: dict[str, Any]) -> None:
        seq = await asyncio.to_thread(self._s.port.store.enqueue,
                                      MessageKind.TRANSACTION_UPDATE.value, payload, local_id)
        self._s.outbox.persisted(ticket, ACTION, seq)

    async def _update(self, ticket: int, message: TxMessage) -> None:
        tx = await self._local_id(message.transaction_id)
        if tx is None:
            LOG.error("TransactionEvent Updated for %s: not open", message.transaction_id)
            self._s.outbox.stalled(ticket)
            return
        payload = self._base(message, await self._next_seq(tx.local_id))
        if message.id_tag is not None:
            payload["idToken"] = self._s.authorization.id_token(message.id_tag)
        if message.remote_start_id is not None:
            payload["transactionInfo"]["remoteStartId"] = message.remote_start_id
        await self._enqueue(ticket, tx.local_id, payload)

    async def _sampled(self, ticket: int, transaction_id: str, trigger: str, context: str,
                       key: str, stamp: str | None = None) -> None:
        """A periodic (Sample.Periodic) or clock-aligned (Sample.Clock) Updated, if still open
        and the meter has something to say."""
        tx = self._open.get(transaction_id)
        value = None if tx is None else self._value(
            tx.connector, key, context, stamp or self._s.clock.stamp())
        if tx is None or value is None:
            self._s.outbox.stalled(ticket)  # ended meanwhile / no reading: nothing to send
            return
        message = TxMessage("Updated", tx.connector, transaction_id, trigger,
                            self.points.charging_state(tx.connector), self._s.port.now(), None)
        payload = self._base(message, await self._next_seq(tx.local_id), value["timestamp"])
        payload["meterValue"] = [value]
        await self._enqueue(ticket, tx.local_id, payload)

    async def _keep_ended(self, ticket: int, transaction_id: str, context: str, key: str,
                          stamp: str | None = None) -> None:
        self._s.outbox.stalled(ticket)  # nothing is queued for it
        tx = self._open.get(transaction_id)
        if tx is not None:
            tx.keep(self._value(tx.connector, key, context, stamp or self._s.clock.stamp()))

    async def _end(self, ticket: int, message: TxMessage) -> None:
        s = self._s
        tx = await self._local_id(message.transaction_id)
        if tx is None:
            LOG.error("TransactionEvent Ended for %s: not open", message.transaction_id)
            s.outbox.stalled(ticket)
            return
        self._closed(message.transaction_id)
        payload = self._base(message, await self._next_seq(tx.local_id))
        payload["transactionInfo"]["stoppedReason"] = message.stopped_reason
        if message.id_tag is not None:
            payload["idToken"] = self._s.authorization.id_token(message.id_tag)
        values = list(tx.ended_values)
        end = self._value(message.connector, "SampledDataCtrlr.TxEndedMeasurands",
                          "Transaction.End", payload["timestamp"], message.energy_wh)
        if end is not None:
            values.append(end)
        if values:
            payload["meterValue"] = values
        store = s.port.store
        meter_stop = message.energy_wh or 0.0
        reading = s.port.meter_reading(message.connector)
        if reading is not None:
            meter_stop = reading.energy_import_wh

        def write() -> int | None:
            store.stop_transaction(tx.local_id, meter_stop, payload["timestamp"],
                                   message.stop_reason_name or str(message.stopped_reason),
                                   message.id_tag, payload)
            return queued_seq(store, tx.local_id)

        seq = await asyncio.to_thread(write)
        s.outbox.persisted(ticket, ACTION, seq)
        self._ended.set()

    # -- the samplers of an open transaction (periodic Updated, TxEnded samples)
    def _opened(self, transaction_id: str, tx: _Open) -> None:
        self._open[transaction_id] = tx
        tx.task = asyncio.ensure_future(self._sampling(transaction_id))

    def _closed(self, transaction_id: str) -> None:
        tx = self._open.pop(transaction_id, None)
        if tx is not None and tx.task is not None:
            tx.task.cancel()

    def interval_changed(self) -> None:
        self._wake.set()

    async def _sampling(self, transaction_id: str) -> None:
        """Every TxUpdatedInterval: an Updated; every TxEndedInterval: a sample for Ended."""
        loop = asyncio.get_running_loop()
        due: dict[str, float] = {}
        while True:
            self._wake.clear()
            now = loop.time()
            waits = []
            for key in ("SampledDataCtrlr.TxUpdatedInterval", "SampledDataCtrlr.TxEndedInterval"):
                interval = self._s.model.get_int(key)
                if interval <= 0:
                    due.pop(key, None)
                    continue
                at = due.setdefault(key, now + interval)
                if at <= now:
                    due[key] = max(at + interval, now)
                    if key.endswith("TxUpdatedInterval"):
                        self._job(lambda t: self._sampled(
                            t, transaction_id, "MeterValuePeriodic", "Sample.Periodic",
                            "SampledDataCtrlr.TxUpdatedMeasurands"))
                    else:
                        self._job(lambda t: self._keep_ended(
                            t, transaction_id, "Sample.Periodic",
                            "SampledDataCtrlr.TxEndedMeasurands"))
                waits.append(due[key] - now)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), min(waits) if waits else None)
                due.clear()  # an interval changed: count from now

    async def resume(self) -> None:
        """After a restart without a crash stop (none open): nothing; open ones go on."""
        store = self._s.port.store
        for record in await asyncio.to_thread(store.open_transactions):
            if record.csms_id is not None:
                self.points.resume(record.connector, record.csms_id, record.id_tag)
                self._opened(record.csms_id, _Open(record.local_id, record.connector))

    async def close(self) -> None:
        for transaction_id in list(self._open):
            self._closed(transaction_id)

    # -- TriggerMessage(TransactionEvent) (F06.FR.07), UnlockConnector
    def running(self, connector: int) -> bool:
        """A transaction runs on ``connector``: the core's (from its StartTransaction to its
        StopTransaction) or a 2.0.1 one (from the Started decided to the Ended decided)."""
        return self.points.core_running(connector) or (
            self.points.open_transaction(connector) is not None)

    async def trigger_update(self, connector: int) -> None:
        """Queue an Updated with triggerReason Trigger (meter values context Trigger) for the
        2.0.1 transaction on ``connector``, in line behind what was decided before (after an
        Ended queued first: nothing). Not while an earlier triggered one of the transaction
        is still queued (a TriggerMessage storm queues one). Returns once decided."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        transaction_id = self.points.open_transaction(connector)
        self._job(lambda t: self._triggered(t, transaction_id, done))
        await done

    async def _triggered(self, ticket: int, transaction_id: str | None,
                         done: asyncio.Future[None]) -> None:
        s = self._s
        try:
            tx = None if transaction_id is None else self._open.get(transaction_id)
            if tx is None or transaction_id is None or await asyncio.to_thread(
                    self._trigger_queued, tx.local_id):
                s.outbox.stalled(ticket)
                return
            message = TxMessage("Updated", tx.connector, transaction_id, "Trigger",
                                self.points.charging_state(tx.connector), s.port.now(), None)
            payload = self._base(message, await self._next_seq(tx.local_id))
            value = self._value(tx.connector, "SampledDataCtrlr.TxUpdatedMeasurands",
                                "Trigger", payload["timestamp"])
            if value is not None:
                payload["meterValue"] = [value]
            await self._enqueue(ticket, tx.local_id, payload)
        except Exception as exc:  # never retried by run(): this one is lost, logged
            LOG.error("triggered TransactionEvent %s not queued: %s", transaction_id, exc)
            s.outbox.stalled(ticket)
        finally:
            if not done.done():
                done.set_result(None)

    def _trigger_queued(self, local_id: int) -> bool:
        return any(m.payload.get("triggerReason") == "Trigger"
                   for m in self._s.port.store.queued_for_transaction(local_id))

    # -- recovery
    async def recover(self) -> list[TransactionRecord]:
        """End the transactions a crash left open, once each (stoppedReason PowerLoss)."""
        store = self._s.port.store
        clock = self._s.clock

        def run() -> list[TransactionRecord]:
            seqs: dict[int, int] = {}
            for record in store.open_transactions():
                stored = store.kv_get(seq_key(record.local_id))
                queued = [m.payload.get("seqNo", -1)
                          for m in store.queued_for_transaction(record.local_id)]
                seqs[record.local_id] = max(int(stored or 0), max(queued, default=-1) + 1)
                store.kv_set(seq_key(record.local_id), str(seqs[record.local_id] + 1))

            def build(record: TransactionRecord) -> dict[str, Any]:
                stamp = record.stopped_at or clock.stamp()
                return {"eventType": "Ended", "timestamp": stamp,
                        "triggerReason": "AbnormalCondition",
                        "seqNo": seqs.get(record.local_id, 1), "offline": True,
                        "transactionInfo": {"transactionId": record.csms_id or "",
                                            "chargingState": "Idle",
                                            "stoppedReason": "PowerLoss"},
                        "evse": {"id": record.connector, "connectorId": 1},
                        "meterValue": [meter_value(
                            None, [ENERGY], "Transaction.End", stamp, None,
                            record.meter_stop_wh or record.meter_start_wh)]}

            return store.recover_after_crash(clock.stamp(), build)

        stopped = await asyncio.to_thread(run)
        for record in stopped:
            LOG.warning("transaction %s on EVSE %d was left open: ended (PowerLoss)",
                        record.csms_id, record.connector)
        return stopped

    # -- for the outbox
    async def prepare(self, msg: QueuedMessage) -> dict[str, Any] | None:
        try:
            resolved: dict[str, Any] = self._s.clock.resolve_payload(dict(msg.payload))
        except ClockUnknown as exc:
            raise TimeoutError("wall clock not known yet") from exc
        return resolved

    async def confirmed(self, msg: QueuedMessage, result: dict[str, Any]) -> None:
        info = result.get("idTokenInfo")
        # the CSMS's word on the idToken of a Started, or of the Updated that brought it
        if "idToken" in msg.payload and msg.payload.get("eventType") != "Ended" \
                and isinstance(info, dict):
            connector = int(msg.payload["evse"]["id"])
            # only while that transaction is open there: an answer that comes after its end
            # must not de-authorize the next one on the EVSE
            if self.points.open_transaction(connector) \
                    == msg.payload["transactionInfo"]["transactionId"]:
                self._s.port.submit(TransactionConfirmed(
                    connector, conversions.auth_status(str(info.get("status")))))
        counter = (seq_key(msg.tx_local_id) if msg.payload.get("eventType") == "Ended"
                   and msg.tx_local_id is not None else None)
        # Off the durable queue (ocppj.outbox: the link removes what it confirmed; the
        # transaction's id is the station's own), with the idTokenInfo's cache entry (C10)
        # and, for an Ended, without its seqNo counter: one commit; with a cache entry the
        # authorization counts are read in the same worker call
        entry = self._s.authorization.cache_entry(msg.payload.get("idToken"), info)
        store = self._s.port.store

        def confirm() -> dict[str, Any] | None:
            store.confirm(msg.seq, msg.tx_local_id, None, entry, counter)
            if entry is None:
                return None
            try:
                return store.summary()
            except Exception as exc:  # confirmed all the same: only the counts are stale
                LOG.error("authorization counts not read: %s", exc)
                return None

        summary = await asyncio.to_thread(confirm)
        if summary is not None:
            self._s.authorization.show_counts(summary)

