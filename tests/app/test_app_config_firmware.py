"""The [firmware] section: defaults beside the store, installer choice, clear errors."""

from __future__ import annotations

import pytest

from chargepoint.config import ConfigError, config_from_toml

BASE = '[station]\nid = "CP-1"\n[ocpp]\nurl = "ws://127.0.0.1:9000/ocpp"\n'


def test_defaults_put_releases_beside_the_store() -> None:
    fw = config_from_toml(BASE).firmware
    assert fw.releases_dir is None and fw.work_dir is None
    assert fw.installer == "venv" and fw.install_command == []
    assert fw.health_timeout_s == 600.0
    assert fw.allow_unsigned is False  # only signed releases are installed


def test_allow_unsigned_is_a_boolean() -> None:
    fw = config_from_toml(BASE + "[firmware]\nallow_unsigned = true\n").firmware
    assert fw.allow_unsigned is True


def test_os_updater_command() -> None:
    fw = config_from_toml(BASE + '[firmware]\ninstaller = "command"\n'
                          'install_command = ["rauc", "install", "{file}"]\n').firmware
    assert fw.install_command == ["rauc", "install", "{file}"]


@pytest.mark.parametrize(("section", "key", "line"), [
    ('installer = "rauc"', "firmware.installer", 6),
    ('installer = "command"', "firmware.install_command", 5),  # missing: the section's line
    ("install_command = \"rauc install\"", "firmware.install_command", 6),
    ("health_timeout_s = 1", "firmware.health_timeout_s", 6),
    ("releases = \"/x\"", "firmware.releases", 6),
    ('allow_unsigned = "yes"', "firmware.allow_unsigned", 6),
])
def test_bad_values_name_the_key_and_line(section: str, key: str, line: int) -> None:
    with pytest.raises(ConfigError) as err:
        config_from_toml(BASE + "[firmware]\n" + section + "\n")
    assert f"<string>:{line}: {key}:" in str(err.value)
