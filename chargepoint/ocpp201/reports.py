"""What a device-model report holds (B07 GetBaseReport, B08 GetReport) and how it is sent.

Base reports (B07):
- ConfigurationInventory: the controllers' variables (``device_model.VARIABLES``);
- FullInventory: those and every hardware component (ChargingStation, EVSE, Connector);
- SummaryInventory: the hardware's availability and problems (AvailabilityState, Available,
  Problem of ChargingStation, every EVSE and connector).

Custom reports (B08), ``select(slots, component_variables, criteria)``:
- ``componentVariable`` items pick a component (by name; with ``evse`` only that EVSE /
  connector, without it every instance) and optionally one variable (without it: all its
  variables);
- ``componentCriteria`` (Active, Available, Enabled, Problem) keep the components whose
  variable of that name is true (any of the criteria given);
- both given: the picked variables of the components that meet the criteria.
Nothing selected: the answer is EmptyResultSet and no NotifyReport follows.

``pages(entries)`` cuts the report into NotifyReports of ``REPORT_PAGE`` entries, ``seqNo``
from 0, ``tbc`` true on all but the last (B07.FR.04, B08.FR.03).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chargepoint.ocpp201.components import HARDWARE, Slot

REPORT_PAGE = 4  # entries per NotifyReport (a report may span several messages)
BASE_REPORTS = ("ConfigurationInventory", "FullInventory", "SummaryInventory")
CRITERIA = ("Active", "Available", "Enabled", "Problem")
_SUMMARY = frozenset({"AvailabilityState", "Available", "Problem"})


def base_report(slots: list[Slot], report_base: str) -> list[Slot]:
    """The slots of a GetBaseReport ``report_base`` (one of ``BASE_REPORTS``)."""
    if report_base == "ConfigurationInventory":
        return [s for s in slots if s.instance.name not in HARDWARE]
    if report_base == "SummaryInventory":
        return [s for s in slots if s.instance.name in HARDWARE and s.variable.name in _SUMMARY]
    return list(slots)


def _picks(slot: Slot, item: dict[str, Any]) -> bool:
    """Whether a componentVariable item (snake_case) picks ``slot``."""
    component = item["component"]
    if component["name"] != slot.instance.name or "instance" in component:
        return False
    evse = component.get("evse")
    if evse is not None and (int(evse["id"]) != slot.instance.evse or (
            evse.get("connector_id") is not None
            and evse["connector_id"] != slot.instance.connector)):
        return False
    variable = item.get("variable")
    return variable is None or (variable["name"] == slot.variable.name
                                and "instance" not in variable)


def select(slots: list[Slot], component_variables: Iterable[dict[str, Any]] | None,
           criteria: Iterable[str] | None) -> list[Slot]:
    """The slots of a GetReport (B08), in report order."""
    chosen = list(slots)
    if criteria:
        wanted = set(criteria)
        meeting = {s.instance for s in slots
                   if s.variable.name in wanted and s.value == "true"}
        chosen = [s for s in chosen if s.instance in meeting]
    if component_variables is not None:
        items = list(component_variables)
        chosen = [s for s in chosen if any(_picks(s, item) for item in items)]
    return chosen


def report_entry(slot: Slot) -> dict[str, Any]:
    """One ReportDataType of NotifyReport."""
    variable = slot.variable
    characteristics: dict[str, Any] = {"dataType": variable.data_type,
                                       "supportsMonitoring": False}
    if variable.unit:
        characteristics["unit"] = variable.unit
    if variable.members:
        characteristics["valuesList"] = ",".join(variable.members)
    if slot.max_limit is not None:
        characteristics["maxLimit"] = slot.max_limit
    attribute: dict[str, Any] = {"type": "Actual", "value": slot.value,
                                 "mutability": "ReadOnly" if variable.read_only
                                 else "ReadWrite",
                                 "persistent": slot.instance.name not in HARDWARE,
                                 "constant": slot.variable.name in ("ConnectorType",
                                                                    "SupplyPhases")}
    if variable.write_only:  # a secret (BasicAuthPassword): no value
        del attribute["value"]
        attribute["mutability"] = "WriteOnly"
    return {"component": slot.instance.wire(),
            "variable": {"name": variable.name},
            "variableAttribute": [attribute],
            "variableCharacteristics": characteristics}


def pages(request_id: int, generated_at: str, slots: list[Slot]) -> list[dict[str, Any]]:
    """The NotifyReport payloads of a report (none for an empty one)."""
    entries = [report_entry(s) for s in slots]
    chunks = [entries[i:i + REPORT_PAGE] for i in range(0, len(entries), REPORT_PAGE)]
    return [{"requestId": request_id, "generatedAt": generated_at, "seqNo": seq_no,
             "tbc": seq_no < len(chunks) - 1, "reportData": chunk}
            for seq_no, chunk in enumerate(chunks)]
