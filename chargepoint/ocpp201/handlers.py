"""The CSMS's requests of the 2.0.1 slice: provisioning (Reset, ChangeAvailability) and remote
control (RequestStartTransaction, with a chargingProfile through ``smart_charging``;
RequestStopTransaction); the device model's requests are in ``device_requests``. Payloads
arrive validated, in snake_case.

Reset (B11, B12): of the station: Immediate ends the transactions and restarts, OnIdle waits
for them first (Scheduled). Of one EVSE (``evseId``; unknown: Rejected): an EVSE has nothing of
its own to reboot here, so Immediate (Accepted) stops the core's session there (its transaction
ends with stoppedReason ImmediateReset) and the EVSE stays in service; OnIdle answers Scheduled
while a 2.0.1 transaction is open on it and then does nothing more (Accepted when none is)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Protocol

from ocpp.routing import after as _after  # type: ignore[import-untyped]
from ocpp.v201 import call_result  # type: ignore[import-untyped]

from chargepoint.core.actions import Action, Reply
from chargepoint.core.events import (
    AvailabilityChanged,
    RemoteStartRequested,
    RemoteStopRequested,
    StopRequested,
)
from chargepoint.core.types import StopReason
from chargepoint.ocpp201.authorization import Authorization
from chargepoint.ocpp201.client import on
from chargepoint.ocpp201.profile_conversions import Refusal
from chargepoint.ocpp201.services import AdapterServices
from chargepoint.ocpp201.transactions import Transactions

LOG = logging.getLogger("chargepoint.ocpp")


def after(action: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``ocpp.routing.after`` with types: runs after the answer was sent."""
    decorator: Callable[[Callable[..., Any]], Callable[..., Any]] = _after(action)
    return decorator


class RemoteStartProfiles(Protocol):
    """A RequestStartTransaction's chargingProfile (``smart_charging.SmartCharging``)."""

    def remote_profile_refusal(self, evse: int, data: dict[str, Any]) -> Refusal | None:
        """Why the profile is refused (None: it is not)."""

    def expect_remote_start(self, evse: int, id_token: str, data: dict[str, Any]) -> None: ...


class HandlerServices(AdapterServices, Protocol):
    @property
    def transactions(self) -> Transactions: ...
    @property
    def authorization(self) -> Authorization: ...
    @property
    def smart_charging(self) -> RemoteStartProfiles: ...

    def restart(self, hard: bool) -> None:
        """Reset: remember the boot reason RemoteReset and restart the station."""


def _reply(actions: list[Action]) -> str:
    """The core's answer to a request event ("Rejected" if it gave none)."""
    return next((a.status for a in actions if isinstance(a, Reply)), "Rejected")


class Handlers:
    def __init__(self, services: HandlerServices) -> None:
        self._s = services

    # -- provisioning (B11, B12, G03, G04)
    @on("Reset")
    async def on_reset(self, type: str, evse_id: int | None = None,
                       **_: Any) -> call_result.Reset:
        if evse_id is not None and not 1 <= evse_id <= self._s.port.connector_count:
            return call_result.Reset(status="Rejected")
        if type == "Immediate" or not self._open(evse_id):
            return call_result.Reset(status="Accepted")
        return call_result.Reset(status="Scheduled")

    @after("Reset")
    async def do_reset(self, type: str, evse_id: int | None = None, **_: Any) -> None:
        if evse_id is not None and not 1 <= evse_id <= self._s.port.connector_count:
            return
        if evse_id is not None:  # B11/B12 one EVSE: it has nothing of its own to reboot
            if type == "Immediate":  # its transaction ends (ImmediateReset), no restart
                self._s.port.submit(StopRequested(evse_id, StopReason.HARD_RESET))
            else:
                await self._idle(evse_id)
            LOG.info("EVSE %d reset (%s): its transaction ended, the station runs on",
                     evse_id, type)
            return
        if type != "Immediate":
            await self._idle()
        self._s.restart(hard=type == "Immediate")

    def _open(self, evse_id: int | None = None) -> set[str]:
        """The transactionIds of the 2.0.1 transactions open now (on ``evse_id`` if given)."""
        transactions = self._s.transactions
        if evse_id is None:
            return transactions.open_transactions()
        found = transactions.points.open_transaction(evse_id)
        return set() if found is None else {found}

    async def _idle(self, evse_id: int | None = None) -> None:
        """Returns once the 2.0.1 transactions that ran at the request (on ``evse_id`` if
        given) have ended (OnIdle)."""
        await self._s.transactions.ended(self._open(evse_id))

    @on("ChangeAvailability")
    async def on_change_availability(self, operational_status: str,
                                     evse: dict[str, Any] | None = None,
                                     **_: Any) -> call_result.ChangeAvailability:
        connector = int(evse["id"]) if evse else 0
        if (evse and evse.get("connector_id", 1) != 1) or connector > self._s.port.connector_count:
            return call_result.ChangeAvailability(status="Rejected")
        status = _reply(self._s.port.submit(
            AvailabilityChanged(connector, operational_status == "Operative")))
        if status == "Accepted":
            await self._s.port.durable()
        return call_result.ChangeAvailability(
            status=status if status in ("Accepted", "Scheduled") else "Rejected")

    # -- remote control (F01, F02, F03)
    @on("RequestStartTransaction")
    def on_request_start(self, id_token: dict[str, Any], remote_start_id: int,
                         evse_id: int | None = None,
                         charging_profile: dict[str, Any] | None = None,
                         **_: Any) -> call_result.RequestStartTransaction:
        if evse_id is None and self._s.port.connector_count == 1:
            evse_id = 1
        if evse_id is None or not 1 <= evse_id <= self._s.port.connector_count:
            return call_result.RequestStartTransaction(status="Rejected")
        if charging_profile is not None:  # F01.FR.08ff, K05: a TxProfile for the new one
            refusal = self._s.smart_charging.remote_profile_refusal(evse_id, charging_profile)
            if refusal is not None:
                return call_result.RequestStartTransaction(
                    status="Rejected", status_info=refusal.status_info())
        authorize = self._s.model.get_bool("AuthCtrlr.AuthorizeRemoteStart")
        token = str(id_token["id_token"])
        self._s.authorization.remember_type(token, str(id_token["type"]))
        self._s.transactions.expect_remote_start(evse_id, remote_start_id)
        status = _reply(self._s.port.submit(RemoteStartRequested(
            evse_id, token, authorized=not authorize)))
        if status != "Accepted":
            self._s.transactions.forget_remote_start(evse_id)
        elif charging_profile is not None:
            self._s.smart_charging.expect_remote_start(evse_id, token, charging_profile)
        return call_result.RequestStartTransaction(
            status="Accepted" if status == "Accepted" else "Rejected")

    @on("RequestStopTransaction")
    async def on_request_stop(self, transaction_id: str,
                              **_: Any) -> call_result.RequestStopTransaction:
        store = self._s.port.store
        record = await asyncio.to_thread(store.transaction_by_csms_id, transaction_id)
        if record is None or record.stopped:
            return call_result.RequestStopTransaction(status="Rejected")
        status = _reply(self._s.port.submit(RemoteStopRequested(record.connector)))
        return call_result.RequestStopTransaction(
            status="Accepted" if status == "Accepted" else "Rejected")
