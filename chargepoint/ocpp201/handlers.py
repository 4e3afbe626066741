"""The CSMS's requests of the 2.0.1 slice: device model (GetVariables, SetVariables,
GetBaseReport -> NotifyReport), provisioning (Reset, ChangeAvailability) and remote control
(RequestStartTransaction, RequestStopTransaction). Payloads arrive validated, in snake_case."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from ocpp.routing import after as _after  # type: ignore[import-untyped]
from ocpp.v201 import call_result  # type: ignore[import-untyped]

from chargepoint.core.actions import Action, Reply, StopTransaction
from chargepoint.core.events import (
    AvailabilityChanged,
    RemoteStartRequested,
    RemoteStopRequested,
)
from chargepoint.ocpp201.client import on
from chargepoint.ocpp201.device_model import DeviceModel, SetRefused, Variable
from chargepoint.ocpp201.transactions import Transactions
from chargepoint.ocppj.timestamps import Clock
from chargepoint.ports import StationPort

LOG = logging.getLogger("chargepoint.ocpp")

REPORT_PAGE = 4  # variables per NotifyReport (B07: a report may span several messages)
_REPORTS = frozenset({"ConfigurationInventory", "FullInventory"})


def after(action: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``ocpp.routing.after`` with types: runs after the answer was sent."""
    decorator: Callable[[Callable[..., Any]], Callable[..., Any]] = _after(action)
    return decorator


class HandlerServices(Protocol):
    @property
    def port(self) -> StationPort: ...
    @property
    def model(self) -> DeviceModel: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def transactions(self) -> Transactions: ...

    async def request(self, action: str, payload: dict[str, Any]) -> dict[str, Any]: ...

    def spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]: ...

    def restart(self, hard: bool) -> None:
        """Reset: remember the boot reason RemoteReset and restart the station."""


def _reply(actions: list[Action]) -> str:
    """The core's answer to a request event ("Rejected" if it gave none)."""
    return next((a.status for a in actions if isinstance(a, Reply)), "Rejected")


def report_entry(variable: Variable, value: str) -> dict[str, Any]:
    """One ReportDataType of NotifyReport."""
    characteristics: dict[str, Any] = {"dataType": variable.data_type,
                                       "supportsMonitoring": False}
    if variable.unit:
        characteristics["unit"] = variable.unit
    if variable.members:
        characteristics["valuesList"] = ",".join(variable.members)
    attribute: dict[str, Any] = {"type": "Actual", "value": value, "persistent": True,
                                 "mutability": "ReadOnly" if variable.read_only else "ReadWrite"}
    if variable.write_only:  # a secret (BasicAuthPassword): no value
        del attribute["value"]
        attribute["mutability"] = "WriteOnly"
    return {"component": {"name": variable.component},
            "variable": {"name": variable.name},
            "variableAttribute": [attribute],
            "variableCharacteristics": characteristics}


class Handlers:
    def __init__(self, services: HandlerServices) -> None:
        self._s = services

    # -- device model (B05, B06, B07)
    @on("GetVariables")
    def on_get_variables(self, get_variable_data: list[dict[str, Any]],
                         **_: Any) -> call_result.GetVariables:
        results = []
        for item in get_variable_data:
            component, variable, attribute, result = _addressed(item)
            try:
                found = self._s.model.lookup(component["name"], variable["name"])
            except SetRefused as exc:
                result["attributeStatus"] = exc.status
            else:
                if attribute != "Actual":
                    result["attributeStatus"] = "NotSupportedAttributeType"
                elif "instance" in component or "instance" in variable or "evse" in component:
                    result["attributeStatus"] = "UnknownComponent"  # component-level only
                elif found.write_only:
                    result["attributeStatus"] = "Rejected"  # never read back
                else:
                    result["attributeStatus"] = "Accepted"
                    result["attributeValue"] = self._s.model.value(found.key)
            results.append(result)
        return call_result.GetVariables(get_variable_result=results)

    @on("SetVariables")
    async def on_set_variables(self, set_variable_data: list[dict[str, Any]],
                               **_: Any) -> call_result.SetVariables:
        results = []
        for item in set_variable_data:
            component, variable, attribute, result = _addressed(item)
            try:
                if attribute != "Actual":
                    self._s.model.lookup(component["name"], variable["name"])
                    raise SetRefused("NotSupportedAttributeType", f"{attribute} not supported")
                found = self._s.model.check(component["name"], variable["name"],
                                            str(item["attribute_value"]))
            except SetRefused as exc:
                result["attributeStatus"] = exc.status
                result["attributeStatusInfo"] = {"reasonCode": "InvalidValue"
                                                 if exc.status == "Rejected" else exc.status,
                                                 "additionalInfo": str(exc)[:512]}
            else:
                value = str(item["attribute_value"])
                await asyncio.to_thread(self._s.model.persist, found.key, value)
                self._s.model.apply(found.key, value)
                result["attributeStatus"] = "Accepted"
            results.append(result)
        return call_result.SetVariables(set_variable_result=results)

    @on("GetBaseReport")
    def on_get_base_report(self, request_id: int, report_base: str,
                           **_: Any) -> call_result.GetBaseReport:
        status = "Accepted" if report_base in _REPORTS else "NotSupported"
        return call_result.GetBaseReport(status=status)

    @after("GetBaseReport")
    async def send_report(self, request_id: int, report_base: str, **_: Any) -> None:
        if report_base not in _REPORTS:
            return
        entries = [report_entry(v, value) for v, value in self._s.model.items()]
        generated = self._s.clock.resolve(self._s.clock.stamp())
        pages = [entries[i:i + REPORT_PAGE] for i in range(0, len(entries), REPORT_PAGE)]
        for seq_no, page in enumerate(pages):
            payload = {"requestId": request_id, "generatedAt": generated, "seqNo": seq_no,
                       "tbc": seq_no < len(pages) - 1, "reportData": page}
            try:
                await self._s.request("NotifyReport", payload)
            except (ConnectionError, TimeoutError, Exception) as exc:
                LOG.warning("NotifyReport %d of request %d not confirmed: %s", seq_no,
                            request_id, exc)
                return

    # -- provisioning (B11, B12, G03, G04)
    @on("Reset")
    async def on_reset(self, type: str, evse_id: int | None = None,
                       **_: Any) -> call_result.Reset:
        if evse_id is not None:
            return call_result.Reset(status="Rejected")  # resetting one EVSE: not supported
        if type == "Immediate" or not await asyncio.to_thread(self._busy):
            return call_result.Reset(status="Accepted")
        return call_result.Reset(status="Scheduled")

    @after("Reset")
    async def do_reset(self, type: str, evse_id: int | None = None, **_: Any) -> None:
        if evse_id is not None:
            return
        if type != "Immediate":
            await self._idle()
        self._s.restart(hard=type == "Immediate")

    def _busy(self) -> bool:
        store = self._s.port.store
        return any(not r.stopped for r in store.open_transactions())

    async def _idle(self) -> None:
        """Returns once the transactions that ran at the request have stopped (OnIdle)."""
        stopped = asyncio.Event()
        waiting: set[int] = set()

        def seen(item: object) -> None:
            if isinstance(item, StopTransaction):
                waiting.discard(item.connector)
                if not waiting:
                    stopped.set()

        stop = self._s.port.observe(seen)
        try:
            store = self._s.port.store
            records = await asyncio.to_thread(store.open_transactions)
            waiting.update(r.connector for r in records if not r.stopped)
            if waiting:
                await stopped.wait()
        finally:
            stop()

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
                         **_: Any) -> call_result.RequestStartTransaction:
        if evse_id is None and self._s.port.connector_count == 1:
            evse_id = 1
        if evse_id is None or not 1 <= evse_id <= self._s.port.connector_count:
            return call_result.RequestStartTransaction(status="Rejected")
        authorize = self._s.model.get_bool("AuthCtrlr.AuthorizeRemoteStart")
        self._s.transactions.expect_remote_start(evse_id, remote_start_id)
        status = _reply(self._s.port.submit(RemoteStartRequested(
            evse_id, str(id_token["id_token"]), authorized=not authorize)))
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


def _addressed(item: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], str,
                                                 dict[str, Any]]:
    """A Get/SetVariables item's component, variable and attribute type, and the head of
    its result (what it addressed, named as the CSMS named it)."""
    component, variable = item["component"], item["variable"]
    attribute = str(item.get("attribute_type", "Actual"))
    result: dict[str, Any] = {"attributeType": attribute,
                              "component": {"name": component["name"]},
                              "variable": {"name": variable["name"]}}
    return component, variable, attribute, result
