"""A station loads the protocol package it runs and not the other one (start-up time and
memory: the 2.0.1 message classes and schemas alone take about half a second to import)."""

import subprocess
import sys
from pathlib import Path

import pytest

_PROBE = """
import sys
from chargepoint import app, protocols
protocols.package({version!r})
print(",".join(m for m in ({unwanted}) if m in sys.modules))
"""


@pytest.mark.parametrize(("version", "unwanted"), [
    ("1.6", ("ocpp.v201", "chargepoint.ocpp201.adapter")),
    ("2.0.1", ("ocpp.v16", "chargepoint.ocpp16.adapter")),
])
def test_only_the_configured_protocol_package_is_imported(version: str,
                                                          unwanted: tuple[str, ...]) -> None:
    probe = _PROBE.format(version=version, unwanted=", ".join(map(repr, unwanted)) + ",")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert loaded == ""


_STARTED = """
import asyncio, sys
from chargepoint.app import start_station
from chargepoint.config import config_from_toml

async def main():
    running = await start_station(config_from_toml({toml!r}), control_socket=False)
    try:
        print(",".join(m for m in ({unwanted}) if m in sys.modules))
    finally:
        await running.stop()

asyncio.run(main())
"""

# Loaded only when used: the commission desk (a diagnostics bundle), cryptography (a firmware
# signature, an installed root certificate, the station's own key pair and certificate: none
# Loaded only when used: the commission desk (a diagnostics bundle), cryptography (a firmware
# signature, an installed root certificate, the station's own key pair and certificate: none
# on security profile 0/1 without ``ca_file``), the firmware signature check and release
# archive and tarfile (an update job, a diagnostics bundle), the bench's virtual meter (it runs
# in the island), the other protocol package and, outside systemd, systemd-python.
ON_DEMAND = ("chargepoint.commission.desk", "chargepoint.commission.walk", "cryptography",
             "chargepoint.firmware.signature", "chargepoint.firmware.release", "tarfile",
             "hardware.sim.virtual_meter", "hardware.sim.rtu_responder", "ocpp.v201",
             "chargepoint.ocpp201", "systemd.daemon")


def test_a_started_16_station_has_not_loaded_what_it_needs_only_on_demand(
        tmp_path: Path) -> None:
    toml = f"""
[station]
id = "CP-LAZY"
connectors = 1
[ocpp]
url = "ws://127.0.0.1:9/"
[storage]
path = "{tmp_path / 'state.db'}"
[hardware]
simulate = true
"""
    probe = _STARTED.format(toml=toml, unwanted=", ".join(map(repr, ON_DEMAND)) + ",")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True, timeout=120).stdout.strip()
    assert loaded == ""


_AT_LAUNCH = """
import asyncio, sys
from chargepoint.config import config_from_toml
from chargepoint.island.link import IslandLink

loaded_at_launch = []
launch = IslandLink.launch.__func__

async def recording_launch(cls, *args, **kwargs):
    loaded_at_launch.extend(sys.modules)
    return await launch(cls, *args, **kwargs)

IslandLink.launch = classmethod(recording_launch)
from chargepoint.app import start_station

async def main():
    running = await start_station(config_from_toml({toml!r}), control_socket=False)
    try:
        assert loaded_at_launch and {wanted!r} in sys.modules
        print(",".join(m for m in ({later}) if m in loaded_at_launch))
    finally:
        await running.stop()

asyncio.run(main())
"""

# Imported by ``start_station`` only after the safety island was launched: the island's
# interpreter starts on the other CPU meanwhile (it is on the start-up's critical path).
AFTER_LAUNCH = ("chargepoint.ports", "chargepoint.core.station", "chargepoint.runtime",
                "chargepoint.station_control", "chargepoint.site.manager",
                "chargepoint.firmware.installer", "chargepoint.ocpp16.adapter", "ocpp",
                "websockets", "pymodbus")


def test_the_station_launches_its_island_before_importing_the_rest(tmp_path: Path) -> None:
    toml = f"""
[station]
id = "CP-EARLY"
connectors = 1
[ocpp]
url = "ws://127.0.0.1:9/"
[storage]
path = "{tmp_path / 'state.db'}"
[hardware]
simulate = true
"""
    probe = _AT_LAUNCH.format(toml=toml, wanted="chargepoint.runtime",
                              later=", ".join(map(repr, AFTER_LAUNCH)) + ",")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True, timeout=120).stdout.strip()
    assert loaded == ""


def test_checking_a_16_config_does_not_import_the_adapter_or_the_ocpp_library() -> None:
    """``[ocpp.config]`` is checked by the 1.6 keys alone: the station imports the adapter in
    ``setup``, while the island starts."""
    probe = ("import sys\nfrom chargepoint import protocols\n"
             "protocols.package('1.6').check_config({'HeartbeatInterval': '60'})\n"
             "print(','.join(m for m in ('ocpp', 'chargepoint.ocpp16.adapter', 'websockets')"
             " if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert loaded == ""


def test_the_firmware_manager_loads_cryptography_only_for_a_signature() -> None:
    probe = ("import sys\nimport chargepoint.firmware.manager\n"
             "print('cryptography' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"


@pytest.mark.parametrize("module", [
    "chargepoint.security.identity", "chargepoint.security.certificates",
    "chargepoint.security.certificate_requests", "chargepoint.security.link",
    "chargepoint.ocpp16.security_handlers", "chargepoint.ocpp201.security"])
def test_the_security_modules_load_cryptography_only_for_a_key_or_certificate(
        module: str) -> None:
    probe = f"import sys\nimport {module}\nprint('cryptography' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"
