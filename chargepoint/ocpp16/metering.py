"""OCPP 1.6 meter values: building MeterValue objects, clock-aligned scheduling, transactionData.

API (pure; no I/O, no clock reads):

- ``build_meter_value(reading, *, measurands, context, timestamp, offered_a=None) -> dict | None``
  One ``MeterValue`` as on the wire (``{"timestamp", "sampledValue": [...]}``) for a
  ``hardware.interfaces.MeterReading`` (or None when the meter failed) and the current offered
  on the pilot. ``measurands``: the members of MeterValuesSampledData / MeterValuesAlignedData /
  StopTxn*Data (``Configuration.get_csl``), ``"Measurand"`` or ``"Measurand.Phase"``.
  ``context``: one of ``CONTEXTS``. ``timestamp``: from ``Clock.stamp`` (ISO or placeholder).
  Returns None when there is nothing to report (no member the reading can supply).
- ``meter_values_request(connector_id, values, transaction_id=None) -> dict``: the
  MeterValues.req payload.
- ``next_aligned(now_wall, interval_s) -> datetime``: the next ClockAlignedDataInterval
  boundary strictly after ``now_wall`` (version-neutral, from ``chargepoint.ocppj.measurands``,
  which also says what a reading supplies per measurand).
- ``TransactionData(max_values)``: the bounded ``transactionData`` of StopTransaction.req
  (StopTxnSampledData / StopTxnAlignedData), serialisable with ``to_json`` / ``from_json`` so
  it survives a restart (keep it in ``store.kv_set``).

Wire rules followed (OCPP 1.6 sections 3.16, 7.31 Measurand, 7.33 Phase, 7.45 UnitOfMeasure,
9.1.x MeterValues* keys): values are strings; energy registers in Wh; power in W; currents in
A per phase (L1..L3); voltages per phase to neutral (L1-N..L3-N) in V; Current.Offered in A
without phase; Frequency carries no unit (1.6 has no UnitOfMeasure for it: Hertz implied).
Measurands the station cannot read are left out silently (section 3.16.4).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from chargepoint.ocppj.measurands import next_aligned, samples
from hardware.interfaces import MeterReading

__all__ = ["CONTEXTS", "TransactionData", "build_meter_value", "format_value",
           "meter_values_request", "next_aligned"]

CONTEXTS = frozenset({
    "Interruption.Begin", "Interruption.End", "Sample.Clock", "Sample.Periodic",
    "Transaction.Begin", "Transaction.End", "Trigger", "Other",
})

SampledValue = dict[str, str]
MeterValue = dict[str, Any]


def format_value(value: float, decimals: int) -> str:
    """A plain decimal string: at most ``decimals`` places, no trailing zeros, no exponent."""
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def build_meter_value(
    reading: MeterReading | None,
    *,
    measurands: Iterable[str],
    context: str,
    timestamp: str,
    offered_a: float | None = None,
) -> MeterValue | None:
    """One MeterValue for the configured measurands (see the module docstring)."""
    if context not in CONTEXTS:
        raise ValueError(f"unknown ReadingContext {context!r}")
    sampled: list[SampledValue] = []
    for s in samples(list(measurands), reading, offered_a):
        sv: SampledValue = {
            "value": format_value(s.value, s.decimals),
            "context": context,
            "format": "Raw",
            "measurand": s.measurand,
        }
        if s.phase is not None:
            sv["phase"] = s.phase
        if s.location is not None:
            sv["location"] = s.location
        if s.unit is not None and s.measurand != "Frequency":
            sv["unit"] = s.unit
        sampled.append(sv)
    if not sampled:
        return None
    return {"timestamp": timestamp, "sampledValue": sampled}


def meter_values_request(
    connector_id: int, values: Sequence[MeterValue], transaction_id: int | None = None
) -> dict[str, Any]:
    """MeterValues.req payload. ``values`` must not be empty (``minItems: 1``)."""
    if not values:
        raise ValueError("MeterValues.req needs at least one meterValue")
    payload: dict[str, Any] = {"connectorId": connector_id, "meterValue": list(values)}
    if transaction_id is not None:
        payload["transactionId"] = transaction_id
    return payload


class TransactionData:
    """The meter values of one transaction for StopTransaction.req ``transactionData``.

    Bounded: at most ``max_values`` MeterValue entries. When full, every second entry between the
    first and the newest is dropped (the series is thinned, its span kept), so a week-long
    session still fits one message. The Transaction.Begin value (first) is never dropped.
    """

    def __init__(self, max_values: int = 48) -> None:
        if max_values < 2:
            raise ValueError("max_values must be >= 2")
        self._max = max_values
        self._values: list[MeterValue] = []

    def add(self, meter_value: MeterValue | None) -> None:
        """Append one MeterValue (None is ignored, for ``build_meter_value``'s result)."""
        if meter_value is None:
            return
        if len(self._values) >= self._max:
            first, middle = self._values[0], self._values[1:]
            self._values = [first, *middle[1::2]]
        self._values.append(meter_value)

    def values(self) -> list[MeterValue]:
        """The entries, oldest first (a copy; ready for ``transactionData``)."""
        return list(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def to_json(self) -> str:
        return json.dumps(self._values, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str, max_values: int = 48) -> TransactionData:
        """Rebuild from ``to_json`` output; garbage raises ``ValueError``."""
        data = json.loads(text)
        if not isinstance(data, list) or not all(isinstance(v, dict) for v in data):
            raise ValueError("not a list of MeterValue objects")
        td = cls(max_values)
        for v in data:
            td.add(v)
        return td
