"""``hardware.meter`` loads its modules on first use: the register maps (the virtual meter in
the island) without pymodbus's client; every name still means what it meant."""

from __future__ import annotations

import subprocess
import sys

_PROBE = """
import sys, types
import hardware.meter.regmap
assert "pymodbus.client" not in sys.modules, "regmap alone loaded the Modbus client"
from hardware.meter import reading_json  # loads the submodule probe first
from hardware.meter import probe, RtuBus, open_meter, load_model
assert not isinstance(probe, types.ModuleType), probe
assert probe.__module__ == "hardware.meter.probe" and callable(probe)
print("ok")
"""


def test_the_meter_package_is_lazy_and_its_names_keep_their_meaning() -> None:
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "ok"
