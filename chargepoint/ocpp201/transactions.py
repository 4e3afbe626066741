"""TransactionEvent: the core's StartTransaction / StopTransaction and the periodic meter
values of a running transaction, as durable 2.0.1 messages (E01-E07, J02).

- The station chooses the transactionId (a UUID) at the start; it is stored as the
  transaction's ``csms_id`` with the transaction.
- ``seqNo`` is continuous per transaction, from 0 at Started: the next one is kept in the store
  (``kv`` "ocpp201.seq.<local id>") and written before its message is queued; after a crash the
  queued messages of the transaction are consulted as well, so no number is used twice.
- Every message is written to the store's queue (by kind: ``MessageKind``) before it is sent,
  in the order the core asked for it (one persist worker, ``run()``), and sent by the shared
  ``ocppj.outbox.Outbox`` as "TransactionEvent". ``offline`` is true when it was queued while
  the station was not registered.
- ``recover()`` at start: a transaction left open by a crash ends once, with stoppedReason
  PowerLoss (the store's ``recover_after_crash`` is atomic per transaction).
- Updated: every ``SampledDataCtrlr.TxUpdatedInterval`` seconds (0: never) while a
  transaction runs, with the measurands of ``TxUpdatedMeasurands`` that the meter has.
- ``trigger_update``: an Updated with triggerReason Trigger (TriggerMessage, F06.FR.07).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from chargepoint.core.actions import StartTransaction, StopTransaction
from chargepoint.core.events import TransactionConfirmed
from chargepoint.ocpp201 import conversions
from chargepoint.ocpp201.authorization import Authorization
from chargepoint.ocpp201.device_model import DeviceModel
from chargepoint.ocppj.outbox import Outbox
from chargepoint.ocppj.timestamps import Clock, ClockUnknown
from chargepoint.ports import StationPort
from chargepoint.store.api import MessageKind, QueuedMessage, StoreAPI, TransactionRecord
from hardware.interfaces import MeterReading

LOG = logging.getLogger("chargepoint.ocpp")

ACTION = "TransactionEvent"


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


class TransactionServices(Protocol):
    """What the transaction code uses of the adapter."""

    @property
    def port(self) -> StationPort: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def outbox(self) -> Outbox: ...
    @property
    def model(self) -> DeviceModel: ...
    @property
    def registered(self) -> asyncio.Event: ...
    @property
    def free_vend_id_tag(self) -> str | None: ...
    @property
    def authorization(self) -> Authorization: ...


@dataclass(frozen=True, slots=True)
class _Update:
    local_id: int
    connector: int
    transaction_id: str


def sampled_values(reading: MeterReading | None, energy_wh: float | None, context: str,
                   measurands: list[str]) -> list[dict[str, Any]]:
    """The sampledValue list of one meterValue (energy always, the rest if the meter has it)."""
    values: list[dict[str, Any]] = []
    energy = energy_wh if energy_wh is not None else (
        reading.energy_import_wh if reading is not None else None)
    if energy is not None:
        values.append({"value": round(energy, 1), "context": context,
                       "measurand": "Energy.Active.Import.Register",
                       "unitOfMeasure": {"unit": "Wh"}})
    if reading is None:
        return values
    if "Power.Active.Import" in measurands and reading.power_w is not None:
        values.append({"value": round(reading.power_w, 1), "context": context,
                       "measurand": "Power.Active.Import", "unitOfMeasure": {"unit": "W"}})
    if "Current.Import" in measurands:
        values.extend({"value": round(a, 2), "context": context, "measurand": "Current.Import",
                       "phase": f"L{i + 1}", "unitOfMeasure": {"unit": "A"}}
                      for i, a in enumerate(reading.current_a))
    if "Voltage" in measurands:
        values.extend({"value": round(v, 1), "context": context, "measurand": "Voltage",
                       "phase": f"L{i + 1}-N", "unitOfMeasure": {"unit": "V"}}
                      for i, v in enumerate(reading.voltage_v))
    return values


class Transactions:
    def __init__(self, services: TransactionServices) -> None:
        self._s = services
        self._work: asyncio.Queue[tuple[int, Callable[[int], Any]]] = asyncio.Queue()
        self._remote_starts: dict[int, int] = {}  # connector -> remoteStartId to report
        self._updaters: dict[int, asyncio.Task[None]] = {}  # connector -> periodic Updated
        self._running: dict[int, _Update] = {}  # connector -> its transaction (Started stored)
        self._core_running: dict[int, bool] = {}  # connector -> the core's word (perform())
        self._updater_wake = asyncio.Event()

    # -- from perform() (synchronous)
    def expect_remote_start(self, connector: int, remote_start_id: int) -> None:
        """The next transaction on ``connector`` answers RequestStartTransaction."""
        self._remote_starts[connector] = remote_start_id

    def forget_remote_start(self, connector: int) -> None:
        """The core refused that RequestStartTransaction: the next start is not its."""
        self._remote_starts.pop(connector, None)

    def perform(self, action: StartTransaction | StopTransaction) -> None:
        self._core_running[action.connector] = isinstance(action, StartTransaction)
        ticket = self._s.outbox.ticket()
        if isinstance(action, StartTransaction):
            self._work.put_nowait((ticket, lambda t: self._start(t, action)))
        else:
            self._work.put_nowait((ticket, lambda t: self._stop(t, action)))

    async def run(self) -> None:
        """The persist worker: the core's transaction actions into the store, in order."""
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
    def _base(self, event_type: str, trigger: str, at: float | None, seq_no: int,
              transaction_id: str, connector: int, charging_state: str) -> dict[str, Any]:
        return {"eventType": event_type, "timestamp": self._s.clock.stamp(at),
                "triggerReason": trigger, "seqNo": seq_no,
                "offline": not self._s.registered.is_set(),
                "transactionInfo": {"transactionId": transaction_id,
                                    "chargingState": charging_state},
                "evse": {"id": connector, "connectorId": 1}}

    async def _start(self, ticket: int, action: StartTransaction) -> None:
        s = self._s
        transaction_id = str(uuid.uuid4())
        remote = self._remote_starts.pop(action.connector, None)
        payload = self._base("Started", "RemoteStart" if remote is not None else "Authorized",
                             action.at, 0, transaction_id, action.connector, "Charging")
        if remote is not None:
            payload["transactionInfo"]["remoteStartId"] = remote
        if action.reservation_id is not None:
            payload["reservationId"] = action.reservation_id  # H01.FR.15: it is used
        # Free vend: the core starts with [charging] free_vend_id_tag; 2.0.1 has a type for it
        free = action.id_tag == s.free_vend_id_tag
        id_tag = "" if free else action.id_tag
        payload["idToken"] = s.authorization.id_token(id_tag)
        payload["meterValue"] = [{"timestamp": payload["timestamp"], "sampledValue":
                                  sampled_values(None, action.meter_start_wh,
                                                 "Transaction.Begin", [])}]
        store = s.port.store

        def write() -> tuple[int, int | None]:
            local_id = store.begin_transaction(
                action.connector, id_tag, action.meter_start_wh,
                payload["timestamp"], action.reservation_id, payload)
            # Committed: from here on nothing may raise into run() (it would begin it again).
            try:
                store.set_csms_transaction_id(local_id, transaction_id)
                store.kv_set(seq_key(local_id), "1")
            except Exception as exc:  # the Started message carries the id: still sent
                LOG.error("transaction %s: id / seqNo not recorded: %s", transaction_id, exc)
            return local_id, queued_seq(store, local_id)

        local_id, seq = await asyncio.to_thread(write)
        s.outbox.persisted(ticket, ACTION, seq)
        self._start_updater(_Update(local_id, action.connector, transaction_id))

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

    async def _stop(self, ticket: int, action: StopTransaction) -> None:
        s = self._s
        store = s.port.store
        self._stop_updater(action.connector)
        record = await asyncio.to_thread(store.open_transaction_on, action.connector)
        if record is None or record.csms_id is None:
            LOG.error("StopTransaction on connector %d: no open transaction", action.connector)
            s.outbox.stalled(ticket)
            return
        stopped, trigger = conversions.stop_reasons(action.reason)
        seq_no = await self._next_seq(record.local_id)
        state = "Idle" if stopped == "EVDisconnected" else "EVConnected"
        payload = self._base("Ended", trigger, action.at, seq_no, record.csms_id,
                             action.connector, state)
        payload["transactionInfo"]["stoppedReason"] = stopped
        if action.id_tag is not None:
            payload["idToken"] = s.authorization.id_token(
                "" if action.id_tag == s.free_vend_id_tag else action.id_tag)
        payload["meterValue"] = [{"timestamp": payload["timestamp"], "sampledValue":
                                  sampled_values(None, action.meter_stop_wh,
                                                 "Transaction.End", [])}]

        def write() -> int | None:
            store.stop_transaction(record.local_id, action.meter_stop_wh, payload["timestamp"],
                                   action.reason.value, action.id_tag, payload)
            return queued_seq(store, record.local_id)

        seq = await asyncio.to_thread(write)
        s.outbox.persisted(ticket, ACTION, seq)

    async def _update(self, update: _Update) -> None:
        s = self._s
        reading = s.port.meter_reading(update.connector)
        if reading is None:
            return
        ticket = s.outbox.ticket()
        try:
            await self._queue_update(ticket, update, reading)
        except BaseException:
            s.outbox.stalled(ticket)  # never holds the line: this sample is lost, logged
            raise

    async def _queue_update(self, ticket: int, update: _Update, reading: MeterReading | None,
                            trigger: str = "MeterValuePeriodic",
                            context: str = "Sample.Periodic") -> None:
        s = self._s
        seq_no = await self._next_seq(update.local_id)
        payload = self._base("Updated", trigger, None, seq_no,
                             update.transaction_id, update.connector, "Charging")
        values = sampled_values(reading, None, context,
                                s.model.members("SampledDataCtrlr.TxUpdatedMeasurands"))
        if values:
            payload["meterValue"] = [{"timestamp": payload["timestamp"], "sampledValue": values}]
        store = s.port.store
        seq = await asyncio.to_thread(store.enqueue, MessageKind.TRANSACTION_UPDATE.value,
                                      payload, update.local_id)
        s.outbox.persisted(ticket, ACTION, seq)

    # -- periodic Updated
    def _start_updater(self, update: _Update) -> None:
        self._stop_updater(update.connector)
        self._running[update.connector] = update
        self._updaters[update.connector] = asyncio.ensure_future(self._periodic(update))

    def _stop_updater(self, connector: int) -> None:
        self._running.pop(connector, None)
        task = self._updaters.pop(connector, None)
        if task is not None:
            task.cancel()

    def interval_changed(self) -> None:
        self._updater_wake.set()

    async def _periodic(self, update: _Update) -> None:
        while True:
            self._updater_wake.clear()
            interval = self._s.model.get_int("SampledDataCtrlr.TxUpdatedInterval")
            woken = False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._updater_wake.wait(), interval or None)
                woken = True
            if not woken and interval > 0:
                try:
                    await self._update(update)
                except Exception as exc:
                    LOG.error("TransactionEvent Updated not queued: %s", exc)

    async def resume(self) -> None:
        """After a restart without a crash stop (none open): nothing; open ones get updaters."""
        store = self._s.port.store
        for record in await asyncio.to_thread(store.open_transactions):
            if record.csms_id is not None:
                self._start_updater(_Update(record.local_id, record.connector, record.csms_id))

    async def close(self) -> None:
        for connector in list(self._updaters):
            self._stop_updater(connector)

    # -- TriggerMessage(TransactionEvent) (F06.FR.07)
    def running(self, connector: int) -> bool:
        """A transaction runs on ``connector``: the core started one and has not stopped it
        (before a restart: its Started is stored, its Ended is not)."""
        return self._core_running.get(connector, connector in self._running)

    async def trigger_update(self, connector: int) -> None:
        """Queue an Updated with triggerReason Trigger (meter values context Trigger) for the
        transaction on ``connector``, in line behind what the core asked for before (after an
        Ended queued first: nothing). Not while an earlier triggered one of the transaction
        is still queued (a TriggerMessage storm queues one). Returns once decided."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._work.put_nowait((self._s.outbox.ticket(),
                               lambda t: self._triggered(t, connector, done)))
        await done

    async def _triggered(self, ticket: int, connector: int, done: asyncio.Future[None]) -> None:
        s = self._s
        try:
            update = self._running.get(connector)
            if update is None or await asyncio.to_thread(self._trigger_queued, update.local_id):
                s.outbox.stalled(ticket)
                return
            await self._queue_update(ticket, update, s.port.meter_reading(connector),
                                     "Trigger", "Trigger")
        except Exception as exc:  # never retried by run(): this one is lost, logged
            LOG.error("triggered TransactionEvent on EVSE %d not queued: %s", connector, exc)
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
                        "meterValue": [{"timestamp": stamp, "sampledValue": sampled_values(
                            None, record.meter_stop_wh or record.meter_start_wh,
                            "Transaction.End", [])}]}

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
        if msg.payload.get("eventType") == "Started" and isinstance(info, dict):
            connector = int(msg.payload["evse"]["id"])
            self._s.port.submit(TransactionConfirmed(
                connector, conversions.auth_status(str(info.get("status")))))
        if msg.payload.get("eventType") == "Ended" and msg.tx_local_id is not None:
            await asyncio.to_thread(self._s.port.store.kv_set, seq_key(msg.tx_local_id), None)
        # Off the durable queue (ocppj.outbox: the link removes what it confirmed; the
        # transaction's id is the station's own), with the idTokenInfo's cache entry (C10)
        entry = self._s.authorization.cache_entry(msg.payload.get("idToken"), info)
        await asyncio.to_thread(self._s.port.store.confirm, msg.seq, msg.tx_local_id, None,
                                entry)
        if entry is not None:
            await self._s.authorization.refresh()

