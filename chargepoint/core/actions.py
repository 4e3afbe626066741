"""Actions: everything the pure core asks the outside world to do.

The asyncio layer performs them in order. Hardware actions (PWM, contactor, lock) are performed
by the control loop at once; transaction and status actions go through the durable store
before they are sent (durable before acknowledged).
"""

from __future__ import annotations

from dataclasses import dataclass

from chargepoint.core.events import RequestEvent
from chargepoint.core.types import ConnectorStatus, StopReason


@dataclass(frozen=True, slots=True)
class SetPwm:
    """Offer ``amps`` on the pilot: PWM at ``duty_percent`` (IEC 61851-1 table)."""

    connector: int
    duty_percent: float
    amps: float


@dataclass(frozen=True, slots=True)
class PwmOff:
    """Constant +12 V: no charging offered."""

    connector: int


@dataclass(frozen=True, slots=True)
class SetStateF:
    """Constant -12 V: EVSE unavailable / faulted."""

    connector: int


@dataclass(frozen=True, slots=True)
class CloseContactor:
    connector: int


@dataclass(frozen=True, slots=True)
class OpenContactor:
    connector: int


@dataclass(frozen=True, slots=True)
class LockConnector:
    connector: int


@dataclass(frozen=True, slots=True)
class UnlockConnector:
    connector: int


@dataclass(frozen=True, slots=True)
class StartTransaction:
    """Begin a transaction: store it and queue StartTransaction.req."""

    connector: int
    id_tag: str
    meter_start_wh: float
    at: float  # monotonic
    reservation_id: int | None = None
    free_vend: bool = False  # started by a plug-in without a card (2.0.1: NoAuthorization)


@dataclass(frozen=True, slots=True)
class StopTransaction:
    """End the transaction on ``connector``: store it and queue StopTransaction.req."""

    connector: int
    id_tag: str | None  # the tag that stopped it, None for non-card stops
    meter_stop_wh: float
    at: float
    reason: StopReason


@dataclass(frozen=True, slots=True)
class ReportStatus:
    """Connector (0 = station) status changed: StatusNotification."""

    connector: int
    status: ConnectorStatus
    error_code: str = "NoError"
    info: str | None = None
    at: float = 0.0


@dataclass(frozen=True, slots=True)
class StartTimer:
    timer_id: str
    deadline: float  # monotonic


@dataclass(frozen=True, slots=True)
class CancelTimer:
    timer_id: str


@dataclass(frozen=True, slots=True)
class RequestAuthorization:
    """Resolve ``id_tag`` (local list, cache, CSMS, offline rules); answer with
    ``AuthorizationResult(request_id, ...)``."""

    request_id: int
    id_tag: str
    connector: int | None


@dataclass(frozen=True, slots=True)
class Reply:
    """The answer to a request event (RemoteStart, RemoteStop, Unlock, Reserve, ...).

    ``status`` is the OCPP 1.6 status string of the matching .conf (e.g. "Accepted",
    "Rejected", "Scheduled", "Unlocked", "UnlockFailed", "NotSupported", "Occupied",
    "Faulted", "Unavailable"). For UnlockRequested on a lock, the status is final only after
    the lock feedback; the core answers when it knows.
    """

    status: str
    # Added by the core: which request this answers (the event class, e.g. UnlockRequested)
    # and for which connector, so a late Reply can be routed.
    request: type[RequestEvent] | None = None
    connector: int | None = None


@dataclass(frozen=True, slots=True)
class ClearReservation:
    """A reservation was used, cancelled or expired: forget it in the store."""

    reservation_id: int


Action = (
    SetPwm
    | PwmOff
    | SetStateF
    | CloseContactor
    | OpenContactor
    | LockConnector
    | UnlockConnector
    | StartTransaction
    | StopTransaction
    | ReportStatus
    | StartTimer
    | CancelTimer
    | RequestAuthorization
    | Reply
    | ClearReservation
)
