"""chargepoint.ocpp16.conversions: every word of the station's vocabulary has its 1.6 name."""

from __future__ import annotations

import pytest

from chargepoint.core.types import AuthStatus, ConnectorStatus, StopReason
from chargepoint.ocpp16 import conversions


def test_every_status_and_reason_has_a_1_6_name() -> None:
    assert {conversions.charge_point_status(s) for s in ConnectorStatus} == {
        "Available", "Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing",
        "Reserved", "Unavailable", "Faulted"}
    assert conversions.stop_reason(StopReason.EV_DISCONNECTED) == "EVDisconnected"
    assert len({conversions.stop_reason(r) for r in StopReason}) == len(StopReason)


def test_authorization_statuses_both_ways() -> None:
    for status in AuthStatus:
        assert conversions.auth_status(status.value) is status
    for bad in ("accepted", "", None, 1, "Unknown"):
        with pytest.raises(ValueError):
            conversions.auth_status(bad)
