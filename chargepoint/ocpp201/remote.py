"""UnlockConnector (F05) and DataTransfer (P01, P02) of the 2.0.1 slice.

``RemoteControl(services)`` is a handler object for ``Ocpp201Client``.

UnlockConnector(evseId, connectorId):
- an EVSE the station does not have, or a connectorId other than 1: UnknownConnector;
- a transaction runs on the EVSE: OngoingAuthorizedTransaction, nothing is unlocked
  (F05.FR.02; the transaction is ended by RequestStopTransaction, not by an unlock);
- else the core's ``UnlockRequested`` (the event 1.6's UnlockConnector drives: the core
  commands the lock open and the safety island drives the relay) answers once the lock
  feedback says open: Unlocked; the feedback does not follow in time: UnlockFailed. A station
  without a lock (fixed cable) answers UnlockFailed with reasonCode NoLock.

DataTransfer from the CSMS: UnknownVendorId (the station has no vendor extensions, P02).
``data_transfer(vendor_id, message_id, data)`` sends one to the CSMS (P01) and returns its
(status, data).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Protocol

from ocpp.v201 import call_result  # type: ignore[import-untyped]

from chargepoint.core.actions import Reply
from chargepoint.core.events import UnlockRequested
from chargepoint.ocpp201.client import on
from chargepoint.ocpp201.services import AdapterServices
from chargepoint.ocpp201.transactions import Transactions

UNLOCK_ANSWER_S = 15.0  # longest wait for the lock feedback (the core gives up before)
_STATUS = {"Unlocked": "Unlocked", "UnlockFailed": "UnlockFailed"}  # the core's -> 2.0.1


class RemoteServices(AdapterServices, Protocol):
    """What ``RemoteControl`` uses of the adapter (``Ocpp201Adapter``)."""

    @property
    def transactions(self) -> Transactions: ...


class RemoteControl:
    def __init__(self, services: RemoteServices) -> None:
        self._s = services

    # -- F05
    @on("UnlockConnector")
    async def on_unlock(self, evse_id: int, connector_id: int,
                        **_: Any) -> call_result.UnlockConnector:
        if not 1 <= evse_id <= self._s.port.connector_count or connector_id != 1:
            return call_result.UnlockConnector(status="UnknownConnector")
        if self._s.transactions.running(evse_id):
            return call_result.UnlockConnector(status="OngoingAuthorizedTransaction")
        status = await self._unlock(evse_id)
        if status == "NotSupported":  # no lock: a fixed cable
            return call_result.UnlockConnector(
                status="UnlockFailed", status_info={"reason_code": "NoLock",
                                                    "additional_info": "fixed cable"})
        return call_result.UnlockConnector(status=_STATUS.get(status, "UnlockFailed"))

    async def _unlock(self, evse_id: int) -> str:
        """The core's answer to ``UnlockRequested``: at once, or when the lock feedback
        confirms (a later ``Reply``)."""
        port = self._s.port
        late: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        def listener(item: object) -> None:
            if (isinstance(item, Reply) and item.request is UnlockRequested
                    and item.connector == evse_id and not late.done()):
                late.set_result(item.status)

        stop = port.observe(listener)
        try:
            now = next((a.status for a in port.submit(UnlockRequested(evse_id))
                        if isinstance(a, Reply)), None)
            if now is not None:
                return now
            with contextlib.suppress(TimeoutError):
                return await asyncio.wait_for(asyncio.shield(late), UNLOCK_ANSWER_S)
            return "UnlockFailed"
        finally:
            stop()
            late.cancel()

    # -- P02 / P01
    @on("DataTransfer")
    def on_data_transfer(self, vendor_id: str, **_: Any) -> call_result.DataTransfer:
        return call_result.DataTransfer(status="UnknownVendorId")

    async def data_transfer(self, vendor_id: str, message_id: str | None = None,
                            data: Any = None) -> tuple[str, Any]:
        """DataTransferRequest to the CSMS; returns (status, data). Raises ``ConnectionError``
        when not registered, ``CallFailed``, ``TimeoutError``."""
        if not self._s.registered.is_set():
            raise ConnectionError("not registered at the CSMS")
        payload: dict[str, Any] = {"vendorId": vendor_id[:255]}
        if message_id is not None:
            payload["messageId"] = message_id[:50]
        if data is not None:
            payload["data"] = data
        result = await self._s.request("DataTransfer", payload)
        return str(result["status"]), result.get("data")
