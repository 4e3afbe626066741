"""Events: everything the pure core can be told.

The core's face is one call, ``Station.handle(event, now) -> list[Action]``. ``now`` is a
monotonic time in seconds supplied by the caller; the core never reads a clock. Events are
small frozen values; they validate what they can in their constructor (misuse raises early).

Connector ids are 1..N; ``0`` means the whole station where an event allows it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from chargepoint.core.types import AuthStatus, FaultKind, PilotState, StopReason


@dataclass(frozen=True, slots=True)
class PilotChanged:
    """The debounced CP state of a connector changed (A..F)."""

    connector: int
    state: PilotState


@dataclass(frozen=True, slots=True)
class CableRating:
    """The PP resistor gives the cable's rating (None: no cable / fixed cable)."""

    connector: int
    amps: int | None


@dataclass(frozen=True, slots=True)
class ContactorFeedback:
    """The mirror contact of a connector's contactor (True = closed)."""

    connector: int
    closed: bool


@dataclass(frozen=True, slots=True)
class LockFeedback:
    """The lock feedback input of a connector (True = locked)."""

    connector: int
    locked: bool


@dataclass(frozen=True, slots=True)
class CardPresented:
    """A card was presented to the (shared) reader; the core routes it to a connector."""

    id_tag: str


@dataclass(frozen=True, slots=True)
class AuthorizationResult:
    """Answer to ``RequestAuthorization`` (from local list, cache, CSMS or offline rules)."""

    request_id: int
    id_tag: str
    status: AuthStatus
    parent_id_tag: str | None = None


@dataclass(frozen=True, slots=True)
class TransactionConfirmed:
    """The CSMS answered StartTransaction: the idTag's status (Invalid may stop the session)."""

    connector: int
    status: AuthStatus


@dataclass(frozen=True, slots=True)
class RemoteStartRequested:
    """RemoteStartTransaction. ``connector`` None: the station picks one. Answered by ``Reply``.

    ``authorized`` is True when the id tag needs no further authorization
    (AuthorizeRemoteTxRequests false, or already checked by the adapter).
    """

    connector: int | None
    id_tag: str
    authorized: bool = True
    limit_a: float | None = None  # from a TxProfile sent with the request


@dataclass(frozen=True, slots=True)
class RemoteStopRequested:
    """RemoteStopTransaction for the session on ``connector``. Answered by ``Reply``."""

    connector: int


@dataclass(frozen=True, slots=True)
class StopRequested:
    """A local stop that is not a card: Reset, shutdown, EmergencyStop... (no Reply)."""

    connector: int  # 0 = every connector
    reason: StopReason


@dataclass(frozen=True, slots=True)
class UnlockRequested:
    """UnlockConnector. Stops a running session with reason UnlockCommand. Answered by ``Reply``."""

    connector: int


@dataclass(frozen=True, slots=True)
class ReservationMade:
    """ReserveNow. ``connector`` 0 reserves the station (any connector). Answered by ``Reply``."""

    reservation_id: int
    connector: int
    id_tag: str
    parent_id_tag: str | None
    expires_at: float  # monotonic


@dataclass(frozen=True, slots=True)
class ReservationCancelled:
    """CancelReservation. Answered by ``Reply`` (Accepted / Rejected)."""

    reservation_id: int


@dataclass(frozen=True, slots=True)
class AvailabilityChanged:
    """ChangeAvailability (connector 0 = station). Answered by ``Reply``: Accepted/Scheduled."""

    connector: int
    operative: bool


@dataclass(frozen=True, slots=True)
class FaultRaised:
    connector: int  # 0 = station-wide (e.g. reader)
    kind: FaultKind
    info: str = ""


@dataclass(frozen=True, slots=True)
class FaultCleared:
    """A fault went away. A latched fault (welded) only clears with ``technician=True``."""

    connector: int
    kind: FaultKind
    technician: bool = False


@dataclass(frozen=True, slots=True)
class CurrentLimitChanged:
    """The smart-charging limit for a connector (A). Below 6 A no charging is offered."""

    connector: int
    amps: float


@dataclass(frozen=True, slots=True)
class MeterUpdated:
    """A good meter reading for a connector."""

    connector: int
    energy_wh: float
    power_w: float | None = None


@dataclass(frozen=True, slots=True)
class TimerExpired:
    """A timer the core armed with ``StartTimer`` has run out."""

    timer_id: str


class Link(enum.Enum):
    ONLINE = "online"
    OFFLINE = "offline"


@dataclass(frozen=True, slots=True)
class CsmsLinkChanged:
    link: Link


@dataclass(frozen=True, slots=True)
class SettingsChanged:
    """OCPP configuration relevant to the core changed (see ``chargepoint.core.types.Settings``)."""

    settings: object  # chargepoint.core.types.Settings; object to keep this module import-light


Event = (
    PilotChanged
    | CableRating
    | ContactorFeedback
    | LockFeedback
    | CardPresented
    | AuthorizationResult
    | TransactionConfirmed
    | RemoteStartRequested
    | RemoteStopRequested
    | StopRequested
    | UnlockRequested
    | ReservationMade
    | ReservationCancelled
    | AvailabilityChanged
    | FaultRaised
    | FaultCleared
    | CurrentLimitChanged
    | MeterUpdated
    | TimerExpired
    | CsmsLinkChanged
    | SettingsChanged
)


RequestEvent = (
    RemoteStartRequested
    | RemoteStopRequested
    | UnlockRequested
    | ReservationMade
    | ReservationCancelled
    | AvailabilityChanged
)
"""The requests the core answers with a ``Reply`` (``Reply.request`` names the class)."""
