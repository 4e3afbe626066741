"""The CSMS's device-model requests (B05-B08): GetVariables, SetVariables, GetBaseReport and
GetReport (each report then sent as NotifyReports). Payloads arrive validated, in snake_case.

- B05 GetVariables / B06 SetVariables: each item is resolved by ``Components.resolve`` (the
  controllers of ``device_model.VARIABLES`` at component level; ChargingStation, ``EVSE`` with
  its ``evse.id``, ``Connector`` with ``evse.id`` and ``connectorId``). Attribute ``Actual``
  only: any other is NotSupportedAttributeType. SetVariables checks type, range and list
  members, refuses read-only variables (every hardware variable is one) with Rejected, stores
  an Accepted value before it answers and applies it at once.
- B07 GetBaseReport: ConfigurationInventory, FullInventory, SummaryInventory (``reports``).
- B08 GetReport: by componentVariable and / or componentCriteria; EmptyResultSet when nothing
  matches. The report is chosen when the request is answered and sent after the answer.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from ocpp.v201 import call_result  # type: ignore[import-untyped]

from chargepoint.ocpp201 import reports
from chargepoint.ocpp201.client import on
from chargepoint.ocpp201.components import Components, Slot
from chargepoint.ocpp201.device_model import DeviceModel, SetRefused
from chargepoint.ocpp201.handlers import after
from chargepoint.ocppj.rpc_errors import CallFailed
from chargepoint.ocppj.timestamps import Clock

LOG = logging.getLogger("chargepoint.ocpp")

# attributeStatusInfo.reasonCode (at most 20 characters) of a refused SetVariables item
_REASON = {"Rejected": "InvalidValue", "NotSupportedAttributeType": "UnsupportedAttribute"}


class _ReadOnly(SetRefused):
    """A SetVariables value for a read-only variable (reasonCode ReadOnly)."""


class DeviceServices(Protocol):
    @property
    def model(self) -> DeviceModel: ...
    @property
    def components(self) -> Components: ...
    @property
    def clock(self) -> Clock: ...

    async def request(self, action: str, payload: dict[str, Any]) -> dict[str, Any]: ...


class DeviceModelRequests:
    def __init__(self, services: DeviceServices) -> None:
        self._s = services
        self._reports: dict[int, list[Slot]] = {}  # requestId -> the report to send

    # -- B05, B06
    @on("GetVariables")
    def on_get_variables(self, get_variable_data: list[dict[str, Any]],
                         **_: Any) -> call_result.GetVariables:
        results = []
        for item in get_variable_data:
            attribute, result = _addressed(item)
            try:
                instance, variable = self._s.components.resolve(item["component"],
                                                                item["variable"])
            except SetRefused as exc:
                result["attributeStatus"] = exc.status
            else:
                if attribute != "Actual":
                    result["attributeStatus"] = "NotSupportedAttributeType"
                elif variable.write_only:
                    result["attributeStatus"] = "Rejected"  # a secret: never read back
                else:
                    result["attributeStatus"] = "Accepted"
                    result["attributeValue"] = self._s.components.slot(instance,
                                                                       variable).value
            results.append(result)
        return call_result.GetVariables(get_variable_result=results)

    @on("SetVariables")
    async def on_set_variables(self, set_variable_data: list[dict[str, Any]],
                               **_: Any) -> call_result.SetVariables:
        results = []
        for item in set_variable_data:
            attribute, result = _addressed(item)
            value = str(item["attribute_value"])
            try:
                found = self._s.components.resolve(item["component"], item["variable"])[1]
                if attribute != "Actual":
                    raise SetRefused("NotSupportedAttributeType", f"{attribute} not supported")
                if found.read_only:
                    raise _ReadOnly("Rejected", f"{found.key} is read-only")
                self._s.model.check(found.component, found.name, value)
            except SetRefused as exc:
                result["attributeStatus"] = exc.status
                result["attributeStatusInfo"] = {
                    "reasonCode": "ReadOnly" if isinstance(exc, _ReadOnly)
                    else _REASON.get(exc.status, exc.status),
                    "additionalInfo": str(exc)[:512]}
            else:
                await asyncio.to_thread(self._s.model.persist, found.key, value)
                self._s.model.apply(found.key, value)
                result["attributeStatus"] = "RebootRequired" if found.reboot_required \
                    else "Accepted"
            results.append(result)
        return call_result.SetVariables(set_variable_result=results)

    # -- B07
    @on("GetBaseReport")
    def on_get_base_report(self, request_id: int, report_base: str,
                           **_: Any) -> call_result.GetBaseReport:
        if report_base not in reports.BASE_REPORTS:
            return call_result.GetBaseReport(status="NotSupported")
        self._reports[request_id] = reports.base_report(self._s.components.slots(),
                                                        report_base)
        return call_result.GetBaseReport(status="Accepted")

    @after("GetBaseReport")
    async def send_base_report(self, request_id: int, **_: Any) -> None:
        await self._send(request_id)

    # -- B08
    @on("GetReport")
    def on_get_report(self, request_id: int,
                      component_variable: list[dict[str, Any]] | None = None,
                      component_criteria: list[str] | None = None,
                      **_: Any) -> call_result.GetReport:
        chosen = reports.select(self._s.components.slots(), component_variable,
                                component_criteria)
        if not chosen:
            return call_result.GetReport(status="EmptyResultSet")
        self._reports[request_id] = chosen
        return call_result.GetReport(status="Accepted")

    @after("GetReport")
    async def send_report(self, request_id: int, **_: Any) -> None:
        await self._send(request_id)

    async def _send(self, request_id: int) -> None:
        """The NotifyReports of a report that was Accepted; stops at the first failure."""
        chosen = self._reports.pop(request_id, None)
        if chosen is None:
            return
        generated = self._s.clock.resolve(self._s.clock.stamp())
        for payload in reports.pages(request_id, generated, chosen):
            try:
                await self._s.request("NotifyReport", payload)
            except (ConnectionError, TimeoutError, CallFailed) as exc:
                LOG.warning("NotifyReport %d of request %d not confirmed: %s",
                            payload["seqNo"], request_id, exc)
                return


def _addressed(item: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A Get/SetVariables item's attribute type and the head of its result: what it
    addressed, as the CSMS named it (evse and instances included)."""
    attribute = str(item.get("attribute_type", "Actual"))
    result: dict[str, Any] = {"attributeType": attribute,
                              "component": dict(item["component"]),
                              "variable": dict(item["variable"])}
    return attribute, result
