"""Energy meters over Modbus RTU, with register maps as data files.

- ``regmap``: the TOML register maps (``maps/*.toml``), their loader and value codec;
  ``list_models()``, ``load_model(name)``, ``load_map(path)``.
- ``planner``: which read requests one poll sends (wire-time cost model).
- ``bus``: ``RtuBus``, one serial port shared by the meters on it.
- ``driver``: ``ModbusMeter`` (``hardware.interfaces.EnergyMeter``) and ``open_meter``.
- ``probe``: one-shot reads for technicians (``chargepoint meter probe``).

A new meter model is a new data file in ``maps/``: see ``maps/README.md``.
"""

from hardware.meter.bus import BusCounters, BusError, RtuBus
from hardware.meter.driver import MeterCounters, ModbusMeter, open_meter
from hardware.meter.probe import probe, reading_json
from hardware.meter.regmap import MapError, MeterModel, list_models, load_map, load_model

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
