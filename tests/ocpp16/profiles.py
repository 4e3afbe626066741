"""Charging profiles as a CSMS sends them (camelCase wire dicts) for the smart charging tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any


def iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def in_seconds(seconds: float) -> str:
    return iso(datetime.now(UTC) + timedelta(seconds=seconds))


def profile(profile_id: int, purpose: str, periods: list[tuple[int, float]] | float, *,
            stack: int = 0, kind: str = "Absolute", unit: str = "A",
            transaction_id: int | None = None, start: str | None = None,
            duration: int | None = None, recurrency: str | None = None,
            valid_from: str | None = None, valid_to: str | None = None,
            phases: int | None = None) -> dict[str, Any]:
    """A ChargingProfile; ``periods`` is [(startPeriod, limit)] or one limit from 0 s."""
    if isinstance(periods, int | float):
        periods = [(0, float(periods))]
    schedule: dict[str, Any] = {"chargingRateUnit": unit, "chargingSchedulePeriod": [
        {"startPeriod": s, "limit": float(limit), **({"numberPhases": phases} if phases else {})}
        for s, limit in periods]}
    if start is not None:
        schedule["startSchedule"] = start
    if duration is not None:
        schedule["duration"] = duration
    data: dict[str, Any] = {"chargingProfileId": profile_id, "stackLevel": stack,
                            "chargingProfilePurpose": purpose, "chargingProfileKind": kind,
                            "chargingSchedule": schedule}
    optional = {"transactionId": transaction_id, "recurrencyKind": recurrency,
                "validFrom": valid_from, "validTo": valid_to}
    data.update({k: v for k, v in optional.items() if v is not None})
    return data
