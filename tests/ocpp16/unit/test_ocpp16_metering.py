"""chargepoint.ocpp16.metering, checked against the official OCPP 1.6 JSON schemas."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import ocpp  # type: ignore[import-untyped]
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chargepoint.ocpp16.config_keys import SUPPORTED_MEASURANDS
from chargepoint.ocpp16.metering import (
    TransactionData,
    build_meter_value,
    format_value,
    meter_values_request,
    next_aligned,
)
from hardware.interfaces import MeterReading

SCHEMAS = Path(ocpp.__file__).parent / "v16" / "schemas"
TS = "2026-11-27T10:15:00.000Z"
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")

# jsonschema checks "date-time" only with an optional package; check it ourselves.
FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("date-time")  # type: ignore[untyped-decorator]
def _is_date_time(value: object) -> bool:
    return not isinstance(value, str) or bool(ISO_Z.match(value))


def validate(name: str, payload: dict[str, Any]) -> None:
    schema = json.loads((SCHEMAS / f"{name}.json").read_text())
    jsonschema.Draft4Validator(schema, format_checker=FORMATS).validate(payload)


THREE_PHASE = MeterReading(
    energy_import_wh=12345.67,
    energy_export_wh=10.0,
    power_w=11040.0,
    power_w_phases=[3680.0, 3680.0, 3680.0],
    voltage_v=[230.1, 229.8, 231.0],
    current_a=[16.01, 15.99, 16.0],
    frequency_hz=50.02,
)
ONE_PHASE = MeterReading(energy_import_wh=500.0, power_w=3680.0, voltage_v=[230.0],
                         current_a=[16.0])


def by_key(mv: dict[str, Any]) -> dict[tuple[str, str | None], dict[str, str]]:
    return {(sv["measurand"], sv.get("phase")): sv for sv in mv["sampledValue"]}


def test_all_measurands_three_phase_shapes() -> None:
    mv = build_meter_value(THREE_PHASE, measurands=SUPPORTED_MEASURANDS,
                           context="Sample.Periodic", timestamp=TS, offered_a=16.0)
    assert mv is not None and mv["timestamp"] == TS
    validate("MeterValues", meter_values_request(1, [mv], transaction_id=7))
    sv = by_key(mv)
    assert sv[("Energy.Active.Import.Register", None)] == {
        "value": "12345.7", "context": "Sample.Periodic", "format": "Raw",
        "measurand": "Energy.Active.Import.Register", "location": "Outlet", "unit": "Wh"}
    assert sv[("Energy.Active.Export.Register", None)]["value"] == "10"
    assert sv[("Power.Active.Import", None)]["unit"] == "W"
    assert sv[("Power.Active.Import", None)]["value"] == "11040"
    assert [sv[("Power.Active.Import", p)]["value"] for p in ("L1", "L2", "L3")] == ["3680"] * 3
    assert [sv[("Current.Import", p)]["value"] for p in ("L1", "L2", "L3")] == [
        "16.01", "15.99", "16"]
    assert sv[("Current.Import", "L1")]["unit"] == "A"
    assert [sv[("Voltage", p)]["value"] for p in ("L1-N", "L2-N", "L3-N")] == [
        "230.1", "229.8", "231"]
    assert sv[("Voltage", "L1-N")]["unit"] == "V"
    assert sv[("Current.Offered", None)] == {
        "value": "16", "context": "Sample.Periodic", "format": "Raw",
        "measurand": "Current.Offered", "unit": "A"}
    freq = sv[("Frequency", None)]
    assert freq["value"] == "50.02" and "unit" not in freq  # 1.6: no UnitOfMeasure for Hz
    assert len(mv["sampledValue"]) == 1 + 1 + 4 + 3 + 3 + 1 + 1


@pytest.mark.parametrize("context", ["Transaction.Begin", "Sample.Periodic", "Sample.Clock",
                                     "Transaction.End", "Trigger"])
def test_contexts(context: str) -> None:
    mv = build_meter_value(ONE_PHASE, measurands=["Energy.Active.Import.Register"],
                           context=context, timestamp=TS)
    assert mv is not None
    assert [s["context"] for s in mv["sampledValue"]] == [context]
    validate("MeterValues", meter_values_request(1, [mv]))


def test_unknown_context_is_misuse() -> None:
    with pytest.raises(ValueError):
        build_meter_value(ONE_PHASE, measurands=["Voltage"], context="Sample", timestamp=TS)


def test_single_phase_meter_reports_l1_only_and_skips_unknown_quantities() -> None:
    mv = build_meter_value(ONE_PHASE, measurands=SUPPORTED_MEASURANDS, context="Trigger",
                           timestamp=TS)
    assert mv is not None
    assert set(by_key(mv)) == {
        ("Energy.Active.Import.Register", None), ("Power.Active.Import", None),
        ("Current.Import", "L1"), ("Voltage", "L1-N")}


def test_phase_members_select_one_phase() -> None:
    mv = build_meter_value(THREE_PHASE, measurands=["Voltage.L2", "Current.Import.L3"],
                           context="Sample.Clock", timestamp=TS)
    assert mv is not None
    assert set(by_key(mv)) == {("Voltage", "L2-N"), ("Current.Import", "L3")}


def test_duplicates_are_reported_once() -> None:
    mv = build_meter_value(THREE_PHASE, measurands=["Voltage", "Voltage.L1"],
                           context="Sample.Clock", timestamp=TS)
    assert mv is not None and len(mv["sampledValue"]) == 3


def test_power_total_from_phases_when_meter_has_no_total() -> None:
    r = MeterReading(energy_import_wh=1.0, power_w_phases=[100.0, 200.5, 300.0])
    mv = build_meter_value(r, measurands=["Power.Active.Import"], context="Trigger",
                           timestamp=TS)
    assert mv is not None and by_key(mv)[("Power.Active.Import", None)]["value"] == "600.5"


def test_meter_fault_leaves_only_offered_current_or_nothing() -> None:
    assert build_meter_value(None, measurands=SUPPORTED_MEASURANDS, context="Sample.Periodic",
                             timestamp=TS) is None
    mv = build_meter_value(None, measurands=SUPPORTED_MEASURANDS, context="Sample.Periodic",
                           timestamp=TS, offered_a=10.5)
    assert mv is not None and [s["measurand"] for s in mv["sampledValue"]] == ["Current.Offered"]


def test_non_finite_values_are_left_out() -> None:
    r = MeterReading(energy_import_wh=5.0, frequency_hz=float("nan"))
    mv = build_meter_value(r, measurands=["Frequency", "Energy.Active.Import.Register"],
                           context="Trigger", timestamp=TS)
    assert mv is not None and [s["measurand"] for s in mv["sampledValue"]] == [
        "Energy.Active.Import.Register"]


def test_empty_request_is_misuse() -> None:
    with pytest.raises(ValueError):
        meter_values_request(1, [])


@given(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False), st.integers(0, 3))
def test_format_value_is_a_plain_decimal(value: float, decimals: int) -> None:
    text = format_value(value, decimals)
    assert re.fullmatch(r"-?\d+(\.\d*[1-9])?", text), text
    assert abs(float(text) - value) <= 0.5 * 10**-decimals + 1e-9 * abs(value)


def test_stop_transaction_with_transaction_data_validates() -> None:
    td = TransactionData(max_values=10)
    td.add(build_meter_value(THREE_PHASE, measurands=["Energy.Active.Import.Register"],
                             context="Transaction.Begin", timestamp=TS))
    td.add(build_meter_value(THREE_PHASE, measurands=SUPPORTED_MEASURANDS,
                             context="Sample.Periodic", timestamp=TS, offered_a=16))
    td.add(build_meter_value(None, measurands=["Energy.Active.Import.Register"],
                             context="Sample.Clock", timestamp=TS))  # None: ignored
    td.add(build_meter_value(THREE_PHASE, measurands=["Energy.Active.Import.Register"],
                             context="Transaction.End", timestamp=TS))
    assert len(td) == 3
    validate("StopTransaction", {
        "meterStop": 12346, "timestamp": TS, "transactionId": 5, "reason": "Local",
        "idTag": "04A1B2C3", "transactionData": td.values()})


def test_transaction_data_is_bounded_and_keeps_first_and_newest() -> None:
    td = TransactionData(max_values=8)
    for i in range(1000):
        td.add({"timestamp": f"t{i}", "sampledValue": [{"value": str(i)}]})
        assert len(td) <= 8
    stamps = [v["timestamp"] for v in td.values()]
    assert stamps[0] == "t0" and stamps[-1] == "t999"
    assert stamps == sorted(stamps, key=lambda s: int(s[1:]))  # order kept


def test_transaction_data_round_trips_json() -> None:
    td = TransactionData(max_values=4)
    for i in range(3):
        td.add({"timestamp": TS, "sampledValue": [{"value": str(i)}]})
    again = TransactionData.from_json(td.to_json(), max_values=4)
    assert again.values() == td.values()
    with pytest.raises(ValueError):
        TransactionData.from_json('{"a": 1}')
    with pytest.raises(ValueError):
        TransactionData(max_values=1)


UTC0 = datetime(2026, 11, 27, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "interval", "expected"),
    [
        (UTC0 + timedelta(minutes=7), 900, UTC0 + timedelta(minutes=15)),
        (UTC0 + timedelta(minutes=15), 900, UTC0 + timedelta(minutes=30)),  # strictly after
        (UTC0 + timedelta(minutes=14, seconds=59, microseconds=999999), 900,
         UTC0 + timedelta(minutes=15)),
        (UTC0, 3600, UTC0 + timedelta(hours=1)),
        (UTC0 + timedelta(hours=23, minutes=50), 900, UTC0 + timedelta(days=1)),
        # 7 h does not divide a day: 21:00 is the last boundary, then midnight
        (UTC0 + timedelta(hours=22), 7 * 3600, UTC0 + timedelta(days=1)),
        (UTC0 + timedelta(hours=13), 7 * 3600, UTC0 + timedelta(hours=14)),
        (UTC0 + timedelta(seconds=1), 86400, UTC0 + timedelta(days=1)),
    ],
)
def test_next_aligned(now: datetime, interval: int, expected: datetime) -> None:
    assert next_aligned(now, interval) == expected


def test_next_aligned_uses_midnight_of_the_given_zone() -> None:
    cet = timezone(timedelta(hours=1))
    now = datetime(2026, 11, 27, 5, 10, tzinfo=cet)
    assert next_aligned(now, 7 * 3600) == datetime(2026, 11, 27, 7, 0, tzinfo=cet)


def test_next_aligned_rejects_zero() -> None:
    with pytest.raises(ValueError):
        next_aligned(UTC0, 0)


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
       st.integers(min_value=1, max_value=86400))
def test_next_aligned_properties(naive: datetime, interval: int) -> None:
    now = naive.replace(tzinfo=UTC)
    nxt = next_aligned(now, interval)
    assert now < nxt <= now + timedelta(seconds=interval)
    midnight = nxt.replace(hour=0, minute=0, second=0, microsecond=0)
    assert (nxt - midnight).total_seconds() % interval == 0


def test_the_schema_check_itself_can_fail() -> None:
    mv = build_meter_value(ONE_PHASE, measurands=["Voltage"], context="Trigger",
                           timestamp="@mono:b:1.000")
    assert mv is not None
    with pytest.raises(jsonschema.ValidationError):
        validate("MeterValues", meter_values_request(1, [mv]))  # unresolved placeholder
    mv["timestamp"] = TS
    mv["sampledValue"][0]["unit"] = "Hz"
    with pytest.raises(jsonschema.ValidationError):
        validate("MeterValues", meter_values_request(1, [mv]))
