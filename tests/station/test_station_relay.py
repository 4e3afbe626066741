"""`relay N contactor test` goes through its own interlock: never with a cable on PP or an EV on
the pilot, whatever the connector's availability. The full stack on the simulated bench; the
requests go through the real control socket."""

from __future__ import annotations

import asyncio

import pytest
from ocpp.v16 import call  # type: ignore[import-untyped]

from chargepoint.app import RunningStation
from chargepoint.control.client import ControlFailed, request
from chargepoint.control.protocol import Refused
from chargepoint.station_control import _relay_contactor
from hardware.interfaces import PilotState
from hardware.sim.bench import SimBench
from tests.fullstack import CpMaker, registered, status_reached, until
from tests.ocpp16.csms import Csms


async def relay(cp: RunningStation, op: str = "test", which: str = "contactor") -> str:
    result = await request(cp.config.control.socket, "relay",
                           {"connector": 1, "which": which, "op": op}, timeout_s=15)
    return str(result)


async def inoperative(cp: RunningStation, csms: Csms) -> None:
    await registered(cp)
    answer = await csms.send(call.ChangeAvailability(connector_id=1, type="Inoperative"))
    assert answer is not None and answer.status == "Accepted"
    await status_reached(csms, "Unavailable")
    await until(lambda: cp.controller.hardware_of(1).pilot.read().state is PilotState.F)


async def test_inoperative_connector_with_an_ev_asking_for_charge_is_refused(
        csms: Csms, make_cp: CpMaker) -> None:
    """The reproduction: state F hides the EV from the pilot; the contactor used to close."""
    cp = await make_cp()
    await inoperative(cp, csms)
    assert cp.bench is not None
    cp.bench.plug(1)  # an EV that wants energy
    closed: list[bool] = []
    hw = cp.controller.hardware_of(1)
    hw.proximity = None  # a fixed cable: only the pilot can tell (the harder case)

    async def spy() -> None:
        while True:
            closed.append(hw.contactor.commanded_closed)
            await asyncio.sleep(0.002)

    watcher = asyncio.create_task(spy())
    try:
        with pytest.raises(ControlFailed, match=r"pilot reads B with \+12 V applied"):
            await relay(cp)
    finally:
        watcher.cancel()
    assert not any(closed)
    await until(lambda: hw.pilot.read().state is PilotState.F)  # state F given back
    assert cp.controller.station.snapshot().connectors[0].status.value == "Unavailable"


async def test_a_cable_on_pp_is_refused(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await inoperative(cp, csms)
    assert cp.bench is not None
    cp.bench.plug(1)
    proximity = cp.controller.hardware_of(1).proximity
    assert proximity is not None
    await until(lambda: proximity.cable_rating_a() == 32)  # the island reported the cable
    with pytest.raises(ControlFailed, match=r"a cable is plugged in \(PP reads 32 A\)"):
        await relay(cp)
    assert not cp.controller.hardware_of(1).contactor.commanded_closed


async def test_inoperative_connector_without_ev_is_tested_and_stays_in_state_f(
        csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await inoperative(cp, csms)
    answer = await relay(cp)
    assert answer == "connector 1 contactor: close confirmed, open confirmed"
    hw = cp.controller.hardware_of(1)
    await until(lambda: hw.pilot.read().state is PilotState.F)
    assert not hw.contactor.commanded_closed and not hw.contactor.mirror_closed()


async def test_available_connector_without_ev_is_tested(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    assert await relay(cp) == "connector 1 contactor: close confirmed, open confirmed"
    assert cp.controller.hardware_of(1).pilot.read().state is PilotState.A


async def test_an_ev_arriving_during_the_test_opens_the_contactor_at_once() -> None:
    """While the contactor is closed for the test the pilot is watched: an EV plugging in
    (pilot leaves A) opens it at once. A bench whose mirror contact lags 0.3 s leaves the time."""
    async with SimBench(1, meter_model=None, feedback_delay_s=0.3) as bench:
        hw = bench.hardware.connectors[0]
        loop = asyncio.get_running_loop()
        test = asyncio.create_task(_relay_contactor(
            loop.time, hw, "test", abort=lambda: hw.pilot.read().state is not PilotState.A))
        await until(lambda: hw.contactor.commanded_closed)
        bench.plug(1)
        with pytest.raises(Refused, match="the pilot left A during the test"):
            await test
        assert not hw.contactor.commanded_closed


async def test_contactor_on_is_still_refused_and_off_always_allowed(
        csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await inoperative(cp, csms)
    with pytest.raises(ControlFailed, match="only switched by"):
        await relay(cp, "on")
    assert cp.bench is not None
    cp.bench.plug(1)
    assert await relay(cp, "off") == "connector 1 contactor: open confirmed"
