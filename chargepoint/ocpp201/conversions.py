"""The station's own vocabulary (1.6-shaped, ``chargepoint.core.types``) in 2.0.1 terms."""

from __future__ import annotations

from chargepoint.core.types import AuthStatus, ConnectorStatus, StopReason

_CONNECTOR_STATUS = {
    ConnectorStatus.AVAILABLE: "Available",
    ConnectorStatus.RESERVED: "Reserved",
    ConnectorStatus.UNAVAILABLE: "Unavailable",
    ConnectorStatus.FAULTED: "Faulted",
}  # everything else: a cable is in (Preparing, Charging, Suspended*, Finishing)

# StopReason -> (stoppedReason, triggerReason) of TransactionEvent Ended
_STOP = {
    StopReason.EMERGENCY_STOP: ("EmergencyStop", "AbnormalCondition"),
    StopReason.EV_DISCONNECTED: ("EVDisconnected", "EVCommunicationLost"),
    StopReason.HARD_RESET: ("ImmediateReset", "ResetCommand"),
    StopReason.LOCAL: ("Local", "StopAuthorized"),
    StopReason.OTHER: ("Other", "AbnormalCondition"),
    StopReason.POWER_LOSS: ("PowerLoss", "AbnormalCondition"),
    StopReason.REBOOT: ("Reboot", "ResetCommand"),
    StopReason.REMOTE: ("Remote", "RemoteStop"),
    StopReason.SOFT_RESET: ("Reboot", "ResetCommand"),
    StopReason.UNLOCK_COMMAND: ("Other", "UnlockCommand"),
    StopReason.DE_AUTHORIZED: ("DeAuthorized", "Deauthorized"),
}

_AUTH = {
    "Accepted": AuthStatus.ACCEPTED,
    "Blocked": AuthStatus.BLOCKED,
    "Expired": AuthStatus.EXPIRED,
    "ConcurrentTx": AuthStatus.CONCURRENT_TX,
}  # any other 2.0.1 status (Invalid, Unknown, NoCredit, NotAllowedTypeEVSE ...): Invalid


def connector_status(status: ConnectorStatus) -> str:
    """The 2.0.1 ConnectorStatusEnumType of a station connector status."""
    return _CONNECTOR_STATUS.get(status, "Occupied")


def stop_reasons(reason: StopReason) -> tuple[str, str]:
    """(stoppedReason, triggerReason) of the TransactionEvent Ended for ``reason``."""
    return _STOP.get(reason, ("Other", "AbnormalCondition"))


def stop_reasons_by_name(reason: str | None) -> tuple[str, str]:
    """``stop_reasons`` of a stored stop reason (its 1.6 name)."""
    try:
        return stop_reasons(StopReason(reason))
    except ValueError:
        return ("Other", "AbnormalCondition")


def auth_status(status: str) -> AuthStatus:
    """The station's authorization status of a 2.0.1 AuthorizationStatusEnumType value."""
    return _AUTH.get(status, AuthStatus.INVALID)


def id_token(id_tag: str) -> dict[str, str]:
    """The IdTokenType of a card UID ("" : free vend, NoAuthorization)."""
    if not id_tag:
        return {"idToken": "", "type": "NoAuthorization"}
    return {"idToken": id_tag, "type": "ISO14443"}
