"""OCPP 2.0.1 charging profiles (ChargingProfileType, CompositeScheduleType) <-> the
version-neutral ``chargepoint.core.schedule`` values.

- ``profile_from_wire(evse, data, installed_at)``: a SetChargingProfile / RequestStartTransaction
  ``chargingProfile`` as the ``ocpp`` library hands it to a handler (snake_case, decimals as
  ``Decimal``) -> ``ChargingProfile`` set on ``evse`` (0: the station). Raises ``Refusal``
  (StatusInfo ``reasonCode`` and why) for what the schema lets through but K01 forbids:
  ChargingStationExternalConstraints (K01.FR.22); more than one chargingSchedule (only for
  ISO 15118, which the station does not speak); ``phaseToUse`` (no AC phase switching,
  K01.FR.20); Absolute / Recurring without startSchedule (K01.FR.40), Relative with one
  (K01.FR.41); first period not at 0 s (K01.FR.31), periods out of order (K01.FR.35); a
  ChargingStationMaxProfile that is Relative or not on EVSE 0, a TxProfile on EVSE 0.
- ``profile_to_wire(data)``: the stored snake_case data as a camelCase ChargingProfileType
  (ReportChargingProfiles).
- ``composite_to_wire(composite)``: ``CompositeSchedule`` -> CompositeScheduleType (snake_case,
  for ``call_result``).
- ``PURPOSE`` / ``WIRE_PURPOSE``: 2.0.1 purpose names <-> ``Purpose``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from ocpp.charge_point import snake_to_camel_case  # type: ignore[import-untyped]

from chargepoint.core.schedule import (
    ChargingProfile,
    CompositeSchedule,
    Kind,
    Purpose,
    Recurrency,
)
from chargepoint.ocppj.charging_profiles import composite_periods, schedule_from_wire, wire_time
from chargepoint.ocppj.timestamps import format_utc

PURPOSE = {
    "ChargingStationMaxProfile": Purpose.CHARGE_POINT_MAX,
    "TxDefaultProfile": Purpose.TX_DEFAULT,
    "TxProfile": Purpose.TX,
}
WIRE_PURPOSE = {purpose: name for name, purpose in PURPOSE.items()}


class Refusal(ValueError):
    """Why a profile or request is refused: ``reason_code`` (StatusInfoType.reasonCode, at
    most 20 characters) and the message (additionalInfo)."""

    def __init__(self, reason_code: str, message: str) -> None:
        super().__init__(message)
        self.reason_code = reason_code

    def status_info(self) -> dict[str, str]:
        return {"reason_code": self.reason_code, "additional_info": str(self)[:512]}


def _placement(evse: int, purpose: str, kind: str) -> Purpose:
    if purpose not in PURPOSE:  # ChargingStationExternalConstraints: set by the station only
        raise Refusal("InvalidValue", f"{purpose} cannot be set by the CSMS (K01.FR.22)")
    if purpose == "ChargingStationMaxProfile":
        if evse != 0:
            raise Refusal("InvalidValue", "a ChargingStationMaxProfile is set on evseId 0 only")
        if kind == "Relative":
            raise Refusal("InvalidValue", "a ChargingStationMaxProfile cannot be Relative")
    if purpose == "TxProfile" and evse == 0:
        raise Refusal("InvalidValue", "a TxProfile is set on an EVSE (evseId > 0) only")
    return PURPOSE[purpose]


def _schedule_rules(kind: str, schedule: dict[str, Any]) -> None:
    if any(p.get("phase_to_use") is not None for p in schedule["charging_schedule_period"]):
        raise Refusal("InvalidSchedule", "phaseToUse: no AC phase switching (K01.FR.20)")
    has_start = schedule.get("start_schedule") is not None
    if kind != "Relative" and not has_start:
        raise Refusal("InvalidSchedule", f"an {kind} profile needs a startSchedule (K01.FR.40)")
    if kind == "Relative" and has_start:
        raise Refusal("InvalidSchedule", "a Relative profile has no startSchedule (K01.FR.41)")


def profile_from_wire(evse: int, data: dict[str, Any],
                      installed_at: datetime) -> ChargingProfile:
    """The core's profile for ``data`` set on ``evse`` (see the module docstring)."""
    try:
        kind = str(data["charging_profile_kind"])
        purpose = _placement(evse, str(data["charging_profile_purpose"]), kind)
        schedules = data["charging_schedule"]
        if len(schedules) != 1:
            raise Refusal("InvalidSchedule", "one chargingSchedule only (more: ISO 15118)")
        _schedule_rules(kind, schedules[0])
        recurrency = data.get("recurrency_kind")
        try:
            schedule = schedule_from_wire(schedules[0])
        except ValueError as exc:
            raise Refusal("InvalidSchedule", str(exc)) from exc
        return ChargingProfile(
            id=data["id"],
            connector=evse,
            stack_level=data["stack_level"],
            purpose=purpose,
            kind=Kind(kind),
            schedule=schedule,
            recurrency=None if recurrency is None else Recurrency(recurrency),
            valid_from=wire_time(data, "valid_from"),
            valid_to=wire_time(data, "valid_to"),
            transaction_id=data.get("transaction_id"),
            installed_at=installed_at,
        )
    except Refusal:
        raise
    except (KeyError, TypeError, ValueError) as exc:  # a stored row may be malformed
        raise Refusal("InvalidValue", f"charging profile refused: {exc}") from exc


def profile_to_wire(data: dict[str, Any]) -> dict[str, Any]:
    """ReportChargingProfiles' ChargingProfileType of stored (snake_case) profile data."""
    return cast(dict[str, Any], snake_to_camel_case(data))


def composite_to_wire(composite: CompositeSchedule) -> dict[str, Any]:
    """GetCompositeScheduleResponse ``schedule`` (snake_case, for ``call_result``)."""
    return {
        "evse_id": composite.connector,
        "duration": composite.duration_s,
        "schedule_start": format_utc(composite.start),
        "charging_rate_unit": composite.unit.value,
        "charging_schedule_period": composite_periods(composite),
    }
