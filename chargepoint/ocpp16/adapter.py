"""``Ocpp16Adapter``: the OCPP 1.6J implementation of ``chargepoint.ports.ProtocolAdapter``.

Contract (see ``chargepoint.ports``): ``Ocpp16Adapter(port, options)``; run ``await run()`` as
a task (returns after ``close()``); the runtime calls ``perform(action)`` for every protocol
action of the core (returns at once). Extra ``@on`` handler objects (firmware, diagnostics,
vendor DataTransfer) are given with ``handlers=`` or ``add_handlers()`` before ``run()``;
``hooks`` holds the DataTransfer / FirmwareStatus / DiagnosticsStatus hooks.

What runs (each an asyncio task): the connection loop (connect, BootNotification, heartbeats,
reconnect with backoff), the persist worker (StartTransaction / StopTransaction actions into
the store, in order), the sender (``outbox.Outbox``) and the meter samplers (``sampler``).
The long-running ones are supervised (``supervise``): an exception is logged (rate-limited)
and the task starts again; ``healthy()`` is False while one is gone or keeps failing (the
systemd watchdog of ``chargepoint.app`` includes it).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from websockets.asyncio.client import ClientConnection

from chargepoint.aio import cancel_all
from chargepoint.core.actions import (
    ClearReservation,
    Reply,
    ReportStatus,
    RequestAuthorization,
    StartTransaction,
    StopTransaction,
)
from chargepoint.core.events import CsmsLinkChanged, Link, RequestEvent, SettingsChanged
from chargepoint.core.settings import StationWiring, build_settings
from chargepoint.limit_timer import LimitTimer
from chargepoint.ocpp16 import conversions
from chargepoint.ocpp16.authorization import Authorizer
from chargepoint.ocpp16.client import CallFailed, FrameSecurity, OcppClient
from chargepoint.ocpp16.config_keys import Configuration, protocol_settings
from chargepoint.ocpp16.handlers_core import CoreHandlers, Hooks
from chargepoint.ocpp16.handlers_local import LocalListHandlers
from chargepoint.ocpp16.options import Ocpp16Options
from chargepoint.ocpp16.sampler import Sampler
from chargepoint.ocpp16.smart_charging import SmartCharging
from chargepoint.ocpp16.transactions import Transactions
from chargepoint.ocpp16.wire_queue import WireQueue
from chargepoint.ocppj.connection import Backoff, connect
from chargepoint.ocppj.follow_ups import TriggerFollowUps
from chargepoint.ocppj.heartbeat import heartbeat_loop
from chargepoint.ocppj.outbox import Outbox
from chargepoint.ocppj.reservations import StoredReservations
from chargepoint.ocppj.supervise import FailureLog, Supervisor
from chargepoint.ocppj.timestamps import Clock, ClockUnknown, read_boot_id
from chargepoint.ports import LinkState, ProtocolAction, StationPort
from chargepoint.store.api import QueuedMessage
from chargepoint.store.writebehind import CachedKv

LOG = logging.getLogger("chargepoint.ocpp")

_DEFAULT_RETRY_S = 60.0  # BootNotification retry when the CSMS gave interval 0


# Before a reconnect that follows an answer: an answer still unread when the connection is
# torn down is lost for a CSMS that reads frames one by one and answers our CALL in between
# (seen with the ocpp library: the ChangeConfiguration.conf never arrived, OCTT 073).
ANSWER_GRACE_S = 0.5

class LinkSecurity(FrameSecurity, Protocol):
    """The security whitepaper's say in the connection (``security_handlers``): which
    profile and credentials to connect with, and what a failed or working attempt means."""

    def connect_options(self, options: Ocpp16Options) -> Ocpp16Options: ...

    def connect_failed(self, exc: BaseException) -> None: ...

    def connected(self, ws: ClientConnection) -> None: ...


class Ocpp16Adapter:
    def __init__(
        self,
        port: StationPort,
        options: Ocpp16Options,
        *,
        handlers: Sequence[object] = (),
        config: Configuration | None = None,
        clock: Clock | None = None,
    ) -> None:
        options.validate()
        self.port = port
        self.options = options
        self.store = port.store
        self.config = config or Configuration(
            self.store, options.initial_config, connectors=port.connector_count,
            min_sample_interval_s=options.min_sample_interval_s)
        # The clock persists its anchors when the CSMS sets it, from sync code on the loop:
        # written behind, on a thread of its own. (Give ``clock`` to keep the read at start-up
        # off the loop too, as the app does.)
        self.clock = clock or Clock(boot_id=options.boot_id or read_boot_id(),
                                    kv=CachedKv(self.store))
        self.failures = FailureLog(LOG)
        self._supervisor = Supervisor(self.failures)
        self.authorizer = Authorizer(self.store, self.config)
        self.reservations = StoredReservations(self.store)
        self.hooks = Hooks()
        self.registered = asyncio.Event()  # connected and BootNotification Accepted
        self.offline = asyncio.Event()
        self.offline.set()
        self.registration = "Unknown"
        self.outbox = Outbox(WireQueue(self.store), self)
        self.transactions = Transactions(self)
        self.sampler = Sampler(self)
        self.triggers = TriggerFollowUps()  # TriggerMessage / ExtendedTriggerMessage
        self.smart_charging = SmartCharging(self)
        self._handlers: list[object] = [CoreHandlers(self),
                                        LocalListHandlers(self.store, self.config),
                                        self.smart_charging, *handlers]
        self._client: OcppClient | None = None
        self._boot_done = False
        self._boot_wake = asyncio.Event()
        self._heartbeat_wake = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = asyncio.Event()
        self.link_security: LinkSecurity | None = None  # set by security_handlers.attach
        self.config.on_change(self._config_changed)

    # -- ProtocolAdapter
    async def run(self) -> None:
        """Connect, register and serve until ``close()``."""
        await self.transactions.recover()
        await self.reservations.restore(self.port, self.clock)  # a reboot keeps them (5.13)
        await self.smart_charging.restore()  # and the charging profiles (3.13)
        self.supervise("OCPP smart charging timer", self.smart_charging.timer.run)
        self.supervise("OCPP connection", self._connection_loop)
        self.supervise("OCPP outbox", self.outbox.run)
        self.supervise("OCPP persist worker", self.transactions.run)
        self.supervise("OCPP clock-aligned meter values", self.sampler.run_aligned)
        await self._closed.wait()

    def perform(self, action: ProtocolAction) -> None:
        if isinstance(action, StartTransaction | StopTransaction):
            self.transactions.perform(action)
        elif isinstance(action, ReportStatus):
            self.post_status(action)
        elif isinstance(action, RequestAuthorization):
            self.spawn(self.transactions.authorize(action))
        elif isinstance(action, ClearReservation):
            self.reservations.remove(action.reservation_id)

    def link_state(self) -> LinkState:
        return LinkState("1.6", self._client is not None, self.registration,
                         self.store.queue_length())

    def wall_now(self) -> datetime | None:
        return self.clock.wall_now()

    async def ping(self) -> float:
        """One Heartbeat round trip in seconds; ``ConnectionError`` when not registered."""
        start = time.monotonic()
        await self.heartbeat()
        return time.monotonic() - start

    async def close(self) -> None:
        self._closed.set()
        await self._supervisor.close()
        await cancel_all(list(self._tasks))  # bounded: a stuck task cannot hang a shutdown
        self._set_offline()

    def transaction_id(self, csms_id: str) -> int:
        return int(csms_id)

    @property
    def limit_timer(self) -> LimitTimer:
        return self.smart_charging.timer

    def healthy(self) -> bool:
        """Every supervised protocol task runs and none keeps failing (see ``supervise``)."""
        return self._supervisor.healthy()

    def unhealthy_tasks(self) -> list[str]:
        """The names of the protocol tasks that make ``healthy()`` False."""
        return self._supervisor.unhealthy()

    # -- services for handlers and workers
    def add_handlers(self, *handlers: object) -> None:
        """More ``@on`` handler objects; they apply from the next connection on."""
        self._handlers.extend(handlers)

    def spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        """Run ``coro`` as a task owned by the adapter (cancelled by ``close()``); an
        exception it ends with is logged through ``failures``."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def supervise(self, name: str, factory: Callable[[], Awaitable[None]]) -> None:
        """Run ``factory()`` as a long-running task that starts again after an exception
        (cancelled by ``close()``; counted by ``healthy()``). For handler objects too, e.g.
        the firmware notification sender."""
        self._supervisor.start(name, factory)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            self.failures.failed("OCPP task", exc)

    async def request(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Send one CALL now. Raises ``ConnectionError`` when not connected, ``CallFailed``
        on a CALLERROR, ``TimeoutError`` without an answer."""
        client = self._client
        if client is None:
            raise ConnectionError("not connected to the CSMS")
        return await client.request(action, payload)

    async def send_when_registered(self, action: str, payload: dict[str, Any]) -> None:
        """Send a non-transactional CALL if registered (errors are logged, not raised)."""
        if not self.registered.is_set():
            LOG.info("%s not sent: not registered", action)
            return
        try:
            await self.request(action, self.clock.resolve_payload(payload))
        except (ConnectionError, CallFailed, TimeoutError, ClockUnknown) as exc:
            LOG.warning("%s not confirmed: %s", action, exc)

    async def data_transfer(self, vendor_id: str, message_id: str | None = None,
                            data: str | None = None) -> tuple[str, str | None]:
        """DataTransfer.req to the CSMS (vendor extensions); returns (status, data).

        Raises ``ConnectionError`` when not registered, ``CallFailed``, ``TimeoutError``."""
        if not self.registered.is_set():
            raise ConnectionError("not registered at the CSMS")
        payload: dict[str, Any] = {"vendorId": vendor_id}
        if message_id is not None:
            payload["messageId"] = message_id
        if data is not None:
            payload["data"] = data
        result = await self.request("DataTransfer", payload)
        return str(result["status"]), result.get("data")

    async def heartbeat(self) -> None:
        if not self.registered.is_set():
            raise ConnectionError("not registered at the CSMS")
        result = await self.request("Heartbeat", {})
        self._set_clock(result.get("currentTime"))

    def expect_reply(self, request: type[RequestEvent], connector: int) -> asyncio.Future[str]:
        """A future for a ``Reply`` the core gives later (UnlockConnector with a lock)."""
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        def listener(item: object) -> None:
            if (isinstance(item, Reply) and item.request is request
                    and item.connector == connector and not future.done()):
                future.set_result(item.status)

        stop = self.port.observe(listener)
        future.add_done_callback(lambda _: stop())
        return future

    def post_status(self, action: ReportStatus, triggered: bool = False) -> None:
        """Remember the latest status of a connector and queue its StatusNotification
        (``triggered``: by TriggerMessage, not queued twice, see ``Outbox.post_status``)."""
        self.transactions.statuses[action.connector] = action
        at = action.at or None

        def payload() -> dict[str, Any]:
            p: dict[str, Any] = {"connectorId": action.connector,
                                 "errorCode": action.error_code,
                                 "status": conversions.charge_point_status(action.status)}
            with contextlib.suppress(ClockUnknown, ValueError):
                # Optional in 1.6 (6.47): left out while the wall clock is not known.
                p["timestamp"] = self.clock.resolve(self.clock.stamp(at))
            if action.info:
                p["info"] = action.info[:50]
            return p

        self.outbox.post_status(action.connector, payload, triggered)

    def wake_boot(self) -> None:
        """TriggerMessage(BootNotification) while not yet Accepted: send it now."""
        self._boot_wake.set()

    async def trigger_boot(self) -> None:
        """TriggerMessage(BootNotification) when Accepted: send one (and apply its answer)."""
        try:
            result = await self.request("BootNotification", self._boot_payload())
        except (ConnectionError, CallFailed, TimeoutError) as exc:
            LOG.warning("triggered BootNotification failed: %s", exc)
            return
        self._set_clock(result.get("currentTime"))

    # -- the connection
    async def _connection_loop(self) -> None:
        backoff = self._backoff()
        while True:
            try:
                await self._connect_once(backoff)
            except Exception:  # a bug must not end the station's link for good
                LOG.exception("connection loop error")
            delay = backoff.next_delay()
            LOG.warning("CSMS connection lost: reconnect in %.1f s", delay)
            await asyncio.sleep(delay)

    async def _connect_once(self, backoff: Backoff) -> None:
        """One connection: connect, then serve until it closes (errors propagate)."""
        while True:
            options = self._connect_options()
            security = self.link_security
            try:
                if security is not None:
                    options = security.connect_options(options)
                ws = await connect(options, self._ping_interval())
            except Exception as exc:  # refused, DNS, TLS, handshake, subprotocol, timeout
                if security is not None:
                    security.connect_failed(exc)
                delay = backoff.next_delay()
                LOG.warning("CSMS connection failed (%s): retry in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                continue
            backoff.reset()
            LOG.info("connected to %s", ws.request.path if ws.request else "?")
            if security is not None:
                security.connected(ws)
            secrets = frozenset(p for p in (self.options.password, options.password) if p)
            client = OcppClient(self.options.station_id, ws, self.options.response_timeout_s,
                                self._handlers, secrets, self.failures, security)
            self._client = client
            session = asyncio.ensure_future(self._session(client))
            try:
                await client.serve()
            finally:
                session.cancel()
                # asyncio.wait, not "suppress(BaseException)": a cancellation of this task
                # (close()) must propagate, or the loop would reconnect forever.
                await asyncio.wait({session})
                self._client = None
                self._set_offline()
                with contextlib.suppress(Exception):
                    await ws.close()
            return

    def _connect_options(self) -> Ocpp16Options:
        """The options with the Basic auth password the CSMS set (AuthorizationKey) if any."""
        try:
            key = self.config.value("AuthorizationKey")
        except KeyError:
            key = None
        if key and self.options.security_profile in (1, 2):
            return dataclasses.replace(self.options, password=key)
        return self.options

    async def reconnect(self) -> None:
        """Close the connection, after ``ANSWER_GRACE_S`` for the CSMS to read the answer just
        sent; the loop reconnects (e.g. with a new AuthorizationKey or security profile)."""
        await asyncio.sleep(ANSWER_GRACE_S)
        client = self._client
        if client is not None:
            await client.close_connection()

    def _backoff(self) -> Backoff:
        o = self.options
        return Backoff(o.reconnect_min_s, o.reconnect_max_s, o.reconnect_jitter)

    async def _session(self, client: OcppClient) -> None:
        try:
            if not self._boot_done:
                await self._boot(client)
            self._set_registered()
            await self._heartbeat_loop(client)
        except ConnectionError:
            pass  # serve() ends as well
        except Exception:
            LOG.exception("OCPP session failed: reconnecting")
            await client.close_connection()

    def _boot_payload(self) -> dict[str, Any]:
        o = self.options
        payload: dict[str, Any] = {"chargePointVendor": o.vendor[:20],
                                   "chargePointModel": o.model[:20]}
        optional = {"chargePointSerialNumber": (o.serial, 25),
                    "chargeBoxSerialNumber": (o.serial, 25),
                    "firmwareVersion": (o.firmware_version, 50),
                    "meterType": (o.meter_type, 25),
                    "meterSerialNumber": (o.meter_serial, 25)}
        for key, (value, limit) in optional.items():
            if value:
                payload[key] = value[:limit]
        return payload

    async def _boot(self, client: OcppClient) -> None:
        """BootNotification until Accepted (OCPP 1.6 section 4.2)."""
        backoff = self._backoff()
        while True:
            self._boot_wake.clear()
            try:
                result = await client.request("BootNotification", self._boot_payload())
            except (CallFailed, TimeoutError) as exc:
                LOG.warning("BootNotification failed: %s", exc)
                await self._wait_boot_retry(backoff.next_delay())
                continue
            status = str(result["status"])
            self._set_clock(result.get("currentTime"))
            interval = int(result.get("interval", 0))
            if status == "Accepted":
                if interval > 0:
                    await self.config.update("HeartbeatInterval", str(interval))
                # only now, right before _set_registered: nobody may see "Accepted" while
                # the link is not yet registered (an Authorize would take the offline rules)
                self.registration = status
                self._boot_done = True
                return
            self.registration = status
            # Pending: answer the CSMS's requests, send nothing else; Rejected: send nothing.
            LOG.warning("BootNotification %s: retry in %d s", self.registration, interval)
            await self._wait_boot_retry(interval if interval > 0 else _DEFAULT_RETRY_S)

    async def _wait_boot_retry(self, delay: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._boot_wake.wait(), delay)

    async def _heartbeat_loop(self, client: OcppClient) -> None:
        """Heartbeat only when nothing else was exchanged for HeartbeatInterval (4.6)."""
        await heartbeat_loop(client, lambda: self.config.get_int("HeartbeatInterval"),
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
            self.sampler.reconfigure()  # clock-aligned values can be scheduled now
            self.outbox.wake()  # messages waiting for the wall clock can go

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

    def _ping_interval(self) -> float:
        value = self.config.get_int_or_none("WebSocketPingInterval")
        return float(value or 0)

    def _config_changed(self, key: str, value: str) -> None:
        if key == "HeartbeatInterval":
            self._heartbeat_wake.set()
        elif key == "WebSocketPingInterval" and self._client is not None:
            self._client.set_ping_interval(float(value))
        elif key in ("MeterValueSampleInterval", "ClockAlignedDataInterval"):
            self.sampler.reconfigure()
        self.port.submit(SettingsChanged(build_settings(
            protocol_settings(self.config),
            StationWiring(has_lock=self.options.has_lock,
                          max_current_a=self.options.max_current_a,
                          free_vend_id_tag=self.options.free_vend_id_tag))))

    # -- for the outbox (OutboxLink)
    def attempts(self) -> int:
        return self.config.get_int("TransactionMessageAttempts")

    def retry_interval(self) -> float:
        return float(self.config.get_int("TransactionMessageRetryInterval"))

    async def prepare(self, msg: QueuedMessage) -> dict[str, Any] | None:
        return await self.transactions.prepare(msg)

    async def confirmed(self, msg: QueuedMessage, result: dict[str, Any]) -> None:
        await self.transactions.confirmed(msg, result)

    async def precheck(self, action: str, payload: dict[str, Any]) -> None:
        client = self._client
        if client is not None:
            await client.precheck(action, payload)
