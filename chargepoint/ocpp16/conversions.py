"""The station's vocabulary to and from OCPP 1.6, in one place.

The core's enums (``chargepoint.core.types``) name statuses, stop reasons and authorization
results; their values happen to be the 1.6 names, because those are the station's own words
in ``chargepoint status`` (docs/architecture.md, "The protocol seam"). This package does not
rely on that: whatever crosses the 1.6 wire goes through these tables, so a change of the
station's vocabulary shows here and nowhere else in the package (a 2.0.1 package keeps its
own such module).
"""

from __future__ import annotations

from chargepoint.core.types import AuthStatus, ConnectorStatus, StopReason

_STATUS = {
    ConnectorStatus.AVAILABLE: "Available",
    ConnectorStatus.PREPARING: "Preparing",
    ConnectorStatus.CHARGING: "Charging",
    ConnectorStatus.SUSPENDED_EV: "SuspendedEV",
    ConnectorStatus.SUSPENDED_EVSE: "SuspendedEVSE",
    ConnectorStatus.FINISHING: "Finishing",
    ConnectorStatus.RESERVED: "Reserved",
    ConnectorStatus.UNAVAILABLE: "Unavailable",
    ConnectorStatus.FAULTED: "Faulted",
}

_REASON = {
    StopReason.EMERGENCY_STOP: "EmergencyStop",
    StopReason.EV_DISCONNECTED: "EVDisconnected",
    StopReason.HARD_RESET: "HardReset",
    StopReason.LOCAL: "Local",
    StopReason.OTHER: "Other",
    StopReason.POWER_LOSS: "PowerLoss",
    StopReason.REBOOT: "Reboot",
    StopReason.REMOTE: "Remote",
    StopReason.SOFT_RESET: "SoftReset",
    StopReason.UNLOCK_COMMAND: "UnlockCommand",
    StopReason.DE_AUTHORIZED: "DeAuthorized",
}

_AUTH = {
    "Accepted": AuthStatus.ACCEPTED,
    "Blocked": AuthStatus.BLOCKED,
    "Expired": AuthStatus.EXPIRED,
    "Invalid": AuthStatus.INVALID,
    "ConcurrentTx": AuthStatus.CONCURRENT_TX,
}


def charge_point_status(status: ConnectorStatus) -> str:
    """StatusNotification.req ``status`` (ChargePointStatus)."""
    return _STATUS[status]


def stop_reason(reason: StopReason) -> str:
    """StopTransaction.req ``reason`` (Reason)."""
    return _REASON[reason]


def auth_status(value: object) -> AuthStatus:
    """An idTagInfo ``status`` (AuthorizationStatus); ``ValueError`` for anything else."""
    if not isinstance(value, str) or value not in _AUTH:
        raise ValueError(f"not an AuthorizationStatus: {value!r}")
    return _AUTH[value]
