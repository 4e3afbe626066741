"""OCPP 1.6 charging profiles <-> the version-neutral ``chargepoint.core.schedule`` values.

- ``profile_from_wire(connector, data, installed_at)``: a ``csChargingProfiles`` /
  RemoteStartTransaction ``chargingProfile`` as the ``ocpp`` library hands it to a handler
  (snake_case keys, decimals as ``Decimal``) -> ``ChargingProfile``. Raises ``ValueError`` for
  a profile the schema lets through but OCPP 1.6 3.13 / 7.7-7.9 forbids (the handler answers
  Rejected): a Recurring profile without recurrencyKind, a transactionId outside a TxProfile,
  unordered periods ...
- ``plain(data)``: the same data JSON-ready (decimals as float) for the store.
- ``composite_to_wire(composite)``: ``CompositeSchedule`` -> GetCompositeSchedule.conf fields.
- ``rate_unit(text)``: "A" / "W" -> ``RateUnit`` (``ValueError`` otherwise).
"""

from __future__ import annotations

import decimal
from datetime import datetime
from typing import Any

from chargepoint.core.schedule import (
    ChargingProfile,
    ChargingSchedule,
    CompositeSchedule,
    Kind,
    Purpose,
    RateUnit,
    Recurrency,
    SchedulePeriod,
)
from chargepoint.ocppj.timestamps import format_utc, parse_utc


def plain(data: Any) -> Any:
    """``data`` with every ``Decimal`` as float (JSON-ready), structure unchanged."""
    if isinstance(data, decimal.Decimal):
        return float(data)
    if isinstance(data, dict):
        return {k: plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [plain(v) for v in data]
    return data


def rate_unit(text: object) -> RateUnit:
    try:
        return RateUnit(text)
    except ValueError:
        raise ValueError(f"chargingRateUnit must be A or W, not {text!r}") from None


def _time(data: dict[str, Any], key: str) -> datetime | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{key} must be a dateTime")
    return parse_utc(value)


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | decimal.Decimal):
        raise ValueError(f"{what} must be a number, got {value!r}")
    return float(value)


def _period(data: dict[str, Any]) -> SchedulePeriod:
    return SchedulePeriod(start_period_s=data["start_period"],
                          limit=_number(data["limit"], "limit"),
                          number_phases=data.get("number_phases"))


def schedule_from_wire(data: dict[str, Any]) -> ChargingSchedule:
    minimum = data.get("min_charging_rate")
    return ChargingSchedule(
        rate_unit=rate_unit(data["charging_rate_unit"]),
        periods=tuple(_period(p) for p in data["charging_schedule_period"]),
        start_schedule=_time(data, "start_schedule"),
        duration_s=data.get("duration"),
        min_charging_rate=None if minimum is None else _number(minimum, "minChargingRate"),
    )


def profile_from_wire(connector: int, data: dict[str, Any],
                      installed_at: datetime) -> ChargingProfile:
    """The core's profile for ``data`` set on ``connector`` (see the module docstring)."""
    try:
        recurrency = data.get("recurrency_kind")
        return ChargingProfile(
            id=data["charging_profile_id"],
            connector=connector,
            stack_level=data["stack_level"],
            purpose=Purpose(data["charging_profile_purpose"]),
            kind=Kind(data["charging_profile_kind"]),
            schedule=schedule_from_wire(data["charging_schedule"]),
            recurrency=None if recurrency is None else Recurrency(recurrency),
            valid_from=_time(data, "valid_from"),
            valid_to=_time(data, "valid_to"),
            transaction_id=data.get("transaction_id"),
            installed_at=installed_at,
        )
    except (KeyError, TypeError) as exc:  # the schema checks these; a stored row might not
        raise ValueError(f"malformed charging profile: {exc!r}") from exc


def composite_to_wire(composite: CompositeSchedule) -> dict[str, Any]:
    """GetCompositeSchedule.conf (snake_case, for ``call_result``): status Accepted,
    connectorId, scheduleStart and chargingSchedule."""
    return {
        "status": "Accepted",
        "connector_id": composite.connector,
        "schedule_start": format_utc(composite.start),
        "charging_schedule": {
            "duration": composite.duration_s,
            "start_schedule": format_utc(composite.start),
            "charging_rate_unit": composite.unit.value,
            "charging_schedule_period": [
                {"start_period": p.start_s, "limit": p.limit, "number_phases": p.phases}
                for p in composite.periods
            ],
        },
    }
