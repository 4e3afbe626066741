"""Charging-profile wire data both OCPP versions share, as the ``ocpp`` library hands it to a
handler (snake_case keys, decimals as ``Decimal``) -> the version-neutral
``chargepoint.core.schedule`` values.

- ``plain(data)``: the same data JSON-ready (decimals as float, structure unchanged) for the
  store.
- ``rate_unit(text)``: "A" / "W" -> ``RateUnit`` (``ValueError`` otherwise).
- ``wire_time(data, key)``: an optional dateTime field -> aware datetime.
- ``schedule_from_wire(data)``: a ChargingSchedule (1.6 ChargingSchedule, 2.0.1
  ChargingScheduleType: the same fields; 2.0.1's ``id``, ``phase_to_use`` and
  ``sales_tariff`` are the caller's business) -> ``ChargingSchedule``.

Each raises ``ValueError`` for what the schema lets through but the schedule model forbids
(first period not at 0 s, unordered periods, a negative limit ...).
"""

from __future__ import annotations

import decimal
from datetime import datetime
from typing import Any

from chargepoint.core.schedule import (
    ChargingSchedule,
    CompositeSchedule,
    RateUnit,
    SchedulePeriod,
)
from chargepoint.ocppj.timestamps import parse_utc


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


def wire_time(data: dict[str, Any], key: str) -> datetime | None:
    """The dateTime ``data[key]`` (None when absent)."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{key} must be a dateTime")
    return parse_utc(value)


def number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | decimal.Decimal):
        raise ValueError(f"{what} must be a number, got {value!r}")
    return float(value)


def _period(data: dict[str, Any]) -> SchedulePeriod:
    return SchedulePeriod(start_period_s=data["start_period"],
                          limit=number(data["limit"], "limit"),
                          number_phases=data.get("number_phases"))


def schedule_from_wire(data: dict[str, Any]) -> ChargingSchedule:
    minimum = data.get("min_charging_rate")
    return ChargingSchedule(
        rate_unit=rate_unit(data["charging_rate_unit"]),
        periods=tuple(_period(p) for p in data["charging_schedule_period"]),
        start_schedule=wire_time(data, "start_schedule"),
        duration_s=data.get("duration"),
        min_charging_rate=None if minimum is None else number(minimum, "minChargingRate"),
    )


def composite_periods(composite: CompositeSchedule) -> list[dict[str, Any]]:
    """The chargingSchedulePeriod list of ``composite`` (snake_case, for ``call_result``)."""
    return [{"start_period": p.start_s, "limit": p.limit, "number_phases": p.phases}
            for p in composite.periods]
