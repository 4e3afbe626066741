"""GpioControlPilot and AdcProximityPilot end to end: SysfsPwm on a tmp sysfs, a real gpiozero
MCP3008 over MockFactory's software SPI, and an SPI slave that answers like an MCP3008 whose
inputs are the CP line (following the PWM the kernel files say is output, and the EV) and the
PP node (following the cable's coding resistor)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from gpiozero import MCP3008, Device, DigitalOutputDevice
from gpiozero.pins.mock import MockFactory, MockSPIDevice

from hardware.interfaces import ControlPilot, PilotReading, PilotState, ProximityPilot
from hardware.pilot import AdcProximityPilot, GpioControlPilot, PilotDecoder, Switch, SysfsPwm

from .sysfs import FakePwmChip

VREF = 3.3
SCALE, OFFSET = 30.0 / VREF, -15.0  # CP volts = adc_volts * 30 / 3.3 - 15
EV_HIGH = {PilotState.A: 12.0, PilotState.B: 9.0, PilotState.C: 6.0, PilotState.D: 3.0,
           PilotState.E: 0.0}
STEP_S = 37e-6  # one hardware-SPI conversion


class Station:
    """The analog world: CP line driven by the PWM the sysfs files describe, loaded by an EV."""

    def __init__(self, pwm: SysfsPwm) -> None:
        self.pwm = pwm
        self.pwm_dir = pwm.path
        self.t = 0.0
        self.ev = PilotState.A
        self.diode_shorted = False
        self.pp_ohm: float | None = None
        self.pp_pullup, self.pp_supply = 330.0, 3.3

    def clock(self) -> float:
        return self.t

    def cp_volts(self) -> float:
        period, duty, enable = (int((self.pwm_dir / n).read_text())
                                for n in ("period", "duty_cycle", "enable"))
        pin_high = bool(enable) and (self.t * 1e9) % period < duty
        high = EV_HIGH[self.ev]
        if pin_high:
            return high
        return -high if self.diode_shorted else -12.0

    def pp_volts(self) -> float:
        if self.pp_ohm is None:
            return self.pp_supply
        return self.pp_supply * self.pp_ohm / (self.pp_ohm + self.pp_pullup)

    def sample(self, channel: int) -> int:
        self.t += STEP_S
        adc_volts = (self.cp_volts() - OFFSET) / SCALE if channel == 0 else self.pp_volts()
        x = adc_volts / VREF
        return max(0, min(1023, round(x * 1023)))


class MockMcp3008(MockSPIDevice):  # type: ignore[misc]
    """The slave side of an MCP3008 (single-ended): 5 command bits in, null bit, 10 bits out."""

    station: Station

    def on_bit(self) -> None:
        if self.rx_bit == 12:  # start bit at index 7, then SGL/DIFF and D2..D0
            channel = self.rx_buf[9] << 2 | self.rx_buf[10] << 1 | self.rx_buf[11]
            self.tx_buf.extend([0, 0])
            self.tx_word(self.station.sample(channel), 10)


@pytest.fixture
def factory(monkeypatch: pytest.MonkeyPatch) -> Iterator[MockFactory]:
    f = MockFactory()
    # gpiozero's software SPI bus asks for the *default* factory even when given one.
    monkeypatch.setattr(Device, "pin_factory", f)
    yield f
    f.reset()


@pytest.fixture
def station(tmp_path: Path, factory: MockFactory) -> Iterator[Station]:
    chip = FakePwmChip(tmp_path, 0)
    try:
        # the fake kernel is a thread: give it time on a loaded test machine
        pwm = SysfsPwm(0, 0, root=tmp_path, export_timeout_s=10.0)
        st = Station(pwm)
        slave = MockMcp3008(11, 10, 9, 8, pin_factory=factory)
        slave.station = st
        yield st
        slave.close()
    finally:
        chip.close()


def make_pilot(station: Station, factory: MockFactory, f_switch: Switch | None = None
               ) -> GpioControlPilot:
    adc = MCP3008(channel=0, pin_factory=factory)
    decoder = PilotDecoder(debounce_count=2)
    return GpioControlPilot(station.pwm, adc, decoder, scale=SCALE, offset=OFFSET,
                            adc_vref=VREF, clock=station.clock, f_switch=f_switch)


def settle(pilot: GpioControlPilot, n: int = 3) -> PilotReading:
    for _ in range(n - 1):
        pilot.read()
    return pilot.read()


def test_charging_sequence(station: Station, factory: MockFactory) -> None:
    pilot = make_pilot(station, factory)
    assert isinstance(pilot, ControlPilot)
    r = pilot.read()
    assert r.state is PilotState.A and r.low_v is None and pilot.duty_percent is None
    assert abs(r.high_v - 12.0) < 0.1
    station.ev = PilotState.B
    assert settle(pilot).state is PilotState.B
    pilot.set_duty(26.7)  # the core's 16 A
    assert pilot.duty_percent == 26.7
    assert (station.pwm_dir / "duty_cycle").read_text() == "267000"
    station.ev = PilotState.C
    r = settle(pilot)
    assert r.state is PilotState.C and r.diode_ok
    assert abs(r.high_v - 6.0) < 0.1 and r.low_v is not None and abs(r.low_v + 12.0) < 0.1
    station.ev = PilotState.B
    assert settle(pilot).state is PilotState.B
    pilot.set_off()
    assert pilot.duty_percent is None
    assert (station.pwm_dir / "duty_cycle").read_text() == "1000000"
    station.ev = PilotState.A
    assert settle(pilot).state is PilotState.A


@pytest.mark.parametrize("duty", [10.0, 53.3, 90.0])
def test_burst_catches_both_levels(station: Station, factory: MockFactory, duty: float) -> None:
    pilot = make_pilot(station, factory)
    station.ev = PilotState.C
    pilot.set_duty(duty)
    r = settle(pilot)
    assert r.state is PilotState.C
    assert r.low_v is not None and r.low_v < -11.5


def test_shorted_diode_is_flagged(station: Station, factory: MockFactory) -> None:
    pilot = make_pilot(station, factory)
    station.ev = PilotState.C
    pilot.set_duty(50.0)
    assert settle(pilot).diode_ok
    station.diode_shorted = True
    r = settle(pilot)
    assert not r.diode_ok and r.low_v is not None and abs(r.low_v + 6.0) < 0.1


def test_state_f_and_e(station: Station, factory: MockFactory) -> None:
    f_out = DigitalOutputDevice(5, pin_factory=factory)
    switch = factory.pin(5)
    pilot = make_pilot(station, factory, f_switch=f_out)
    pilot.set_state_f()
    assert (station.pwm_dir / "duty_cycle").read_text() == "0"
    assert (station.pwm_dir / "enable").read_text() == "1"
    assert switch.state is True and pilot.duty_percent is None
    assert settle(pilot).state is PilotState.F
    pilot.set_duty(10.0)
    assert switch.state is False
    station.ev = PilotState.E
    assert settle(pilot).state is PilotState.E


def test_release_leaves_state_f(station: Station, factory: MockFactory) -> None:
    pilot = make_pilot(station, factory)
    pilot.set_duty(26.7)
    pilot.release()
    assert station.pwm.read_back() == (1_000_000, 0, True)
    assert pilot.duty_percent is None


def test_bad_duty_is_misuse(station: Station, factory: MockFactory) -> None:
    pilot = make_pilot(station, factory)
    for bad in (0.0, 0.04, -5.0, 100.5):
        with pytest.raises(ValueError):
            pilot.set_duty(bad)
    pilot.set_duty(16.66)
    assert pilot.duty_percent == 16.7


@pytest.mark.parametrize(
    ("ohm", "rating"),
    [(None, None), (1500.0, 13), (680.0, 20), (220.0, 32), (100.0, 63), (150.0, 32),
     (3300.0, None), (20.0, None)],
)
def test_proximity_pilot(station: Station, factory: MockFactory, ohm: float | None,
                         rating: int | None) -> None:
    pp = AdcProximityPilot(MCP3008(channel=1, pin_factory=factory), pullup_ohm=330.0,
                           supply_v=3.3, adc_vref=3.3)
    assert isinstance(pp, ProximityPilot)
    station.pp_ohm = ohm
    assert pp.cable_rating_a() == rating
    measured = pp.resistance_ohm()
    if ohm is None:
        assert measured is None
    else:
        assert measured is not None and abs(measured - ohm) / ohm < 0.05


class BrokenAdc:
    """An MCP3008 whose SPI transfer fails (loose ribbon cable)."""

    @property
    def value(self) -> float:
        raise OSError(5, "Input/output error")


def test_unreadable_adc_reads_as_error_state(station: Station) -> None:
    pilot = GpioControlPilot(station.pwm, BrokenAdc(), PilotDecoder(), clock=station.clock)
    pilot.set_duty(50.0)
    r = pilot.read()
    assert r.state is PilotState.E and not r.diode_ok


def test_burst_spans_more_than_one_period(station: Station, factory: MockFactory) -> None:
    pilot = make_pilot(station, factory)
    pilot.set_off()
    t0 = station.t
    assert len(pilot.sample()) == 1  # no square wave: a DC level, one conversion (flat_samples)
    assert station.t - t0 < 1e-3
    pilot.set_duty(50.0)
    t0 = station.t
    pilot.sample()
    assert station.t - t0 > 1e-3
