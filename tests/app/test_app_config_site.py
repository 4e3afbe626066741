"""[charging] (free vend) and [site] (local load management): defaults and errors that name
the key and its line."""

from __future__ import annotations

import pytest

from chargepoint.config import ConfigError, config_from_toml
from chargepoint.config.model import ChargingConfig, MeterConfig, SiteConfig

MINIMAL = '[station]\nid = "CP-1"\n[ocpp]\nurl = "ws://127.0.0.1:9000/ocpp"\n'


def errors(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        config_from_toml(text, source="t.toml")
    return info.value.format_lines()


def test_both_sections_are_optional() -> None:
    cfg = config_from_toml(MINIMAL)
    assert cfg.charging == ChargingConfig(free_vend=False, free_vend_id_tag="FREEVEND")
    assert cfg.site is None


def test_documented_example_parses() -> None:
    cfg = config_from_toml(MINIMAL + (
        '[charging]\nfree_vend = true\nfree_vend_id_tag = "HOME"\n'
        "[site]\nmax_current_a = 25.0\nfallback_current_a = 6.0\nrotate_s = 300\n"
        '[site.meter]\nmodel = "sdm72"\nport = "/dev/ttyUSB1"\nunit = 2\n'))
    assert cfg.charging == ChargingConfig(free_vend=True, free_vend_id_tag="HOME")
    assert cfg.site == SiteConfig(max_current_a=25.0, fallback_current_a=6.0, rotate_s=300.0,
                                  meter=MeterConfig(model="sdm72", port="/dev/ttyUSB1", unit=2))


@pytest.mark.parametrize("value", ["5.9", "1000.5", "-32", '"32"'])
def test_max_current_outside_6_to_1000_names_key_and_line(value: str) -> None:
    lines = errors(MINIMAL + f"[site]\nmax_current_a = {value}\n")
    assert len(lines) == 1
    assert lines[0].startswith("t.toml:6: site.max_current_a: ")


def test_other_bad_values_name_their_keys() -> None:
    lines = "\n".join(errors(MINIMAL + (
        '[charging]\nfree_vend = "yes"\nfree_vend_id_tag = ""\n'
        "[site]\nmax_current_a = 32\nfallback_current_a = 3\nrotate_s = 10\nbogus = 1\n"
        "[site.meter]\nunit = 300\n")))
    for key in ("charging.free_vend", "charging.free_vend_id_tag", "site.fallback_current_a",
                "site.rotate_s", "site.bogus", "site.meter.unit"):
        assert key in lines
