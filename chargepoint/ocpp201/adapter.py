"""``Ocpp201Adapter``: the OCPP 2.0.1 implementation of ``chargepoint.ports.ProtocolAdapter``.

What runs (each a supervised task, as for 1.6): the connection loop (connect with the
``ocpp2.0.1`` subprotocol, BootNotification until Accepted, Heartbeat when nothing else was
exchanged for ``OCPPCommCtrlr.HeartbeatInterval``, reconnect with backoff), the persist worker
of ``transactions`` and the shared sender (``ocppj.outbox.Outbox``) for TransactionEvent and
StatusNotification, and the NotifyEvent sender of ``problems``. Station connector N is EVSE N
with connector 1. Authorization (cache, local list, offline rules) is ``authorization``'s; its
CSMS requests go to ``auth_handlers``. TriggerMessage is ``triggers``' (other blocks register
their triggerable messages in ``trigger_hooks``), UnlockConnector and DataTransfer
``remote``'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from websockets.typing import Subprotocol

from chargepoint.aio import cancel_all
from chargepoint.core.actions import (
    ReportStatus,
    RequestAuthorization,
    StartTransaction,
    StopTransaction,
)
from chargepoint.core.events import CsmsLinkChanged, Link, SettingsChanged
from chargepoint.core.schedule import Circuit
from chargepoint.core.settings import ProtocolSettings, StationWiring, build_settings
from chargepoint.limit_timer import LimitTimer
from chargepoint.ocpp201 import conversions
from chargepoint.ocpp201.aligned import AlignedSampler
from chargepoint.ocpp201.auth_handlers import AuthHandlers
from chargepoint.ocpp201.authorization import Authorization
from chargepoint.ocpp201.client import Ocpp201Client
from chargepoint.ocpp201.components import Components
from chargepoint.ocpp201.device_model import DeviceModel
from chargepoint.ocpp201.device_requests import DeviceModelRequests
from chargepoint.ocpp201.handlers import Handlers
from chargepoint.ocpp201.network_choice import NetworkChoice
from chargepoint.ocpp201.problems import ProblemReports
from chargepoint.ocpp201.remote import RemoteControl
from chargepoint.ocpp201.reservations import Reservations
from chargepoint.ocpp201.smart_charging import SmartCharging
from chargepoint.ocpp201.transactions import Transactions
from chargepoint.ocpp201.triggers import TriggerHooks, Triggers
from chargepoint.ocpp201.tx_status import TransactionStatus
from chargepoint.ocpp201.wire_queue import WireQueue
from chargepoint.ocppj.connection import Backoff, connect
from chargepoint.ocppj.heartbeat import heartbeat_loop
from chargepoint.ocppj.outbox import Outbox
from chargepoint.ocppj.rpc_errors import CallFailed
from chargepoint.ocppj.supervise import FailureLog, Supervisor
from chargepoint.ocppj.timestamps import Clock, ClockUnknown, format_utc
from chargepoint.ports import LinkState, ProtocolAction, StationPort
from chargepoint.security.link import SecurityLink
from chargepoint.store.api import QueuedMessage

LOG = logging.getLogger("chargepoint.ocpp")

SUBPROTOCOL = Subprotocol("ocpp2.0.1")
BOOT_REASON_KEY = "ocpp201.boot_reason"  # kv: the reason of the next BootNotification
_DEFAULT_RETRY_S = 60.0  # BootNotification retry when the CSMS gave interval 0
ANSWER_GRACE_S = 0.5  # before a reconnect that follows an answer (the CSMS reads it first)


@dataclass(frozen=True, slots=True)
class Ocpp201Options:
    url: str
    station_id: str
    vendor: str
    model: str
    serial: str | None
    firmware_version: str
    security_profile: int
    password: str | None
    ca_file: str | None
    cert_file: str | None
    key_file: str | None
    reconnect_min_s: float
    reconnect_max_s: float
    response_timeout_s: float
    max_frame_bytes: int
    has_lock: bool
    max_current_a: float
    boot_reason: str = "PowerUp"
    free_vend_id_tag: str | None = None  # [charging] free_vend on
    reconnect_jitter: float = 0.5


def protocol_settings(model: DeviceModel) -> ProtocolSettings:
    """The core's protocol-dependent values from the device model."""
    return ProtocolSettings(
        connection_timeout_s=float(model.get_int("TxCtrlr.EVConnectionTimeOut")),
        # TxStopPoint EVConnected ends the transaction when the EV leaves: the core's too, so no
        # energy flows outside a transaction when the EV comes back
        stop_transaction_on_ev_side_disconnect=model.get_bool("TxCtrlr.StopTxOnEVSideDisconnect")
        or "EVConnected" in model.members("TxCtrlr.TxStopPoint"),
        unlock_connector_on_ev_side_disconnect=model.get_bool(
            "OCPPCommCtrlr.UnlockOnEVSideDisconnect"))


class Ocpp201Adapter:
    def __init__(self, port: StationPort, options: Ocpp201Options, model: DeviceModel,
                 clock: Clock) -> None:
        self.port = port
        self.options = options
        self.model = model
        self.clock = clock
        self.failures = FailureLog(LOG)
        self._supervisor = Supervisor(self.failures)
        self.registered = asyncio.Event()
        self.offline = asyncio.Event()
        self.offline.set()
        self.registration = "Unknown"
        self.outbox = Outbox(WireQueue(port.store), self)
        self.transactions = Transactions(self)
        self.aligned = AlignedSampler(self, self.transactions)
        self._unobserve = port.observe(self.transactions.observe)
        self.smart_charging = SmartCharging(self, Circuit(options.max_current_a))
        self.handlers = Handlers(self)
        self.components = Components(port, model, has_lock=options.has_lock,
                                     max_current_a=options.max_current_a)
        self.device_requests = DeviceModelRequests(self)
        self.reservations = Reservations(self)
        self.authorization = Authorization(self)
        self.link_security: SecurityLink | None = None  # set by ocpp201.security
        self.network: NetworkChoice | None = None  # set by ocpp201.network_profiles (B10)
        self.trigger_hooks = TriggerHooks()  # TriggerMessage of other blocks' messages
        self.triggers = Triggers(self)
        self.remote = RemoteControl(self)  # UnlockConnector, DataTransfer
        self.problems = ProblemReports(self)  # NotifyEvent of the station's faults
        # the ``@on`` objects besides ``handlers`` (firmware, security and network profiles join
        # through add_handlers when the factory attaches them)
        self.extra_handlers: list[object] = [
            self.device_requests, self.smart_charging, self.reservations, AuthHandlers(self),
            self.triggers, self.remote, TransactionStatus(self)]  # E14: GetTransactionStatus
        self._client: Ocpp201Client | None = None
        self._boot_done = False
        self._boot_wake = asyncio.Event()  # TriggerMessage(BootNotification) while not Accepted
        self._boot_triggered = False
        self._heartbeat_wake = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = asyncio.Event()
        model.on_change(self._variable_changed)

    # -- ProtocolAdapter
    async def run(self) -> None:
        await self.transactions.recover()
        await self.transactions.resume()
        await self.reservations.restore()  # a reboot keeps them
        await self.authorization.refresh()
        await self.smart_charging.restore()  # the charging profiles (K01)
        self.supervise("OCPP limit timer", self.smart_charging.timer.run)
        self.supervise("OCPP connection", self._connection_loop)
        self.supervise("OCPP outbox", self.outbox.run)
        self.supervise("OCPP persist worker", self.transactions.run)
        self.supervise("OCPP aligned meter values", self.aligned.run)
        self.supervise("OCPP NotifyEvent", self.problems.run)
        await self._closed.wait()

    def perform(self, action: ProtocolAction) -> None:
        self.reservations.perform(action)  # sees every action first (ClearReservation: its own)
        if isinstance(action, StartTransaction | StopTransaction):
            self.transactions.perform(action)
        elif isinstance(action, ReportStatus):
            self.components.seen(action)
            self.post_status(action)
            self.transactions.perform(action)  # chargingState, TxStart/StopPoint
        elif isinstance(action, RequestAuthorization):
            self.spawn(self.authorization.authorize(action))

    def link_state(self) -> LinkState:
        return LinkState("2.0.1", self._client is not None, self.registration,
                         self.port.store.queue_length())

    def wall_now(self) -> datetime | None:
        return self.clock.wall_now()

    async def ping(self) -> float:
        start = time.monotonic()
        await self.heartbeat()
        return time.monotonic() - start

    async def close(self) -> None:
        self._closed.set()
        self._unobserve()
        await self.transactions.close()
        await self._supervisor.close()
        await cancel_all(list(self._tasks))
        self._set_offline()

    def healthy(self) -> bool:
        return self._supervisor.healthy()

    def transaction_id(self, csms_id: str) -> str:
        return csms_id  # station-chosen string ids

    @property
    def free_vend_id_tag(self) -> str | None:
        return self.options.free_vend_id_tag

    @property
    def limit_timer(self) -> LimitTimer:
        return self.smart_charging.timer  # profiles and local load management's offers

    # -- services
    def spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def supervise(self, name: str, factory: Callable[[], Awaitable[None]]) -> None:
        self._supervisor.start(name, factory)

    def add_handlers(self, *handlers: object) -> None:
        """More ``@on`` handler objects (firmware ...); they apply from the next connection."""
        self.extra_handlers.extend(handlers)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            self.failures.failed("OCPP task", exc)

    async def request(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        client = self._client
        if client is None:
            raise ConnectionError("not connected to the CSMS")
        return await client.request(action, payload)

    async def heartbeat(self) -> None:
        if not self.registered.is_set():
            raise ConnectionError("not registered at the CSMS")
        result = await self.request("Heartbeat", {})
        self._set_clock(result.get("currentTime"))

    def restart(self, hard: bool) -> None:
        """Reset from the CSMS: the next BootNotification says RemoteReset."""
        self.port.store.kv_set(BOOT_REASON_KEY, "RemoteReset")
        self.port.request_restart(hard)

    def post_status(self, action: ReportStatus, triggered: bool = False) -> None:
        """StatusNotification of EVSE ``connector`` (connector 1); the station-wide one
        (connector 0) has no 2.0.1 counterpart and is not sent. ``triggered``: by
        TriggerMessage, not queued twice (``Outbox.post_status``)."""
        if action.connector == 0:
            return
        at = action.at or None

        def payload() -> dict[str, Any]:
            try:
                stamp = self.clock.resolve(self.clock.stamp(at))
            except (ClockUnknown, ValueError):
                stamp = format_utc(datetime.now(UTC))  # required in 2.0.1
            return {"timestamp": stamp,
                    "connectorStatus": conversions.connector_status(action.status),
                    "evseId": action.connector, "connectorId": 1}

        self.outbox.post_status(action.connector, payload, triggered)

    # -- the connection
    async def _connection_loop(self) -> None:
        backoff = Backoff(self.options.reconnect_min_s, self.options.reconnect_max_s,
                          self.options.reconnect_jitter)
        while True:
            security, network = self.link_security, self.network
            options = self.options
            try:
                if network is not None:  # the network profile to try (B10, A05)
                    network.prepare()
                if security is not None:  # the profile's URL and credentials (A00)
                    options = security.connect_options(options)
                if network is not None:
                    options = network.endpoint(options)
                ws = await connect(options, 0, SUBPROTOCOL)
            except Exception as exc:
                if security is not None:
                    security.connect_failed(exc)
                if network is not None:
                    network.failed()
                delay = backoff.next_delay()
                LOG.warning("CSMS connection failed (%s): retry in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                continue
            backoff.reset()
            if security is not None:
                security.connected(ws)
            if network is not None and network.connected():
                self._boot_done = False  # another network profile: register again (B10.FR.10)
            secrets = frozenset(p for p in (self.options.password, options.password) if p)
            client = Ocpp201Client(self.options.station_id, ws,
                                   self.options.response_timeout_s,
                                   [self.handlers, *self.extra_handlers], secrets)
            self._client = client
            session = asyncio.ensure_future(self._session(client))
            try:
                await client.serve()
            finally:
                session.cancel()
                await asyncio.wait({session})
                self._client = None
                self._set_offline()
                with contextlib.suppress(Exception):
                    await ws.close()
            delay = backoff.next_delay()
            LOG.warning("CSMS connection lost: reconnect in %.1f s", delay)
            await asyncio.sleep(delay)

    async def reconnect(self) -> None:
        """Close the connection after ``ANSWER_GRACE_S``; the loop reconnects (a new password
        or client certificate applies from the next connection)."""
        await asyncio.sleep(ANSWER_GRACE_S)
        client = self._client
        if client is not None:
            await client.close_connection()

    async def _session(self, client: Ocpp201Client) -> None:
        try:
            if not self._boot_done:
                await self._boot(client)
            self._set_registered()
            await self._heartbeat_loop(client)
        except ConnectionError:
            pass
        except Exception:
            LOG.exception("OCPP session failed: reconnecting")
            await client.close_connection()

    def _boot_payload(self) -> dict[str, Any]:
        o = self.options
        station: dict[str, Any] = {"model": o.model[:20], "vendorName": o.vendor[:50]}
        if o.serial:
            station["serialNumber"] = o.serial[:25]
        if o.firmware_version:
            station["firmwareVersion"] = o.firmware_version[:50]
        return {"reason": o.boot_reason, "chargingStation": station}

    async def _boot(self, client: Ocpp201Client) -> None:
        """BootNotification until Accepted (B01-B04): Pending and Rejected wait ``interval``."""
        backoff = Backoff(self.options.reconnect_min_s, self.options.reconnect_max_s,
                          self.options.reconnect_jitter)
        while True:
            payload = self._boot_payload()
            if self._boot_triggered:
                self._boot_triggered = False
                payload["reason"] = "Triggered"
            try:
                result = await client.request("BootNotification", payload)
            except (CallFailed, TimeoutError) as exc:
                LOG.warning("BootNotification failed: %s", exc)
                await asyncio.sleep(backoff.next_delay())
                continue
            status = str(result["status"])
            self._set_clock(result.get("currentTime"))
            interval = int(result.get("interval", 0))
            if status == "Accepted":  # "Accepted" once registered (_set_registered), not before
                if interval > 0 and interval != self.model.get_int(
                        "OCPPCommCtrlr.HeartbeatInterval"):
                    await asyncio.to_thread(self.model.persist,
                                            "OCPPCommCtrlr.HeartbeatInterval", str(interval))
                    self.model.apply("OCPPCommCtrlr.HeartbeatInterval", str(interval))
                await asyncio.to_thread(self.port.store.kv_set, BOOT_REASON_KEY, None)
                self._boot_done = True
                return
            self.registration = status
            LOG.warning("BootNotification %s: retry in %d s", status, interval)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._boot_wake.wait(),
                                       interval if interval > 0 else _DEFAULT_RETRY_S)
            self._boot_wake.clear()

    def trigger_boot(self) -> None:
        """TriggerMessage(BootNotification) before Accepted: the next one now (Triggered)."""
        self._boot_triggered = True
        self._boot_wake.set()

    async def _heartbeat_loop(self, client: Ocpp201Client) -> None:
        await heartbeat_loop(client,
                             lambda: self.model.get_int("OCPPCommCtrlr.HeartbeatInterval"),
                             self._heartbeat_wake, self.heartbeat)

    def _set_clock(self, current_time: object) -> None:
        if not isinstance(current_time, str):
            return
        was_known = self.clock.known
        try:
            self.clock.set_wall(current_time)
        except ValueError as exc:
            LOG.warning("CSMS currentTime %r refused: %s", current_time[:40], exc)
            return
        self.smart_charging.timer.poke()  # period boundaries are on the CSMS's clock
        if not was_known and self.clock.known:
            self.outbox.wake()
            self.aligned.interval_changed()  # the wall clock is known: boundaries now

    def _set_registered(self) -> None:
        self.registration = "Accepted"
        self.offline.clear()
        self.registered.set()
        self.port.submit(CsmsLinkChanged(Link.ONLINE))
        self.outbox.wake()

    def _set_offline(self) -> None:
        if self.registered.is_set():
            self.registered.clear()
            self.port.submit(CsmsLinkChanged(Link.OFFLINE))
        self.offline.set()

    def _variable_changed(self, key: str, value: str) -> None:
        if key == "OCPPCommCtrlr.HeartbeatInterval":
            self._heartbeat_wake.set()
        elif key in ("SampledDataCtrlr.TxUpdatedInterval", "SampledDataCtrlr.TxEndedInterval"):
            self.transactions.interval_changed()
        elif key in ("AlignedDataCtrlr.Interval", "AlignedDataCtrlr.TxEndedInterval"):
            self.aligned.interval_changed()
        elif key in ("TxCtrlr.EVConnectionTimeOut", "TxCtrlr.StopTxOnEVSideDisconnect",
                     "TxCtrlr.TxStopPoint", "OCPPCommCtrlr.UnlockOnEVSideDisconnect"):
            self.port.submit(SettingsChanged(build_settings(
                protocol_settings(self.model),
                StationWiring(has_lock=self.options.has_lock,
                              max_current_a=self.options.max_current_a,
                              free_vend_id_tag=self.options.free_vend_id_tag))))

    # -- for the outbox (OutboxLink)
    def attempts(self) -> int:
        return self.model.get_int("OCPPCommCtrlr.MessageAttempts")

    def retry_interval(self) -> float:
        return float(self.model.get_int("OCPPCommCtrlr.MessageAttemptInterval"))

    async def prepare(self, msg: QueuedMessage) -> dict[str, Any] | None:
        return await self.transactions.prepare(msg)

    async def confirmed(self, msg: QueuedMessage, result: dict[str, Any]) -> None:
        await self.transactions.confirmed(msg, result)

    async def precheck(self, action: str, payload: dict[str, Any]) -> None:
        client = self._client
        if client is not None:
            await client.precheck(action, payload)
