"""2.0.1 MeterValueType objects (block J) from a meter reading. Pure.

- ``meter_value(reading, measurands, context, stamp, offered_a=None, energy_wh=None)``: one
  ``{"timestamp", "sampledValue": [...]}`` for the configured ``measurands`` (members of
  ``SampledDataCtrlr.*Measurands`` / ``AlignedDataCtrlr.*Measurands``, "Measurand" or
  "Measurand.Phase"), values as numbers with ``unitOfMeasure``, ``phase`` and ``location``
  (Outlet); what the reading cannot supply is left out. ``energy_wh`` stands in for the energy
  register when there is no reading (a stored value: Transaction.Begin / End). None when
  nothing is left (a meterValue needs at least one sampledValue).
- ``meter_values_request(evse_id, values)``: the MeterValuesRequest payload (J01).
"""

from __future__ import annotations

from typing import Any

from chargepoint.ocppj.measurands import samples
from hardware.interfaces import MeterReading

ENERGY = "Energy.Active.Import.Register"


def meter_value(reading: MeterReading | None, measurands: list[str], context: str,
                stamp: str, offered_a: float | None = None,
                energy_wh: float | None = None) -> dict[str, Any] | None:
    sampled: list[dict[str, Any]] = []
    for s in samples(measurands, reading, offered_a):
        value: dict[str, Any] = {"value": round(s.value, s.decimals), "context": context,
                                 "measurand": s.measurand}
        if s.phase is not None:
            value["phase"] = s.phase
        if s.location is not None:
            value["location"] = s.location
        if s.unit is not None:
            value["unitOfMeasure"] = {"unit": s.unit}
        sampled.append(value)
    if reading is None and energy_wh is not None and ENERGY in measurands:
        sampled.insert(0, {"value": round(energy_wh, 1), "context": context,
                           "measurand": ENERGY, "location": "Outlet",
                           "unitOfMeasure": {"unit": "Wh"}})
    if not sampled:
        return None
    return {"timestamp": stamp, "sampledValue": sampled}


def meter_values_request(evse_id: int, values: list[dict[str, Any]]) -> dict[str, Any]:
    """MeterValuesRequest of EVSE ``evse_id``; ``values`` must not be empty."""
    if not values:
        raise ValueError("MeterValuesRequest needs at least one meterValue")
    return {"evseId": evse_id, "meterValue": values}
