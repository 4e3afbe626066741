"""VirtualEV and the simulated pilot/proximity: how the car answers (IEC 61851-1 Annex A)."""

from __future__ import annotations

import pytest

from hardware.interfaces import ControlPilot, PilotState, ProximityPilot
from hardware.sim.ev import EvFault, VirtualEV, offered_current_a
from hardware.sim.pilot import SimPilot, SimProximity


@pytest.mark.parametrize(
    ("duty", "amps"),
    [
        (None, 0.0),
        (5.0, 0.0),  # digital communication: this EV does not speak it
        (7.9, 0.0),
        (8.0, 6.0),
        (9.9, 6.0),
        (10.0, 6.0),
        (16.0, 9.6),
        (26.7, 16.02),
        (53.3, 31.98),
        (85.0, 51.0),
        (90.0, 65.0),
        (96.0, 80.0),
        (97.0, 80.0),
        (97.1, 0.0),
        (100.0, 0.0),
    ],
)
def test_duty_table_ev_side(duty: float | None, amps: float) -> None:
    assert offered_current_a(duty) == pytest.approx(amps)


def test_unplugged_is_a_plugged_is_b() -> None:
    ev = VirtualEV()
    pilot = SimPilot(ev)
    assert pilot.read().state is PilotState.A
    assert pilot.read().high_v == 12.0
    ev.plug()
    assert pilot.read().state is PilotState.B
    assert pilot.read().high_v == 9.0
    assert pilot.read().low_v is None


def test_pwm_offered_goes_to_c_and_back_to_b_when_pwm_stops() -> None:
    ev = VirtualEV()
    pilot = SimPilot(ev)
    ev.plug()
    pilot.set_duty(26.7)
    reading = pilot.read()
    assert reading.state is PilotState.C
    assert (reading.high_v, reading.low_v, reading.diode_ok) == (6.0, -12.0, True)
    assert pilot.duty_percent == 26.7
    pilot.set_off()
    assert pilot.read().state is PilotState.B
    assert pilot.duty_percent is None


def test_pause_returns_to_b_and_charge_to_c() -> None:
    ev = VirtualEV()
    pilot = SimPilot(ev)
    ev.plug()
    pilot.set_duty(50.0)
    ev.wants_energy = False
    assert pilot.read().state is PilotState.B
    assert pilot.read().low_v == -12.0  # PWM still visible in B
    ev.wants_energy = True
    assert pilot.read().state is PilotState.C


def test_ventilation_gives_d() -> None:
    ev = VirtualEV(needs_ventilation=True)
    pilot = SimPilot(ev)
    ev.plug()
    pilot.set_duty(50.0)
    assert pilot.read().state is PilotState.D
    assert pilot.read().high_v == 3.0


def test_digital_communication_duty_keeps_b() -> None:
    ev = VirtualEV()
    pilot = SimPilot(ev)
    ev.plug()
    pilot.set_duty(5.0)
    assert pilot.read().state is PilotState.B


def test_state_f_is_read_back() -> None:
    ev = VirtualEV()
    pilot = SimPilot(ev)
    ev.plug()
    pilot.set_duty(50.0)
    pilot.set_state_f()
    reading = pilot.read()
    assert reading.state is PilotState.F
    assert reading.high_v == -12.0
    assert pilot.duty_percent is None
    assert ev.draw_a(contactor_closed=True) == 0.0


def test_state_e_fault() -> None:
    ev = VirtualEV()
    pilot = SimPilot(ev)
    ev.plug()
    pilot.set_duty(50.0)
    ev.fault = EvFault.STATE_E
    reading = pilot.read()
    assert (reading.state, reading.high_v, reading.low_v) == (PilotState.E, 0.0, 0.0)
    ev.fault = EvFault.NONE
    assert pilot.read().state is PilotState.C


def test_diode_fault_loses_the_low_level() -> None:
    ev = VirtualEV()
    pilot = SimPilot(ev)
    ev.plug()
    pilot.set_duty(50.0)
    ev.fault = EvFault.DIODE
    reading = pilot.read()
    assert reading.low_v == -6.0  # no -12 V: the EV's resistors load the negative half too
    assert reading.diode_ok is False


def test_draws_only_with_contactor_closed_in_c() -> None:
    ev = VirtualEV()
    pilot = SimPilot(ev)
    ev.plug(max_current_a=16.0)
    assert ev.draw_a(contactor_closed=True) == 0.0  # B: no PWM
    pilot.set_duty(53.3)  # 32 A offered
    assert ev.draw_a(contactor_closed=False) == 0.0
    assert ev.draw_a(contactor_closed=True) == 16.0  # its own max
    pilot.set_duty(16.0)  # 9.6 A offered
    assert ev.draw_a(contactor_closed=True) == pytest.approx(9.6)
    assert ev.power_w(contactor_closed=True) == pytest.approx(3 * 230.0 * 9.6)


def test_bad_inputs_raise() -> None:
    ev = VirtualEV()
    pilot = SimPilot(ev)
    with pytest.raises(ValueError, match="duty"):
        pilot.set_duty(0.0)
    with pytest.raises(ValueError, match="duty"):
        pilot.set_duty(100.5)
    with pytest.raises(ValueError, match="current"):
        ev.plug(max_current_a=0.0)
    with pytest.raises(ValueError, match="rating"):
        SimProximity(ev, rating_a=16)


def test_proximity_follows_plug() -> None:
    ev = VirtualEV()
    pp = SimProximity(ev)
    assert isinstance(pp, ProximityPilot)
    assert pp.cable_rating_a() is None
    ev.plug()
    assert pp.cable_rating_a() == 32
    pp.set_rating(20)
    assert pp.cable_rating_a() == 20


def test_sim_pilot_is_a_control_pilot() -> None:
    assert isinstance(SimPilot(VirtualEV()), ControlPilot)


@pytest.mark.parametrize(("switch", "state", "high"), [
    ("A", PilotState.A, 12.0), ("B", PilotState.B, 9.0), ("C", PilotState.C, 6.0),
    ("D", PilotState.D, 3.0), ("E", PilotState.E, 0.0)])
def test_a_test_adapter_presents_its_state_whatever_the_pwm(
        switch: str, state: PilotState, high: float) -> None:
    ev = VirtualEV()
    pilot = SimPilot(ev)
    ev.set_adapter(switch)
    assert (pilot.read().state, pilot.read().high_v) == (state, high)  # no PWM: C stays C
    pilot.set_duty(50.0)
    assert pilot.read().state is state
    assert ev.draw_a(contactor_closed=True) == 0.0  # an adapter is no load
    ev.set_adapter("off")
    assert pilot.read().state is PilotState.A


def test_a_test_adapters_diode_short_and_pp_selector() -> None:
    ev = VirtualEV()
    pilot, pp = SimPilot(ev), SimProximity(ev)
    ev.set_adapter("diode", cable_a=20)
    assert pilot.read().state is PilotState.C and pilot.read().diode_ok  # no PWM: no check
    pilot.set_duty(50.0)
    reading = pilot.read()
    assert (reading.state, reading.diode_ok) == (PilotState.C, False)
    assert pp.cable_rating_a() == 20
    ev.set_adapter("B")  # PP selector open
    assert pp.cable_rating_a() is None and pilot.read().diode_ok
    pilot.set_state_f()
    assert pilot.read().state is PilotState.F  # the EVSE's -12 V wins over B
    with pytest.raises(ValueError, match="adapter state must be one of A, B, C, D, E, diode"):
        ev.set_adapter("X")
