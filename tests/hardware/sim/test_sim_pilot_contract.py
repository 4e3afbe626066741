"""Contract tests for ControlPilot and ProximityPilot: the same assertions for ``SimPilot`` /
``SimProximity`` and for the REAL ``GpioControlPilot`` (decoder, debounce, burst sampling) /
``AdcProximityPilot`` reading a ``CpLine`` / ``PpLine`` loaded by the same ``VirtualEV``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from hardware.interfaces import ControlPilot, PilotReading, PilotState, ProximityPilot
from hardware.pilot import AdcProximityPilot, GpioControlPilot, PilotDecoder
from hardware.sim.analog import CpLine, PpLine
from hardware.sim.ev import EvFault, VirtualEV
from hardware.sim.pilot import SimPilot, SimProximity

TOL_V = 0.1  # 10-bit ADC over 30 V: 29 mV per step


@dataclass
class PilotRig:
    pilot: ControlPilot
    ev: VirtualEV


def _sim() -> PilotRig:
    ev = VirtualEV()
    return PilotRig(SimPilot(ev), ev)


def _real() -> PilotRig:
    ev = VirtualEV()
    line = CpLine(ev)
    pilot = GpioControlPilot(line, line, PilotDecoder(debounce_count=2), clock=line.clock)
    return PilotRig(pilot, ev)


@pytest.fixture(params=[_sim, _real], ids=["sim", "real_driver"])
def rig(request: pytest.FixtureRequest) -> PilotRig:
    make: Callable[[], PilotRig] = request.param
    return make()


def settle(pilot: ControlPilot) -> PilotReading:
    """Read until the debounce has passed (a few bursts, as the control loop would)."""
    for _ in range(3):
        pilot.read()
    return pilot.read()


def test_is_a_control_pilot(rig: PilotRig) -> None:
    assert isinstance(rig.pilot, ControlPilot)


def test_charging_sequence(rig: PilotRig) -> None:
    pilot, ev = rig.pilot, rig.ev
    r = settle(pilot)
    assert r.state is PilotState.A and r.low_v is None and pilot.duty_percent is None
    assert r.high_v == pytest.approx(12.0, abs=TOL_V)
    ev.plug()
    r = settle(pilot)
    assert r.state is PilotState.B and r.high_v == pytest.approx(9.0, abs=TOL_V)
    pilot.set_duty(26.7)
    assert pilot.duty_percent == 26.7
    assert ev.offered_a == pytest.approx(16.02)
    r = settle(pilot)
    assert r.state is PilotState.C and r.diode_ok
    assert r.high_v == pytest.approx(6.0, abs=TOL_V)
    assert r.low_v == pytest.approx(-12.0, abs=TOL_V)
    ev.wants_energy = False
    assert settle(pilot).state is PilotState.B
    ev.wants_energy = True
    assert settle(pilot).state is PilotState.C
    pilot.set_off()
    assert pilot.duty_percent is None
    r = settle(pilot)
    assert r.state is PilotState.B and r.low_v is None
    ev.unplug()
    assert settle(pilot).state is PilotState.A


def test_state_f(rig: PilotRig) -> None:
    rig.ev.plug()
    rig.pilot.set_duty(50.0)
    rig.pilot.set_state_f()
    assert rig.pilot.duty_percent is None
    assert rig.ev.offered_a == 0.0
    r = settle(rig.pilot)
    assert r.state is PilotState.F and r.high_v == pytest.approx(-12.0, abs=TOL_V)
    rig.pilot.set_duty(50.0)
    assert settle(rig.pilot).state is PilotState.C


def test_state_e(rig: PilotRig) -> None:
    rig.ev.plug()
    rig.pilot.set_duty(50.0)
    rig.ev.fault = EvFault.STATE_E
    r = settle(rig.pilot)
    assert r.state is PilotState.E and r.high_v == pytest.approx(0.0, abs=TOL_V)


def test_diode_failure(rig: PilotRig) -> None:
    rig.ev.plug()
    rig.pilot.set_duty(50.0)
    assert settle(rig.pilot).diode_ok
    rig.ev.fault = EvFault.DIODE
    r = settle(rig.pilot)
    assert r.diode_ok is False
    assert r.low_v is not None and r.low_v > -10.0  # the -12 V level is missing
    rig.ev.fault = EvFault.NONE
    assert settle(rig.pilot).diode_ok


@pytest.mark.parametrize("duty", [0.0, -5.0, 100.1])
def test_bad_duty_raises(rig: PilotRig, duty: float) -> None:
    with pytest.raises(ValueError, match="duty"):
        rig.pilot.set_duty(duty)


def test_cp_line_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="positive"):
        CpLine(VirtualEV(), scale=0.0)
    with pytest.raises(ValueError, match="duty"):
        CpLine(VirtualEV()).set_duty(101.0)


@pytest.fixture(params=["sim", "real_driver"])
def pp_rig(request: pytest.FixtureRequest) -> tuple[ProximityPilot, VirtualEV, SimProximity]:
    ev = VirtualEV()
    sim = SimProximity(ev)
    if request.param == "sim":
        return sim, ev, sim
    return AdcProximityPilot(PpLine(sim)), ev, sim


def test_proximity_contract(pp_rig: tuple[ProximityPilot, VirtualEV, SimProximity]) -> None:
    pp, ev, cable = pp_rig
    assert isinstance(pp, ProximityPilot)
    assert pp.cable_rating_a() is None
    ev.plug()
    assert pp.cable_rating_a() == 32
    for rating in (13, 20, 63):
        cable.set_rating(rating)
        assert pp.cable_rating_a() == rating
    ev.unplug()
    assert pp.cable_rating_a() is None
