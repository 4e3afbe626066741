"""Handlers for the CSMS's Core, Reservation and RemoteTrigger requests (OCPP 1.6 section 5).

``CoreHandlers(services)`` is a handler object for ``OcppClient``: its ``@on`` methods answer
from the core (``port.submit(event)`` -> ``Reply``) or the configuration; follow-up messages
are sent from ``@after`` hooks, never from ``@on`` (the library would deadlock).
``Hooks`` holds the extension points: vendor DataTransfer and the Firmware/Diagnostics status
that TriggerMessage reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from ocpp.v16 import call_result  # type: ignore[import-untyped]

from chargepoint.core.actions import Reply, ReportStatus
from chargepoint.core.events import (
    AvailabilityChanged,
    Event,
    RemoteStartRequested,
    RemoteStopRequested,
    RequestEvent,
    ReservationCancelled,
    ReservationMade,
    UnlockRequested,
)
from chargepoint.ocpp16.authorization import Authorizer
from chargepoint.ocpp16.client import after, on
from chargepoint.ocpp16.config_keys import Configuration
from chargepoint.ocpp16.options import Ocpp16Options
from chargepoint.ocpp16.triggers import known_statuses, send_shared
from chargepoint.ocppj.follow_ups import TriggerFollowUps
from chargepoint.ocppj.reservations import StoredReservations
from chargepoint.ocppj.timestamps import Clock, parse_utc
from chargepoint.ports import StationPort
from chargepoint.store.api import ReservationRecord, StoreAPI

LOG = logging.getLogger("chargepoint.ocpp")

DataTransferHook = Callable[[str, str | None, str | None], tuple[str, str | None] | None]
_TRIGGERS = ("BootNotification", "DiagnosticsStatusNotification", "FirmwareStatusNotification",
             "Heartbeat", "MeterValues", "StatusNotification")
UNLOCK_ANSWER_S = 15.0  # longest wait for the core's answer (stop under load + lock feedback)


@dataclass
class Hooks:
    """Extension points. ``data_transfer(vendor_id, message_id, data)`` returns
    ``(status, data)`` or None for "not mine" (-> UnknownVendorId)."""

    data_transfer: list[DataTransferHook] = field(default_factory=list)
    firmware_status: Callable[[], str] = lambda: "Idle"
    diagnostics_status: Callable[[], str] = lambda: "Idle"


class RemoteStartProfiles(Protocol):
    """A RemoteStartTransaction's charging profile (``smart_charging.SmartCharging``)."""

    def check_remote_profile(self, connector: int | None,
                             profile: dict[str, Any]) -> bool: ...

    def expect_remote_start(self, id_tag: str, connector: int | None,
                            profile: dict[str, Any]) -> None: ...


class TriggerableSampler(Protocol):
    """TriggerMessage(MeterValues) (``sampler.Sampler``)."""

    def can_trigger(self, connector: int | None) -> bool: ...

    async def trigger(self, connector: int | None) -> None: ...


class KnownStatuses(Protocol):
    """The latest status reported per connector (``transactions.Transactions``)."""

    @property
    def statuses(self) -> Mapping[int, ReportStatus]: ...


class HandlerServices(Protocol):
    """What ``CoreHandlers`` uses of the adapter (``Ocpp16Adapter`` provides it)."""

    @property
    def port(self) -> StationPort: ...
    @property
    def store(self) -> StoreAPI: ...
    @property
    def config(self) -> Configuration: ...
    @property
    def options(self) -> Ocpp16Options: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def authorizer(self) -> Authorizer: ...
    @property
    def reservations(self) -> StoredReservations: ...
    @property
    def hooks(self) -> Hooks: ...
    @property
    def sampler(self) -> TriggerableSampler: ...
    @property
    def transactions(self) -> KnownStatuses: ...
    @property
    def registered(self) -> asyncio.Event: ...
    @property
    def smart_charging(self) -> RemoteStartProfiles: ...
    @property
    def triggers(self) -> TriggerFollowUps: ...

    def expect_reply(self, request: type[RequestEvent],
                     connector: int) -> asyncio.Future[str]: ...

    def post_status(self, action: ReportStatus, triggered: bool = False) -> None: ...

    async def heartbeat(self) -> None: ...

    async def reconnect(self) -> None: ...

    async def send_when_registered(self, action: str, payload: dict[str, Any]) -> None: ...

    async def trigger_boot(self) -> None: ...

    def wake_boot(self) -> None: ...


class CoreHandlers:
    def __init__(self, services: HandlerServices) -> None:
        self._services = services

    def _reply(self, event: Event, default: str = "Rejected") -> str:
        for action in self._services.port.submit(event):
            if isinstance(action, Reply):
                return action.status
        LOG.warning("no Reply from the core to %s: answering %s", event, default)
        return default

    def _connector_ok(self, connector: int | None, allow_zero: bool) -> bool:
        if connector is None:
            return True
        return (0 if allow_zero else 1) <= connector <= self._services.port.connector_count

    # -- Core profile
    @on("ChangeAvailability")
    async def on_change_availability(self, connector_id: int, type: str,
                                     **_: Any) -> call_result.ChangeAvailability:
        if not self._connector_ok(connector_id, allow_zero=True):
            return call_result.ChangeAvailability(status="Rejected")
        operative = type == "Operative"
        status = self._reply(AvailabilityChanged(connector_id, operative))
        if status in ("Accepted", "Scheduled"):
            # Inoperative survives a reboot (OCTT 034): the station persists it (Scheduled:
            # the target); answer once that is written.
            await self._services.port.durable()
        return call_result.ChangeAvailability(status=status)

    @on("ChangeConfiguration")
    async def on_change_configuration(self, key: str, value: str,
                                      **_: Any) -> call_result.ChangeConfiguration:
        status = await self._services.config.update(key, value)
        return call_result.ChangeConfiguration(status=status)

    @after("ChangeConfiguration")
    async def after_change_configuration(self, key: str, value: str, **_: Any) -> None:
        # Security whitepaper 1.3: a new AuthorizationKey applies from the next connection;
        # reconnect now (the .conf has been sent) so that it is used at once (OCTT 073).
        if key.lower() == "authorizationkey" and self._services.options.security_profile in (1, 2):
            with contextlib.suppress(KeyError):
                if self._services.config.value("AuthorizationKey") == value:
                    await self._services.reconnect()

    @on("ClearCache")
    async def on_clear_cache(self, **_: Any) -> call_result.ClearCache:
        status = await asyncio.to_thread(self._services.authorizer.clear_cache)
        return call_result.ClearCache(status=status)

    @on("DataTransfer")
    def on_data_transfer(self, vendor_id: str, message_id: str | None = None,
                         data: str | None = None, **_: Any) -> call_result.DataTransfer:
        for hook in self._services.hooks.data_transfer:
            answer = hook(vendor_id, message_id, data)
            if answer is not None:
                return call_result.DataTransfer(status=answer[0], data=answer[1])
        return call_result.DataTransfer(status="UnknownVendorId")

    @on("GetConfiguration")
    def on_get_configuration(self, key: list[str] | None = None,
                             **_: Any) -> call_result.GetConfiguration:
        known, unknown = self._services.config.get(key)
        return call_result.GetConfiguration(
            configuration_key=[kv.to_wire() for kv in known] or None,
            unknown_key=unknown or None)

    @on("RemoteStartTransaction")
    def on_remote_start(self, id_tag: str, connector_id: int | None = None,
                        charging_profile: dict[str, Any] | None = None,
                        **_: Any) -> call_result.RemoteStartTransaction:
        smart = self._services.smart_charging
        # 5.11: only a TxProfile may come with RemoteStartTransaction (OCTT 060); it becomes
        # the TxProfile of the transaction that starts (OCTT 059).
        if charging_profile is not None and not smart.check_remote_profile(connector_id,
                                                                           charging_profile):
            return call_result.RemoteStartTransaction(status="Rejected")
        if connector_id is not None and not self._connector_ok(connector_id, allow_zero=False):
            return call_result.RemoteStartTransaction(status="Rejected")  # OCTT 027
        authorized = not self._services.config.get_bool("AuthorizeRemoteTxRequests")
        status = self._reply(RemoteStartRequested(connector_id, id_tag, authorized))
        if status == "Accepted" and charging_profile is not None:
            smart.expect_remote_start(id_tag, connector_id, charging_profile)
        return call_result.RemoteStartTransaction(status=status)

    @on("RemoteStopTransaction")
    async def on_remote_stop(self, transaction_id: int,
                             **_: Any) -> call_result.RemoteStopTransaction:
        record = await asyncio.to_thread(self._services.store.transaction_by_csms_id,
                                         str(transaction_id))
        if record is None or record.stopped:
            return call_result.RemoteStopTransaction(status="Rejected")  # OCTT 028
        status = self._reply(RemoteStopRequested(record.connector))
        return call_result.RemoteStopTransaction(status=status)

    @on("Reset")
    def on_reset(self, type: str, **_: Any) -> call_result.Reset:
        return call_result.Reset(status="Accepted")

    @after("Reset")
    def after_reset(self, type: str, **_: Any) -> None:
        # The .conf is on the wire: now stop sessions and restart (5.14).
        self._services.port.request_restart(type == "Hard")

    @on("UnlockConnector")
    async def on_unlock(self, connector_id: int, **_: Any) -> call_result.UnlockConnector:
        if not self._connector_ok(connector_id, allow_zero=False):
            return call_result.UnlockConnector(status="NotSupported")  # OCTT 031
        # With a lock the core answers once the lock feedback confirms (a later Reply).
        late = self._services.expect_reply(UnlockRequested, connector_id)
        try:
            status = self._reply(UnlockRequested(connector_id), default="")
            if not status:
                try:
                    status = await asyncio.wait_for(asyncio.shield(late), UNLOCK_ANSWER_S)
                except TimeoutError:
                    status = "UnlockFailed"
        finally:
            late.cancel()
        return call_result.UnlockConnector(status=status)

    # -- Reservation profile
    @on("ReserveNow")
    async def on_reserve_now(self, connector_id: int, expiry_date: str, id_tag: str,
                             reservation_id: int, parent_id_tag: str | None = None,
                             **_: Any) -> call_result.ReserveNow:
        if not self._connector_ok(connector_id, allow_zero=True):
            return call_result.ReserveNow(status="Rejected")
        if connector_id == 0 and not self._reserve_zero():
            return call_result.ReserveNow(status="Rejected")
        try:
            expiry = parse_utc(expiry_date)
        except ValueError:
            return call_result.ReserveNow(status="Rejected")
        wall = self._services.clock.wall_now() or datetime.now(UTC)
        expires_at = self._services.port.now() + (expiry - wall).total_seconds()
        status = self._reply(ReservationMade(reservation_id, connector_id, id_tag,
                                             parent_id_tag, expires_at))
        if status == "Accepted":
            await self._services.reservations.put(ReservationRecord(
                reservation_id, connector_id, id_tag, parent_id_tag, expiry_date))
        return call_result.ReserveNow(status=status)

    def _reserve_zero(self) -> bool:
        try:
            return self._services.config.get_bool("ReserveConnectorZeroSupported")
        except KeyError:
            return False

    @on("CancelReservation")
    def on_cancel_reservation(self, reservation_id: int,
                              **_: Any) -> call_result.CancelReservation:
        status = self._reply(ReservationCancelled(reservation_id))
        return call_result.CancelReservation(status=status)

    # -- RemoteTrigger profile
    @on("TriggerMessage")
    def on_trigger(self, requested_message: str, connector_id: int | None = None,
                   **_: Any) -> call_result.TriggerMessage:
        if requested_message not in _TRIGGERS:
            return call_result.TriggerMessage(status="NotImplemented")
        if not self._connector_ok(connector_id, allow_zero=True):
            return call_result.TriggerMessage(status="Rejected")  # OCTT 055
        sampler = self._services.sampler
        if requested_message == "MeterValues" and not sampler.can_trigger(connector_id):
            return call_result.TriggerMessage(status="Rejected")
        statuses = self._services.transactions.statuses
        if requested_message == "StatusNotification" and not known_statuses(statuses,
                                                                            connector_id):
            return call_result.TriggerMessage(status="Rejected")
        return call_result.TriggerMessage(status="Accepted")

    @after("TriggerMessage")
    async def after_trigger(self, requested_message: str, connector_id: int | None = None,
                            **_: Any) -> None:
        await self._services.triggers.run(
            (requested_message, connector_id),
            lambda: self._send_triggered(requested_message, connector_id))

    async def _send_triggered(self, requested_message: str, connector_id: int | None) -> None:
        a = self._services
        if await send_shared(a, a.transactions.statuses, requested_message, connector_id):
            return
        if requested_message == "FirmwareStatusNotification":
            await a.send_when_registered("FirmwareStatusNotification",
                                         {"status": a.hooks.firmware_status()})
        elif requested_message == "DiagnosticsStatusNotification":
            await a.send_when_registered("DiagnosticsStatusNotification",
                                         {"status": a.hooks.diagnostics_status()})
