"""OCPP 1.6 charging profiles <-> the version-neutral ``chargepoint.core.schedule`` values.

- ``profile_from_wire(connector, data, installed_at)``: a ``csChargingProfiles`` /
  RemoteStartTransaction ``chargingProfile`` as the ``ocpp`` library hands it to a handler
  (snake_case keys, decimals as ``Decimal``) -> ``ChargingProfile``. Raises ``ValueError`` for
  a profile the schema lets through but OCPP 1.6 3.13 / 7.7-7.9 forbids (the handler answers
  Rejected): a Recurring profile without recurrencyKind, a transactionId outside a TxProfile,
  unordered periods ...
- ``plain(data)``, ``rate_unit(text)``, ``schedule_from_wire``: shared with 2.0.1
  (``chargepoint.ocppj.charging_profiles``), re-exported here.
- ``composite_to_wire(composite)``: ``CompositeSchedule`` -> GetCompositeSchedule.conf fields.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chargepoint.core.schedule import (
    ChargingProfile,
    CompositeSchedule,
    Kind,
    Purpose,
    Recurrency,
)
from chargepoint.ocppj.charging_profiles import (
    composite_periods,
    plain,
    rate_unit,
    schedule_from_wire,
    wire_time,
)
from chargepoint.ocppj.timestamps import format_utc

__all__ = ["composite_to_wire", "plain", "profile_from_wire", "rate_unit", "schedule_from_wire"]


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
            valid_from=wire_time(data, "valid_from"),
            valid_to=wire_time(data, "valid_to"),
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
            "charging_schedule_period": composite_periods(composite),
        },
    }
