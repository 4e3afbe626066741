"""Config loading and validation: defaults, errors naming key and line, every problem at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from chargepoint import __version__
from chargepoint.config import ConfigError, config_from_toml, load_config

REPO = Path(__file__).resolve().parents[2]
MINIMAL = '[station]\nid = "CP-1"\n[ocpp]\nurl = "ws://127.0.0.1:9000/ocpp"\n'


def errors(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        config_from_toml(text, source="t.toml")
    return info.value.format_lines()


def test_minimal_file_gets_documented_defaults() -> None:
    cfg = config_from_toml(MINIMAL)
    assert cfg.station.id == "CP-1"
    assert cfg.station.connectors == 1
    assert cfg.station.max_current_a == 32.0
    assert cfg.station.firmware_version == __version__
    assert cfg.ocpp.version == "1.6"
    assert cfg.ocpp.security_profile == 0
    assert cfg.ocpp.config == {}
    assert (cfg.ocpp.reconnect_min_s, cfg.ocpp.reconnect_max_s) == (1.0, 60.0)
    assert cfg.storage.path == "/var/lib/chargepoint/state.db"
    assert cfg.control.socket == "/run/chargepoint/control.sock"
    assert cfg.control.group is None
    assert cfg.logging.level == "info" and cfg.logging.frames is False
    assert cfg.hardware.simulate is False
    assert cfg.hardware.meter is None and cfg.hardware.rfid is None
    assert cfg.source == "<string>"


def test_example_file_is_valid() -> None:
    cfg = load_config(REPO / "deploy" / "chargepoint.toml.example")
    assert cfg.station.id == "CP-0001"
    assert cfg.hardware.meter is not None and cfg.hardware.meter.model == "sdm630"
    assert cfg.source.endswith("chargepoint.toml.example")


def test_ocpp_config_values_become_wire_strings() -> None:
    cfg = config_from_toml(MINIMAL + "[ocpp.config]\nHeartbeatInterval = 300\n"
                           "LocalPreAuthorize = true\nStopTransactionOnInvalidId = false\n"
                           'MeterValuesSampledData = ["Energy.Active.Import.Register", "Voltage"]\n'
                           "MaxEnergyOnInvalidId = 1000.0\n")
    assert cfg.ocpp.config == {
        "HeartbeatInterval": "300",
        "LocalPreAuthorize": "true",
        "StopTransactionOnInvalidId": "false",
        "MeterValuesSampledData": "Energy.Active.Import.Register,Voltage",
        "MaxEnergyOnInvalidId": "1000",
    }
    # Under 2.0.1, 1.6 keys have no meaning: the device model is set in [ocpp.variables].
    v201 = errors(MINIMAL.replace("[ocpp]\n", '[ocpp]\nversion = "2.0.1"\n')
                  + "[ocpp.config]\nSomething = 0.5\n")
    assert len(v201) == 1 and "ocpp.config.Something: OCPP 1.6 configuration key" in v201[0]


def test_ocpp_1_6_keys_are_checked_against_the_station() -> None:
    lines = errors(MINIMAL + "[ocpp.config]\nHeartbeatInterval = 300\nHeartbeatIntervall = 5\n"
                   "NumberOfConnectors = 2\nMeterValueSampleInterval = -1\n")
    assert lines[0] == "t.toml:7: ocpp.config.HeartbeatIntervall: unknown OCPP 1.6 " \
                       "configuration key"
    assert lines[1] == "t.toml:8: ocpp.config.NumberOfConnectors: read-only key"
    assert lines[2].startswith("t.toml:9: ocpp.config.MeterValueSampleInterval: invalid value")
    assert len(lines) == 3


def test_error_names_key_and_line() -> None:
    text = '[station]\nid = "CP-1"\nconnectors = 0\n\n[ocpp]\nurl = "ws://h/ocpp"\n'
    assert errors(text) == ["t.toml:3: station.connectors: must be in 1..16, not 0"]


def test_every_error_is_reported_at_once() -> None:
    text = ('[station]\nid = "CP 1"\nmax_current_a = "32"\n[ocpp]\nurl = "http://h"\n'
            "security_profile = 7\n[logging]\nlevel = \"loud\"\n")
    lines = errors(text)
    assert len(lines) == 5, lines
    assert lines[0].startswith("t.toml:2: station.id: must be 1..48 characters")
    assert lines[1].startswith("t.toml:3: station.max_current_a: must be a number, not a string")
    assert any(x.startswith("t.toml:6: ocpp.security_profile: must be in 0..3") for x in lines)
    assert any(x.startswith("t.toml:5: ocpp.url: must be a ws:// or wss://") for x in lines)
    assert any(x.startswith("t.toml:8: logging.level: must be one of") for x in lines)


def test_unknown_keys_are_errors_with_their_line() -> None:
    text = MINIMAL + "[hardware.contactor]\npin = 5\nactiv_high = false\n[bogus]\nx = 1\n"
    assert errors(text) == [
        "t.toml:7: hardware.contactor.activ_high: unknown key",
        "t.toml:8: bogus: unknown key",
    ]


def test_missing_sections_and_required_keys() -> None:
    assert errors("") == [
        "t.toml: station: section [station] is required (at least: id)",
        "t.toml: ocpp: section [ocpp] is required (at least: url)",
    ]
    assert errors('[station]\n[ocpp]\nversion = "1.6"\n') == [
        "t.toml:1: station.id: is required",
        "t.toml:2: ocpp.url: is required",
    ]


def test_syntax_error_reports_the_line() -> None:
    (line,) = errors('[station]\nid = "CP-1"\nconnectors = = 2\n')
    assert line.startswith("t.toml:3: TOML syntax:")


@pytest.mark.parametrize(
    ("ocpp", "message"),
    [
        ('url = "ws://h/o"\nsecurity_profile = 1\n', "ocpp.password: is required"),
        ('url = "ws://h/o"\nsecurity_profile = 1\npassword = "short"\n',
         "ocpp.password: must be 16..40 characters"),
        ('url = "wss://h/o"\nsecurity_profile = 1\npassword = "0123456789abcdef"\n',
         "ocpp.url: security_profile = 1 is basic auth without TLS"),
        ('url = "ws://h/o"\nsecurity_profile = 2\npassword = "0123456789abcdef"\n',
         "ocpp.url: security_profile = 2 needs TLS"),
        ('url = "wss://h/o"\nsecurity_profile = 3\n', "ocpp.cert_file: is required"),
        ('url = "wss://h/o"\nsecurity_profile = 2\npassword = "0123456789abcdef"\n',
         "ocpp.ca_file: is required with security_profile = 2"),  # no system-store fallback
        ('url = "wss://h/o"\nca_file = "/nonexistent/ca.pem"\n',
         "ocpp.ca_file: file not found"),
        ('url = "ws://user:pw@h/o"\n', "ocpp.url: must not carry credentials"),
        ('url = "ws://h/o"\nreconnect_min_s = 10\nreconnect_max_s = 5\n',
         "ocpp.reconnect_max_s: must not be smaller"),
        ('url = "ws://h/o"\n[ocpp.config]\nAuthorizationKey = "x"\n',
         "ocpp.config.AuthorizationKey: set the basic auth password"),
    ],
)
def test_security_profile_rules(ocpp: str, message: str) -> None:
    lines = errors('[station]\nid = "CP-1"\n[ocpp]\n' + ocpp)
    assert any(message in x for x in lines), lines


def test_security_profile_3_with_existing_files(tmp_path: Path) -> None:
    for name in ("ca.pem", "c.pem", "c.key"):
        (tmp_path / name).write_text("x")
    cfg = config_from_toml(
        '[station]\nid = "CP-1"\n[ocpp]\nurl = "wss://h/o"\nsecurity_profile = 3\n'
        f'ca_file = "{tmp_path}/ca.pem"\ncert_file = "{tmp_path}/c.pem"\n'
        f'key_file = "{tmp_path}/c.key"\n')
    assert cfg.ocpp.key_file == f"{tmp_path}/c.key"


def test_optional_values_accept_none_word() -> None:
    cfg = config_from_toml(MINIMAL + '[hardware.pilot]\npp_adc_channel = "none"\n'
                           '[hardware.meter]\nbaudrate = "none"\n')
    assert cfg.hardware.pilot.pp_adc_channel is None
    assert cfg.hardware.meter is not None and cfg.hardware.meter.baudrate is None
    assert (cfg.hardware.pilot.scale, cfg.hardware.pilot.offset) == (9.116, -15.0)


def test_real_hardware_needs_its_feedback_inputs() -> None:
    lines = errors(MINIMAL + '[hardware.contactor]\nmirror_pin = "none"\n'
                   '[hardware.lock]\nfeedback_pin = "none"\n')
    assert len(lines) == 2, lines
    assert "t.toml:5: hardware.contactor: mirror_pin is required on real hardware" in lines[0]
    assert "hardware.lock: feedback_pin is required on real hardware" in lines[1]
    # a fixed cable needs no lock feedback; the simulator needs no pins at all
    config_from_toml(MINIMAL + '[hardware]\nhas_lock = false\n[hardware.lock]\n'
                     'feedback_pin = "none"\n')
    config_from_toml(MINIMAL + '[hardware]\nsimulate = true\n[hardware.contactor]\n'
                     'mirror_pin = "none"\n')


def test_a_gpio_used_twice_is_refused() -> None:
    (line,) = errors(MINIMAL + "[hardware.contactor]\npin = 22\n")
    assert "GPIO 22 is used more than once: contactor.pin, lock.lock_pin" in line
    # Without a lock the pin is free; in simulation pins are not checked at all.
    config_from_toml(MINIMAL + "[hardware]\nhas_lock = false\n[hardware.contactor]\npin = 22\n")
    config_from_toml(MINIMAL + "[hardware]\nsimulate = true\n[hardware.contactor]\npin = 22\n")


def test_two_connectors_need_their_own_pins() -> None:
    base = '[station]\nid = "CP-1"\nconnectors = 2\n[ocpp]\nurl = "ws://h/o"\n[hardware]\n' \
           'has_lock = false\n[hardware.rcd]\npin = 25\n'
    lines = errors(base)
    assert any("needs a [[hardware.connector]] with id = 1" in x for x in lines)
    assert any("GPIO 17 is used more than once" in x for x in lines)
    cfg = config_from_toml(
        base + "[[hardware.connector]]\nid = 1\n"
        "[[hardware.connector]]\nid = 2\ncontactor_pin = 5\nmirror_pin = 6\n")
    assert [c.id for c in cfg.hardware.connectors] == [1, 2]
    assert cfg.hardware.connectors[1].contactor_pin == 5
    alias = config_from_toml(
        base + "[[hardware.connectors]]\nid = 1\n"
        "[[hardware.connectors]]\nid = 2\ncontactor_pin = 5\nmirror_pin = 6\n")
    assert alias.hardware.connectors == cfg.hardware.connectors
    lines = errors(base + "[[hardware.connector]]\nid = 1\n[[hardware.connector]]\nid = 3\n"
                   "bad = 1\n")
    assert any(x.startswith("t.toml:13: hardware.connector[1].id: must be a connector")
               for x in lines)
    assert any(x.startswith("t.toml:14: hardware.connector[1].bad: unknown key") for x in lines)


def test_meter_and_rfid_sections() -> None:
    cfg = config_from_toml(MINIMAL + '[hardware.meter]\nport = "/dev/ttyAMA0"\nmodel = "abb_b23"\n'
                           'unit = 3\nbaudrate = 19200\nparity = "e"\n[hardware.rfid]\n'
                           'device = "usb"\n')
    assert cfg.hardware.meter is not None
    assert (cfg.hardware.meter.unit, cfg.hardware.meter.parity) == (3, "E")
    assert cfg.hardware.rfid is not None and cfg.hardware.rfid.device == "usb"
    lines = errors(MINIMAL + "[hardware.meter]\nunit = 0\nbaudrate = 1234\nparity = \"X\"\n")
    assert len(lines) == 3, lines


def test_the_idle_meter_interval_is_a_connector_meter_key() -> None:
    meter = config_from_toml(MINIMAL + "[hardware.meter]\npoll_interval_s = 2\n").hardware.meter
    assert meter is not None and meter.idle_poll_interval_s == 60.0
    meter = config_from_toml(MINIMAL + "[hardware.meter]\nidle_poll_interval_s = 30\n"
                             ).hardware.meter
    assert meter is not None and meter.idle_poll_interval_s == 30.0
    (line,) = errors(MINIMAL + "[hardware.meter]\npoll_interval_s = 5\n"
                     "idle_poll_interval_s = 2\n")
    assert line == ("t.toml:7: hardware.meter.idle_poll_interval_s: "
                    "must not be shorter than poll_interval_s")
    (line,) = errors(MINIMAL + "[site]\nmax_current_a = 32\n[site.meter]\n"
                     "idle_poll_interval_s = 60\n")  # the grid meter is always read fast
    assert line.startswith("t.toml:8: site.meter.idle_poll_interval_s: unknown key")


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")


def test_socket_path_too_long() -> None:
    (line,) = errors(MINIMAL + f'[control]\nsocket = "/{"x" * 120}"\n')
    assert "control.socket: a Unix socket path is at most 107 bytes" in line
