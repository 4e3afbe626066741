"""Conversions between sqlite rows / JSON text and the API's records."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from chargepoint.store.api import AuthEntry, QueuedMessage, TransactionRecord


def dump_payload(payload: dict[str, Any]) -> str:
    """JSON text of a payload. Raises ``TypeError`` unless it is a JSON-serialisable dict and
    ``ValueError`` for NaN/Infinity (no CSMS would accept them)."""
    if not isinstance(payload, dict):
        raise TypeError(f"payload must be a dict, not {type(payload).__name__}")
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def load_payload(text: str) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict):  # pragma: no cover - only dicts are ever written
        raise ValueError("stored payload is not a JSON object")
    return value


def finite(value: float, name: str) -> float:
    """``value`` as a float; raises ``ValueError`` for NaN/Infinity (a meter glitch)."""
    result = float(value)
    if not math.isfinite(result):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return result


def transaction_from_row(row: Sequence[Any]) -> TransactionRecord:
    return TransactionRecord(
        local_id=int(row[0]),
        connector=int(row[1]),
        id_tag=str(row[2]),
        meter_start_wh=float(row[3]),
        started_at=str(row[4]),
        csms_id=None if row[5] is None else str(row[5]),
        reservation_id=None if row[6] is None else int(row[6]),
        stopped=bool(row[7]),
        meter_stop_wh=None if row[8] is None else float(row[8]),
        stopped_at=None if row[9] is None else str(row[9]),
        stop_reason=None if row[10] is None else str(row[10]),
        stop_id_tag=None if row[11] is None else str(row[11]),
    )


def queued_from_row(row: Sequence[Any]) -> QueuedMessage:
    return QueuedMessage(
        seq=int(row[0]),
        action=str(row[1]),
        payload=load_payload(row[2]),
        tx_local_id=None if row[3] is None else int(row[3]),
        attempts=int(row[4]),
    )


def auth_from_row(row: Sequence[Any]) -> AuthEntry:
    return AuthEntry(
        id_tag=str(row[0]),
        status=str(row[1]),
        expiry=None if row[2] is None else str(row[2]),
        parent_id_tag=None if row[3] is None else str(row[3]),
    )
