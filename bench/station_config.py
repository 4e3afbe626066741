"""The config file of the bench's simulated station (``chargepoint run`` and the safety child).

``connectors`` (default 1) on the simulated bench (SDM630 virtual meter: every second while
busy, every 60 s idle, the defaults), connected to the bench CSMS at ``url``; state and control
socket under ``workdir``.
``version`` "2.0.1" writes ``[ocpp] version = "2.0.1"`` and no ``[ocpp.config]`` (1.6 keys are
an error there; the 2.0.1 device model has no meter sample interval or WebSocket ping variable:
none is sent).
"""

from __future__ import annotations

from pathlib import Path

TEMPLATE = """\
# Written by the benchmark (bench/station_config.py).
[station]
id = "{station_id}"
vendor = "chargepoint"
model = "Bench"
connectors = {connectors}

[ocpp]
version = "{version}"
url = "{url}"
reconnect_min_s = 0.2
reconnect_max_s = 2.0
response_timeout_s = 10.0
{ocpp_config}
[storage]
path = "{workdir}/{station_id}.db"

[control]
socket = "{workdir}/{station_id}.sock"

[logging]
level = "warning"

[hardware]
simulate = true
"""


CONFIG_16 = """
[ocpp.config]
MeterValueSampleInterval = 1
WebSocketPingInterval = 0
"""


def config_text(workdir: Path, station_id: str, url: str, version: str = "1.6",
                connectors: int = 1) -> str:
    """The TOML of the bench station (see the module docstring)."""
    return TEMPLATE.format(station_id=station_id, url=url, workdir=workdir, version=version,
                           ocpp_config=CONFIG_16 if version == "1.6" else "",
                           connectors=connectors)


def write_config(workdir: Path, station_id: str, url: str, version: str = "1.6",
                 connectors: int = 1) -> Path:
    """Write ``<workdir>/<station_id>.toml``; returns its path."""
    path = workdir / f"{station_id}.toml"
    path.write_text(config_text(workdir, station_id, url, version, connectors))
    return path
