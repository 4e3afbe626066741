"""Plain values shared by the core's events, actions and state machines (OCPP 1.6 names)."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class PilotState(enum.Enum):
    """IEC 61851-1 control pilot states (same values as ``hardware.interfaces.PilotState``)."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"
    E = "E"
    F = "F"


class ConnectorStatus(enum.Enum):
    """OCPP 1.6 ChargePointStatus."""

    AVAILABLE = "Available"
    PREPARING = "Preparing"
    CHARGING = "Charging"
    SUSPENDED_EV = "SuspendedEV"
    SUSPENDED_EVSE = "SuspendedEVSE"
    FINISHING = "Finishing"
    RESERVED = "Reserved"
    UNAVAILABLE = "Unavailable"
    FAULTED = "Faulted"


class FaultKind(enum.Enum):
    """Faults the station can have; each maps to an OCPP 1.6 ChargePointErrorCode."""

    WELDED = "welded"
    CONTACTOR = "contactor"  # failed to close
    LOCK = "lock"
    METER = "meter"
    RCD = "rcd"
    READER = "reader"
    PILOT = "pilot"  # state E, diode check failed, implausible pilot
    STORAGE = "storage"  # the durable store refuses writes: a session could not be recorded

    @property
    def error_code(self) -> str:
        return _ERROR_CODES[self]

    @property
    def latched(self) -> bool:
        """Latched faults stay until a technician clears them (``chargepoint fault clear``)."""
        return self is FaultKind.WELDED

    @property
    def blocks_charging(self) -> bool:
        """A meter or reader fault does not make charging unsafe; the others do."""
        return self not in (FaultKind.METER, FaultKind.READER)


_ERROR_CODES = {
    FaultKind.WELDED: "PowerSwitchFailure",
    FaultKind.CONTACTOR: "PowerSwitchFailure",
    FaultKind.LOCK: "ConnectorLockFailure",
    FaultKind.METER: "PowerMeterFailure",
    FaultKind.RCD: "GroundFailure",
    FaultKind.READER: "ReaderFailure",
    FaultKind.PILOT: "EVCommunicationError",
    FaultKind.STORAGE: "InternalError",
}


class AuthStatus(enum.Enum):
    """OCPP 1.6 AuthorizationStatus."""

    ACCEPTED = "Accepted"
    BLOCKED = "Blocked"
    EXPIRED = "Expired"
    INVALID = "Invalid"
    CONCURRENT_TX = "ConcurrentTx"


class StopReason(enum.Enum):
    """OCPP 1.6 Reason for StopTransaction."""

    EMERGENCY_STOP = "EmergencyStop"
    EV_DISCONNECTED = "EVDisconnected"
    HARD_RESET = "HardReset"
    LOCAL = "Local"
    OTHER = "Other"
    POWER_LOSS = "PowerLoss"
    REBOOT = "Reboot"
    REMOTE = "Remote"
    SOFT_RESET = "SoftReset"
    UNLOCK_COMMAND = "UnlockCommand"
    DE_AUTHORIZED = "DeAuthorized"


@dataclass(frozen=True, slots=True)
class Settings:
    """The OCPP configuration values the core's decisions depend on, and station wiring facts."""

    connection_timeout_s: float = 60.0
    stop_transaction_on_ev_side_disconnect: bool = True
    unlock_connector_on_ev_side_disconnect: bool = True
    stop_transaction_on_invalid_id: bool = True
    max_energy_on_invalid_id_wh: float | None = None
    has_lock: bool = False  # socket outlet with a connector lock; False: fixed cable
    max_current_a: float = 32.0  # station wiring limit per connector
    ev_stop_timeout_s: float = 3.0  # stop under load: wait at most this for B before opening
    reserve_connector_zero_supported: bool = True
    # free vend ([charging] free_vend): a plug-in starts a transaction with this id tag, no
    # card and no authorization request; None: off (docs/site.md)
    free_vend_id_tag: str | None = None
