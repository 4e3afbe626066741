"""Energy meters over Modbus RTU, with register maps as data files.

- ``regmap``: the TOML register maps (``maps/*.toml``), their loader and value codec;
  ``list_models()``, ``load_model(name)``, ``load_map(path)``.
- ``planner``: which read requests one poll sends (wire-time cost model).
- ``bus``: ``RtuBus``, one serial port shared by the meters on it.
- ``driver``: ``ModbusMeter`` (``hardware.interfaces.EnergyMeter``) and ``open_meter``.
- ``probe``: one-shot reads for technicians (``chargepoint meter probe``).

A new meter model is a new data file in ``maps/``: see ``maps/README.md``.

Importing this package imports none of them: a name is loaded from its module when first
used, so the virtual meter (``regmap`` only) does not pull in pymodbus's client.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hardware.meter.bus import BusCounters, BusError, RtuBus
    from hardware.meter.driver import MeterCounters, ModbusMeter, open_meter
    from hardware.meter.probe import probe, reading_json
    from hardware.meter.regmap import MapError, MeterModel, list_models, load_map, load_model

_HOME = {
    "BusCounters": "bus", "BusError": "bus", "RtuBus": "bus",
    "MeterCounters": "driver", "ModbusMeter": "driver", "open_meter": "driver",
    "probe": "probe", "reading_json": "probe",
    "MapError": "regmap", "MeterModel": "regmap", "list_models": "regmap", "load_map": "regmap",
    "load_model": "regmap",
}

__all__ = [
    "BusCounters",
    "BusError",
    "MapError",
    "MeterCounters",
    "MeterModel",
    "ModbusMeter",
    "RtuBus",
    "list_models",
    "load_map",
    "load_model",
    "open_meter",
    "probe",
    "reading_json",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f"{__name__}.{home}")
    # Every name of that module at once: importing the submodule ``probe`` bound the module
    # to that name here, and the package's ``probe`` is the function.
    for other, where in _HOME.items():
        if where == home:
            globals()[other] = getattr(module, other)
    return globals()[name]
