"""OCPP 2.0.1 meter values (J01, J02) and the TransactionEvent retry variables, end to end:
clock-aligned MeterValuesRequest outside a transaction, MeterValueClock Updated inside one,
TxStarted / TxEnded measurands and intervals, Current.Offered, MessageAttempts."""

from __future__ import annotations

from typing import Any

from ocpp.v201 import call

from tests.fullstack import charging, until
from tests.ocpp201.conftest import Cp201Maker
from tests.ocpp201.csms import Csms201

TAG = "04A1B2C3"


async def registered(cp: Any, csms: Csms201) -> None:
    await until(lambda: cp.adapter.link_state().registration == "Accepted")
    await csms.wait_for("StatusNotification")


def measurands(meter_value: dict[str, Any]) -> set[str]:
    return {v["measurand"] for v in meter_value["sampledValue"]}


def contexts(meter_value: dict[str, Any]) -> set[str]:
    return {v["context"] for v in meter_value["sampledValue"]}


def whole_second(stamp: str) -> bool:
    return stamp.endswith(".000Z")


async def test_j01_clock_aligned_meter_values_without_a_transaction(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(**{"AlignedDataCtrlr.Interval": 1,
                             "AlignedDataCtrlr.Measurands":
                                 "Energy.Active.Import.Register,Voltage"})
    await registered(cp, csms201)
    frames = await csms201.wait_for("MeterValues", 2)
    for frame in frames[:2]:
        payload = frame.payload
        assert payload["evseId"] == 1
        (value,) = payload["meterValue"]
        assert whole_second(value["timestamp"])
        assert contexts(value) == {"Sample.Clock"}
        assert measurands(value) == {"Energy.Active.Import.Register", "Voltage"}
        energy = next(v for v in value["sampledValue"]
                      if v["measurand"] == "Energy.Active.Import.Register")
        assert energy["unitOfMeasure"] == {"unit": "Wh"}
        assert isinstance(energy["value"], int | float)
        phases = {v["phase"] for v in value["sampledValue"] if v["measurand"] == "Voltage"}
        assert phases == {"L1-N", "L2-N", "L3-N"}
    assert frames[0].payload["meterValue"][0]["timestamp"] != (
        frames[1].payload["meterValue"][0]["timestamp"])
    assert csms201.events() == []
    assert not csms201.errors_sent()


async def test_j02_clock_aligned_inside_a_transaction_is_an_updated(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(**{"AlignedDataCtrlr.Interval": 1})
    await registered(cp, csms201)
    assert cp.bench is not None
    cp.bench.plug(1)
    cp.bench.tap(TAG)
    await charging(cp)
    clock = await csms201.wait_until(lambda: [
        e for e in csms201.events() if e["triggerReason"] == "MeterValueClock"])
    updated = clock[0]
    assert updated["eventType"] == "Updated"
    assert updated["transactionInfo"]["chargingState"] == "Charging"
    (value,) = updated["meterValue"]
    assert contexts(value) == {"Sample.Clock"}
    assert whole_second(value["timestamp"])
    await csms201.wait_until(lambda: len([e for e in csms201.events()
                                          if e["triggerReason"] == "MeterValueClock"]) >= 2)
    cp.bench.unplug(1)
    await csms201.wait_until(lambda: csms201.events()[-1]["eventType"] == "Ended")
    events = csms201.events()
    assert [e["seqNo"] for e in events] == list(range(len(events)))
    # while the transaction ran, the aligned values of EVSE 1 came as Updated only
    begin, end = events[0]["timestamp"], events[-1]["timestamp"]
    during = [f for f in csms201.calls("MeterValues")
              if begin < f.payload["meterValue"][0]["timestamp"] < end]
    assert during == []


async def test_j02_tx_started_measurands_with_current_offered(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(**{
        "SampledDataCtrlr.TxStartedMeasurands": "Energy.Active.Import.Register,Current.Offered",
        "SampledDataCtrlr.TxUpdatedInterval": 1,
        "SampledDataCtrlr.TxUpdatedMeasurands": "Current.Offered,Power.Active.Import"})
    await registered(cp, csms201)
    assert cp.bench is not None
    cp.bench.plug(1)
    cp.bench.tap(TAG)
    await charging(cp)
    events = await csms201.wait_until(lambda: len(csms201.events()) >= 2
                                      and csms201.events())
    started, updated = events[0], events[1]
    (begin,) = started["meterValue"]
    assert measurands(begin) == {"Energy.Active.Import.Register", "Current.Offered"}
    assert contexts(begin) == {"Transaction.Begin"}
    offered = next(v for v in begin["sampledValue"] if v["measurand"] == "Current.Offered")
    assert offered["unitOfMeasure"] == {"unit": "A"} and "phase" not in offered
    assert offered["value"] > 0
    assert updated["triggerReason"] == "MeterValuePeriodic"
    (periodic,) = updated["meterValue"]
    assert "Current.Offered" in measurands(periodic)
    assert "Energy.Active.Import.Register" not in measurands(periodic)
    assert contexts(periodic) == {"Sample.Periodic"}


async def test_j02_tx_ended_interval_samples_come_with_ended(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(**{"SampledDataCtrlr.TxEndedInterval": 1,
                             "SampledDataCtrlr.TxUpdatedInterval": 1,
                             "AlignedDataCtrlr.TxEndedInterval": 1,
                             "AlignedDataCtrlr.TxEndedMeasurands": "Voltage"})
    await registered(cp, csms201)
    assert cp.bench is not None
    cp.bench.plug(1)
    cp.bench.tap(TAG)
    await charging(cp)
    await csms201.wait_until(lambda: len(csms201.events()) >= 4)  # Started + 3 periodic
    cp.bench.unplug(1)
    await csms201.wait_until(lambda: csms201.events()[-1]["eventType"] == "Ended")
    ended = csms201.events()[-1]
    values = ended["meterValue"]
    assert contexts(values[-1]) == {"Transaction.End"}
    periodic = [v for v in values if contexts(v) == {"Sample.Periodic"}]
    clock = [v for v in values if contexts(v) == {"Sample.Clock"}]
    assert len(periodic) >= 2
    assert all(measurands(v) == {"Energy.Active.Import.Register"} for v in periodic)
    assert clock and all(measurands(v) == {"Voltage"} for v in clock)
    assert all(whole_second(v["timestamp"]) for v in clock)


async def test_message_attempts_and_interval_are_variables(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(**{"OCPPCommCtrlr.MessageAttempts": 5})
    await registered(cp, csms201)
    assert cp.adapter.attempts() == 5
    result = await csms201.send(call.SetVariables(set_variable_data=[
        {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "MessageAttempts"},
         "attributeValue": "2"},
        {"component": {"name": "OCPPCommCtrlr"},
         "variable": {"name": "MessageAttemptInterval"}, "attributeValue": "1"}]))
    assert [r["attribute_status"] for r in result.set_variable_result] == ["Accepted"] * 2
    assert (cp.adapter.attempts(), cp.adapter.retry_interval()) == (2, 1.0)
    # the CSMS refuses the Started twice: after 2 attempts it is given up (E: MessageAttempts)
    csms201.refuse_events = 2
    assert cp.bench is not None
    cp.bench.plug(1)
    cp.bench.tap(TAG)
    await charging(cp)
    await csms201.wait_until(lambda: len(csms201.events()) == 2)
    await until(lambda: cp.store.queue_length() == 0, timeout=10)
    events = csms201.events()
    assert [e["seqNo"] for e in events] == [0, 0]
    assert len(csms201.errors_sent()) == 2
