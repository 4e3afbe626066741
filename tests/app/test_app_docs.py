"""The docs keep up with the code: every config key documented, every command listed,
the examples valid, the README's quickstart intact."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from chargepoint import config as cfgmod
from chargepoint.cli.completion import _walk
from chargepoint.cli.parser import build_parser
from chargepoint.config import config_from_toml
from chargepoint.config.model import ChargingConfig, SiteConfig

REPO = Path(__file__).resolve().parents[2]
CONFIG_DOC = (REPO / "docs" / "configuration.md").read_text()
CLI_DOC = (REPO / "docs" / "cli.md").read_text()

SECTIONS = {
    "[station]": cfgmod.StationConfig, "[ocpp]": cfgmod.OcppConfig,
    "[storage]": cfgmod.StorageConfig, "[control]": cfgmod.ControlConfig,
    "[logging]": cfgmod.LoggingConfig, "[firmware]": cfgmod.FirmwareConfig,
    "[hardware]": cfgmod.HardwareConfig,
    "[hardware.pilot]": cfgmod.PilotConfig, "[hardware.contactor]": cfgmod.ContactorConfig,
    "[hardware.lock]": cfgmod.LockConfig, "[hardware.rcd]": cfgmod.RcdConfig,
    "[hardware.meter]": cfgmod.MeterConfig, "[hardware.rfid]": cfgmod.RfidConfig,
    "[hardware.power_fail]": cfgmod.PowerFailConfig,
    "[hardware.island]": cfgmod.IslandConfig,
    "[[hardware.connector]]": cfgmod.ConnectorHwConfig,
    "[charging]": ChargingConfig, "[site]": SiteConfig,
}
SUB_TABLES = {"config", "variables", "pilot", "contactor", "lock", "rcd", "meter", "rfid",
              "power_fail", "island", "connectors"}


def section_text(header: str) -> str:
    start = CONFIG_DOC.index(f"## `{header}`" if header.count("[") == 1 and "." not in header
                             else f"### `{header}`")
    end = CONFIG_DOC.find("\n## ", start + 1)
    nxt = CONFIG_DOC.find("\n### ", start + 1)
    ends = [e for e in (end, nxt) if e > 0]
    return CONFIG_DOC[start:min(ends) if ends else None]


@pytest.mark.parametrize("header", list(SECTIONS))
def test_every_config_key_is_documented(header: str) -> None:
    text = section_text(header)
    for f in dataclasses.fields(SECTIONS[header]):
        if f.name in SUB_TABLES:
            continue
        assert f"`{f.name}`" in text, f"{header} {f.name} missing from docs/configuration.md"


def test_documented_defaults_match_the_code() -> None:
    rows = re.findall(r"^\| `(\w+)` \| `([^`]*)` \|", CONFIG_DOC, re.M)
    checked = 0
    for header, cls in SECTIONS.items():
        text = section_text(header)
        if cls is cfgmod.ConnectorHwConfig:  # its table lists what each key overrides
            continue
        required = {cfgmod.StationConfig: {"id": "x"},
                    cfgmod.OcppConfig: {"url": "ws://x"}}.get(cls, {})
        instance = cls(**required)
        for name, doc_default in re.findall(r"^\| `(\w+)` \| `([^`]*)` \|", text, re.M):
            value = getattr(instance, name)
            shown = (f'"{value}"' if isinstance(value, str) else str(value).lower()
                     if isinstance(value, bool) else str(value))
            assert shown == doc_default, (header, name, shown, doc_default)
            checked += 1
    assert checked >= 45 and rows


def test_config_doc_examples_are_valid() -> None:
    blocks = re.findall(r"```toml\n(.*?)```", CONFIG_DOC, re.S)
    complete = [b for b in blocks if "[station]" in b]
    assert len(complete) >= 2
    for block in complete:
        config_from_toml(block)


def test_every_command_is_in_the_cli_doc() -> None:
    table: dict[str, tuple[list[str], list[str]]] = {}
    _walk(build_parser(), "", table)
    for path, (_words, options) in table.items():
        if not path:
            continue
        assert f"`{path}" in CLI_DOC, f"`chargepoint {path}` missing from docs/cli.md"
        for option in options:
            if option != "--help":
                assert option in CLI_DOC, f"{path} {option} missing from docs/cli.md"


def test_readme_keeps_the_two_command_quickstart() -> None:
    readme = (REPO / "README.md").read_text()
    block = re.search(r"## Quickstart.*?```sh\n(.*?)```", readme, re.S)
    assert block is not None
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines()]
    assert commands == ["./bootstrap.sh demo", "./bootstrap.sh test"]
    for link in re.findall(r"\]\(((?:docs|deploy)/[^)]*)\)", readme):
        assert (REPO / link).exists(), link
