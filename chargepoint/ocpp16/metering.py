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
  boundary strictly after ``now_wall``.
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
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hardware.interfaces import MeterReading

CONTEXTS = frozenset({
    "Interruption.Begin", "Interruption.End", "Sample.Clock", "Sample.Periodic",
    "Transaction.Begin", "Transaction.End", "Trigger", "Other",
})
LOCATION = "Outlet"  # our meter measures what leaves the station
_LINE = ("L1", "L2", "L3")
_LINE_N = ("L1-N", "L2-N", "L3-N")

SampledValue = dict[str, str]
MeterValue = dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Sample:
    measurand: str
    value: float
    unit: str | None
    phase: str | None
    location: str | None
    decimals: int


def format_value(value: float, decimals: int) -> str:
    """A plain decimal string: at most ``decimals`` places, no trailing zeros, no exponent."""
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _samples(measurand: str, r: MeterReading | None, offered_a: float | None) -> list[_Sample]:
    """Every sample of one measurand the data can supply (all phases)."""
    out: list[_Sample] = []
    if measurand == "Current.Offered":
        if offered_a is not None:
            out.append(_Sample(measurand, offered_a, "A", None, None, 1))
        return out
    if r is None:
        return out
    if measurand == "Energy.Active.Import.Register":
        out.append(_Sample(measurand, r.energy_import_wh, "Wh", None, LOCATION, 1))
    elif measurand == "Energy.Active.Export.Register":
        if r.energy_export_wh is not None:
            out.append(_Sample(measurand, r.energy_export_wh, "Wh", None, LOCATION, 1))
    elif measurand == "Power.Active.Import":
        total = r.power_w
        if total is None and r.power_w_phases:
            total = sum(r.power_w_phases)
        if total is not None:
            out.append(_Sample(measurand, total, "W", None, LOCATION, 1))
        for phase, watts in zip(_LINE, r.power_w_phases, strict=False):
            out.append(_Sample(measurand, watts, "W", phase, LOCATION, 1))
    elif measurand == "Current.Import":
        for phase, amps in zip(_LINE, r.current_a, strict=False):
            out.append(_Sample(measurand, amps, "A", phase, LOCATION, 2))
    elif measurand == "Voltage":
        for phase, volts in zip(_LINE_N, r.voltage_v, strict=False):
            out.append(_Sample(measurand, volts, "V", phase, LOCATION, 1))
    elif measurand == "Frequency" and r.frequency_hz is not None:
        out.append(_Sample(measurand, r.frequency_hz, None, None, LOCATION, 2))
    return out


def _split_member(member: str) -> tuple[str, str | None]:
    """``"Voltage.L1"`` -> ("Voltage", "L1"); measurands themselves contain dots."""
    for phased in ("Power.Active.Import", "Current.Import", "Voltage"):
        if member.startswith(phased + "."):
            return phased, member[len(phased) + 1:]
    return member, None


def _phase_matches(wanted: str, phase: str | None) -> bool:
    # "Voltage.L1" means the L1 voltage, which 1.6 reports as L1-N.
    return phase is not None and (phase == wanted or phase == f"{wanted}-N")


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
    seen: set[tuple[str, str | None]] = set()
    for member in measurands:
        measurand, wanted_phase = _split_member(member.strip())
        for s in _samples(measurand, reading, offered_a):
            if wanted_phase is not None and not _phase_matches(wanted_phase, s.phase):
                continue
            if (s.measurand, s.phase) in seen or not math.isfinite(s.value):
                continue
            seen.add((s.measurand, s.phase))
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
            if s.unit is not None:
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


def next_aligned(now_wall: datetime, interval_s: int) -> datetime:
    """The next clock-aligned boundary strictly after ``now_wall``.

    OCPP 1.6 section 9.1.8 ClockAlignedDataInterval: evenly spaced intervals per day starting at
    00:00:00 (midnight), e.g. 900 -> 96 quarter hours. Midnight of ``now_wall``'s own time zone
    (pass aware UTC, as OCPP does). When ``interval_s`` does not divide a day, the last interval
    of the day is shorter and the next day starts again at midnight. ``interval_s`` must be > 0
    (0 means "no clock-aligned data": do not schedule)."""
    if interval_s <= 0:
        raise ValueError("interval_s must be > 0")
    midnight = now_wall.replace(hour=0, minute=0, second=0, microsecond=0)
    elapsed_us = (now_wall - midnight) // timedelta(microseconds=1)
    step_us = interval_s * 1_000_000
    candidate = midnight + timedelta(microseconds=(elapsed_us // step_us + 1) * step_us)
    next_midnight = midnight + timedelta(days=1)
    return min(candidate, next_midnight)


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
