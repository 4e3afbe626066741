"""The config file of the bench's simulated station (``chargepoint run`` and the safety child).

One connector on the simulated bench (SDM630 virtual meter polled every second), connected to
the bench CSMS at ``url``; state and control socket under ``workdir``.
"""

from __future__ import annotations

from pathlib import Path

TEMPLATE = """\
# Written by the benchmark (bench/station_config.py).
[station]
id = "{station_id}"
vendor = "chargepoint"
model = "Bench"
connectors = 1

[ocpp]
url = "{url}"
reconnect_min_s = 0.2
reconnect_max_s = 2.0
response_timeout_s = 10.0

[ocpp.config]
MeterValueSampleInterval = 1
WebSocketPingInterval = 0

[storage]
path = "{workdir}/{station_id}.db"

[control]
socket = "{workdir}/{station_id}.sock"

[logging]
level = "warning"

[hardware]
simulate = true
"""


def write_config(workdir: Path, station_id: str, url: str) -> Path:
    """Write ``<workdir>/<station_id>.toml``; returns its path."""
    path = workdir / f"{station_id}.toml"
    path.write_text(TEMPLATE.format(station_id=station_id, url=url, workdir=workdir))
    return path
