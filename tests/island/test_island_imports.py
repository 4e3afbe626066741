"""The safety island imports nothing it does not need (issue 14: memory and start-up of the
station's processes). Each probe runs in a fresh interpreter, as the island does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# What the island never needs: the main process's side of the link (asyncio), the store, the
# OCPP stack, TLS and certificates.
NEVER = ("chargepoint.island.link", "chargepoint.store", "sqlite3", "ocpp", "websockets",
         "cryptography", "jsonschema", "chargepoint.ocpp16", "chargepoint.ocpp201")
# On real pins, also not: asyncio (and ssl through it) and pymodbus (the meters are read by
# the main process).
NOT_ON_PINS = (*NEVER, "asyncio", "ssl", "pymodbus", "hardware.meter", "hardware.sim")

_CONFIG = """
[station]
id = "CP-ISLAND"
connectors = 1
[ocpp]
url = "ws://127.0.0.1:1/"
[storage]
path = "{tmp}/state.db"
[hardware]
simulate = true
"""

# Unpickle (config, options) as the island does, then import what it runs on real pins.
_PINS = """
import pickle, sys
data = sys.stdin.buffer.read()
from chargepoint.island import process
config, options = pickle.loads(data)
import chargepoint.hardware_factory
print(",".join(sorted(m for m in sys.modules if m.split(".")[0] in {roots} and
                      any(m == n or m.startswith(n + ".") for n in {unwanted}))))
"""

# The simulated bench in the island, built as ``process`` builds it: its virtual meter is read
# by the main process, so no Modbus client or meter driver is loaded here; it answers on
# pymodbus's framer and PDU classes, without pymodbus's server stack; the bench speaks no TLS.
SIM_NEVER = (*NEVER, "pymodbus.client", "hardware.meter.driver", "hardware.meter.bus",
             "pymodbus.server", "pymodbus.transport", "pymodbus.transaction", "ssl", "_ssl")
_SIM = """
import os, pickle, sys
from dataclasses import replace
config, options = pickle.loads(sys.stdin.buffer.read())
options = replace(options, sim_socket="\\0chargepoint-test-" + str(os.getpid()))
from chargepoint.island import process
hw, host, spi = process._safety_hardware(config, options)
assert host.meter_port, "the virtual meter runs"
host.stop()
loaded = [m for m, module in sys.modules.items() if module is not None]  # None: blocked
print(",".join(sorted(m for m in loaded if m.split(".")[0] in {roots} and
                      any(m == n or m.startswith(n + ".") for n in {unwanted}))))
"""


def _pickled(tmp: str) -> bytes:
    probe = ("import pickle, sys\n"
             "from chargepoint.config import config_from_toml\n"
             "from chargepoint.island.options import IslandOptions\n"
             f"config = config_from_toml({_CONFIG.format(tmp=tmp)!r})\n"
             "sys.stdout.buffer.write(pickle.dumps((config, IslandOptions())))\n")
    return subprocess.run([sys.executable, "-c", probe], capture_output=True,
                          check=True).stdout


def _roots(names: tuple[str, ...]) -> set[str]:
    return {n.split(".")[0] for n in names}


def test_island_on_real_pins_imports_no_asyncio_store_ocpp_or_modbus(tmp_path: Path) -> None:
    probe = _PINS.format(roots=_roots(NOT_ON_PINS), unwanted=NOT_ON_PINS)
    loaded = subprocess.run([sys.executable, "-c", probe], input=_pickled(str(tmp_path)),
                            capture_output=True, check=True).stdout.decode().strip()
    assert loaded == ""


def test_island_options_unpickle_without_the_link() -> None:
    """``IslandOptions`` lives in a module of its own: unpickling it in the island does not
    import ``link`` (asyncio)."""
    from chargepoint.island.link import IslandOptions
    from chargepoint.island.options import IslandOptions as Same

    assert IslandOptions is Same
    assert IslandOptions.__module__ == "chargepoint.island.options"


def test_simulated_island_hosts_the_virtual_meter_without_its_driver_server_stack_or_tls(
        tmp_path: Path) -> None:
    probe = _SIM.format(roots=_roots(SIM_NEVER), unwanted=SIM_NEVER)
    loaded = subprocess.run([sys.executable, "-c", probe], input=_pickled(str(tmp_path)),
                            capture_output=True, check=True, timeout=60).stdout.decode().strip()
    assert loaded == ""
