"""OCTT 1.6 032_1: a station on a backup supply sees mains fail while charging and stops its
transactions with reason PowerLoss *before* going down (StopTransaction, then StatusNotification
Finishing); when mains returns it carries on and a new session can start. The bench's mains
supply is switched through the control target, as ``chargepoint sim power {on,off}`` does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chargepoint.app import RunningStation
from chargepoint.core import actions as act
from chargepoint.core import events as ev
from chargepoint.station_control import StationControl
from tests.fullstack import (
    CpMaker,
    charging,
    registered,
    start_session,
    status_reached,
    statuses,
    until,
)
from tests.ocpp16.csms import Csms


def transaction_id(csms: Csms, nth: int = 0) -> int:
    """The transactionId the CSMS gave in its ``nth`` StartTransaction.conf."""
    confs = [f.payload for f in csms.frames
             if f.direction == "out" and f.kind == 3 and f.action == "StartTransaction"]
    return int(confs[nth]["transactionId"])


def tx_and_status(csms: Csms) -> list[str]:
    """The station's StartTransaction / StopTransaction CALLs and connector 1 statuses, in order."""
    out: list[str] = []
    for f in csms.calls():
        if f.action in ("StartTransaction", "StopTransaction"):
            out.append(f.action)
        elif f.action == "StatusNotification" and f.payload["connectorId"] == 1:
            out.append(f.payload["status"])
    return out


async def power(cp: RunningStation, state: str) -> dict[str, Any]:
    return await StationControl(cp).sim("power", {"state": state})


def mains_seen(cp: RunningStation, ok: bool) -> Callable[[], bool]:
    """A condition: the control loop has seen mains present (``ok``) or failed."""
    return lambda: cp.controller.mains_ok is ok


async def charged_some_energy(cp: RunningStation, meter_start: float) -> None:
    def above() -> bool:
        reading = cp.controller.meter_reading(1)
        return reading is not None and reading.energy_import_wh > meter_start + 1
    await until(above)


async def test_octt_032_1_power_failure_stops_transaction_before_going_down(
        csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    await start_session(cp, "0000A321")
    start = (await csms.wait_for("StartTransaction"))[0].payload
    await csms.wait_until(lambda: statuses(csms)[-1:] == ["Charging"])
    await charged_some_energy(cp, start["meterStart"])
    seen: list[ev.Event | act.Action] = []
    cp.controller.observe(seen.append)
    meter_at_stop: list[float] = []

    def note_meter(item: ev.Event | act.Action) -> None:
        reading = cp.controller.meter_reading(1)
        if isinstance(item, act.StopTransaction) and reading is not None:
            meter_at_stop.append(reading.energy_import_wh)
    cp.controller.observe(note_meter)

    described = await power(cp, "off")  # [Disconnect the power of the Charge Point.]
    assert described["power"] == {"mains": "off", "mains_ok": False}

    # 1. StopTransaction.req, reason PowerLoss, for the running transaction
    stop = (await csms.wait_for("StopTransaction"))[0].payload
    assert stop["reason"] == "PowerLoss"
    assert stop["transactionId"] == transaction_id(csms)
    assert stop["meterStop"] > start["meterStart"]
    assert len(meter_at_stop) == 1 and abs(stop["meterStop"] - meter_at_stop[0]) < 1
    # 3. StatusNotification.req Finishing (the EV is still plugged in), after the stop
    await status_reached(csms, "Finishing")
    order = tx_and_status(csms)
    assert order.index("StopTransaction") < order.index("Finishing")
    assert "Faulted" not in order
    # the contactor is open and its mirror agrees; the core was asked once
    assert not cp.controller.hardware_of(1).contactor.commanded_closed
    await until(lambda: not cp.controller.hardware_of(1).contactor.mirror_closed())
    requests = [e for e in seen if isinstance(e, ev.StopRequested)]
    assert [(r.connector, r.reason.value) for r in requests] == [(0, "PowerLoss")]
    assert cp.controller.mains_ok is False

    # [Reconnect the power]: nothing resumes, statuses go back to normal, a new session starts
    await power(cp, "on")
    await until(lambda: cp.controller.mains_ok is True)
    assert cp.bench is not None
    cp.bench.unplug(1)
    await csms.wait_until(lambda: statuses(csms)[-1:] == ["Available"])
    await start_session(cp, "0000B321")
    await charging(cp)
    second = (await csms.wait_for("StartTransaction", count=2))[1].payload
    assert second["idTag"] == "0000B321"
    assert second["meterStart"] >= stop["meterStop"]
    await csms.wait_until(lambda: statuses(csms)[-1:] == ["Charging"])
    assert len(csms.calls("StopTransaction")) == 1  # the new session was not stopped
    assert [e for e in seen if isinstance(e, ev.StopRequested)] == requests


async def test_octt_032_1_offline_the_stop_is_committed_and_sent_on_reconnect(
        csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    await start_session(cp, "0000C321")
    start = (await csms.wait_for("StartTransaction"))[0].payload
    await csms.wait_until(lambda: statuses(csms)[-1:] == ["Charging"])
    tx = transaction_id(csms)
    await csms.stop(abrupt=True)  # the CSMS is out of reach when mains fails
    await until(lambda: not cp.adapter.link_state().connected)
    await power(cp, "off")
    await until(lambda: not cp.controller.hardware_of(1).contactor.commanded_closed)
    await until(lambda: cp.adapter.link_state().queued >= 1)
    await csms.start()
    stop = (await csms.wait_for("StopTransaction"))[0].payload
    assert (stop["transactionId"], stop["reason"]) == (tx, "PowerLoss")
    assert stop["meterStop"] >= start["meterStart"]
    await csms.wait_until(lambda: "Finishing" in statuses(csms))


async def test_each_outage_asks_the_core_once_and_idle_connectors_stay_available(
        csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp(connectors=2)
    await registered(cp)
    await csms.wait_until(lambda: statuses(csms, 1) and statuses(csms, 2))
    seen: list[ev.Event | act.Action] = []
    cp.controller.observe(seen.append)

    def requests() -> list[ev.StopRequested]:
        return [e for e in seen if isinstance(e, ev.StopRequested)]
    for state, outages in (("off", 1), ("on", 1), ("off", 2)):
        await power(cp, state)
        await until(mains_seen(cp, state == "on"))
        assert len(requests()) == outages
    assert {(r.connector, r.reason.value) for r in requests()} == {(0, "PowerLoss")}
    await power(cp, "on")
    await until(lambda: cp.controller.mains_ok is True)
    assert csms.calls("StopTransaction") == []
    assert statuses(csms, 1)[-1] == statuses(csms, 2)[-1] == "Available"
