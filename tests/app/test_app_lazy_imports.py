"""A station loads the protocol package it runs and not the other one (start-up time and
memory: the 2.0.1 message classes and schemas alone take about half a second to import)."""

import subprocess
import sys

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
