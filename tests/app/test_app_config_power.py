"""[hardware.power_fail]: parsing, defaults, pin conflicts, and the input the factory builds."""

from __future__ import annotations

import pytest
from gpiozero.pins.mock import MockFactory

from chargepoint.config import ConfigError, PowerFailConfig, config_from_toml
from chargepoint.hardware_factory import build_power_supervisor
from hardware.interfaces import PowerSupervisor

MINIMAL = '[station]\nid = "CP-1"\n[ocpp]\nurl = "ws://127.0.0.1:9000/ocpp"\n'


def errors(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        config_from_toml(text, source="t.toml")
    return info.value.format_lines()


def test_section_is_optional_and_defaults_are_documented_values() -> None:
    assert config_from_toml(MINIMAL).hardware.power_fail is None
    cfg = config_from_toml(MINIMAL + "[hardware.power_fail]\n")
    assert cfg.hardware.power_fail == PowerFailConfig(pin=6, active_high=True)
    cfg = config_from_toml(MINIMAL + "[hardware.power_fail]\npin = 16\nactive_high = false\n")
    assert cfg.hardware.power_fail == PowerFailConfig(pin=16, active_high=False)


def test_bad_values_and_unknown_keys_name_the_key() -> None:
    lines = errors(MINIMAL + '[hardware.power_fail]\npin = 28\nactive_high = "yes"\nbad = 1\n')
    assert len(lines) == 3, lines
    assert any("t.toml:6: hardware.power_fail.pin" in x for x in lines)
    assert any("hardware.power_fail.active_high" in x for x in lines)
    assert any("hardware.power_fail.bad: unknown key" in x for x in lines)


@pytest.mark.parametrize("pin", [17, 25])
def test_its_gpio_may_not_serve_another_function(pin: int) -> None:
    (line,) = errors(MINIMAL + f"[hardware.rcd]\n[hardware.power_fail]\npin = {pin}\n")
    assert f"GPIO {pin} is used more than once" in line and "power_fail.pin" in line
    # the simulator checks no pins
    config_from_toml(MINIMAL + f"[hardware]\nsimulate = true\n[hardware.power_fail]\npin = {pin}\n")


def test_factory_builds_the_input_with_its_polarity() -> None:
    assert build_power_supervisor(config_from_toml(MINIMAL)) is None
    factory = MockFactory()
    try:
        cfg = config_from_toml(MINIMAL + "[hardware.power_fail]\npin = 16\nactive_high = false\n")
        power = build_power_supervisor(cfg, pin_factory=factory)
        assert isinstance(power, PowerSupervisor)
        pin = factory.pin(16)
        pin.drive_high()
        assert power.mains_ok()
        pin.drive_low()  # active low: low means mains failed
        assert not power.mains_ok()
    finally:
        factory.reset()
