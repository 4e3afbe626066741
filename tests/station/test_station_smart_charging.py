"""Smart charging end to end on the simulated bench: a charging profile reaches the virtual
EV through the pilot's duty cycle, and its drawn current, the meter and the MeterValues
follow; a restart keeps the profile in force."""

from __future__ import annotations

from typing import Any

from ocpp.v16 import call

from chargepoint.app import RunningStation
from tests.fullstack import CpMaker, registered, start_session, until
from tests.ocpp16.csms import Csms
from tests.ocpp16.profiles import profile


def drawn_a(cp: RunningStation) -> float:
    """The current per phase the meter measures on connector 1 (0 without a reading)."""
    reading = cp.controller.meter_reading(1)
    return max(reading.current_a, default=0.0) if reading is not None else 0.0


def power_w(cp: RunningStation) -> float:
    reading = cp.controller.meter_reading(1)
    return reading.power_w or 0.0 if reading is not None else 0.0


def offered_in_meter_values(csms: Csms) -> list[float]:
    return [float(v["value"]) for f in csms.calls("MeterValues")
            for mv in f.payload["meterValue"] for v in mv["sampledValue"]
            if v.get("measurand") == "Current.Offered"]


async def set_profile(csms: Csms, connector: int, data: dict[str, Any]) -> str:
    result = await csms.send(call.SetChargingProfile(connector_id=connector,
                                                     cs_charging_profiles=data))
    return str(result.status)


async def test_a_profile_lowers_what_the_ev_draws_mid_session(
        csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp(MeterValueSampleInterval=1,
                       MeterValuesSampledData="Energy.Active.Import.Register,Current.Offered")
    await registered(cp)
    await start_session(cp, "04A1B2C3")
    await until(lambda: drawn_a(cp) > 31.0)  # the EV takes all of 32 A
    full_power = power_w(cp)
    assert await set_profile(csms, 1, profile(1, "TxDefaultProfile", 10.0)) == "Accepted"
    hw = cp.controller.hardware_of(1)
    await until(lambda: cp.controller.offered_current(1) == 10.0)
    # the EV decoded the new duty cycle (16.7 %: 10.02 A, the duty's 0.1 % resolution)
    await until(lambda: 9.5 < drawn_a(cp) < 10.1)
    assert power_w(cp) < full_power / 2  # 3 x 230 V x 10 A against 3 x 230 V x 32 A
    energy = cp.controller.meter_reading(1).energy_import_wh  # type: ignore[union-attr]
    await until(lambda: cp.controller.meter_reading(1).energy_import_wh > energy)  # type: ignore[union-attr]
    await csms.wait_until(lambda: 10.0 in offered_in_meter_values(csms))
    assert hw.contactor.commanded_closed  # the session went on, only slower


async def test_a_restart_keeps_the_profile_in_force(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    assert await set_profile(csms, 0, profile(7, "ChargePointMaxProfile", 13.0)) == "Accepted"
    await cp.stop()
    again = await make_cp()  # the same store: a reboot
    await registered(again)
    await start_session(again, "04A1B2C3")
    assert again.controller.offered_current(1) == 13.0
    await until(lambda: 12.5 < drawn_a(again) < 13.1)
    composite = await csms.send(call.GetCompositeSchedule(connector_id=1, duration=60))
    assert composite.charging_schedule["charging_schedule_period"][0]["limit"] == 13.0


async def test_a_limit_below_6a_pauses_the_ev_until_it_rises(
        csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp(MeterValueSampleInterval=1,
                       MeterValuesSampledData="Energy.Active.Import.Register,Current.Offered")
    await registered(cp)
    await start_session(cp, "04A1B2C3")
    assert await set_profile(csms, 1, profile(2, "TxDefaultProfile", 4.0)) == "Accepted"
    await until(lambda: cp.controller.offered_current(1) is None)  # PWM off
    # the EV paused: the contactor opened (a meter reading from before the current rose can
    # read 0 A too, so that alone is no sign), and the meter reads no current
    await until(lambda: not cp.controller.station.snapshot().connectors[0].contactor_closed)
    await until(lambda: drawn_a(cp) == 0.0)
    view = cp.controller.station.snapshot().connectors[0]
    assert view.status.value == "SuspendedEVSE" and view.session is not None
    await csms.wait_until(lambda: 0.0 in offered_in_meter_values(csms))
    assert (await csms.send(call.ClearChargingProfile(id=2))).status == "Accepted"
    await until(lambda: drawn_a(cp) > 31.0)
    await until(lambda: cp.controller.station.snapshot().connectors[0].status.value
                == "Charging")
