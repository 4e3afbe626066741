"""Mutable per-connector state of the station (internal to ``chargepoint.core``).

Only :class:`chargepoint.core.station.Station` mutates these records; the outside world sees
the frozen :mod:`chargepoint.core.view` instead.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from chargepoint.core.session import Phase
from chargepoint.core.types import ConnectorStatus, FaultKind, PilotState, StopReason


class Source(enum.Enum):
    CARD = "card"
    REMOTE = "remote"
    FREE_VEND = "free_vend"  # a plug-in with [charging] free_vend: no card, no authorization


@dataclass(slots=True)
class Grant:
    """An accepted authorization not yet used by a transaction (phase AUTHORIZED)."""

    id_tag: str
    parent_id_tag: str | None
    source: Source
    limit_a: float | None
    reservation_id: int | None


@dataclass(slots=True)
class Session:
    """A running transaction."""

    id_tag: str
    parent_id_tag: str | None
    meter_start_wh: float
    started_at: float
    reservation_id: int | None
    limit_a: float | None  # from a TxProfile sent with RemoteStart
    invalid: bool = False  # StartTransaction.conf said not Accepted
    suspended: bool = False  # energy delivery stopped by the station (invalid id)
    ever_charged: bool = False  # the contactor closed at least once
    grace_over: bool = False  # the EV had its chance to start drawing
    stop_reason: StopReason | None = None
    stop_id_tag: str | None = None
    abort: bool = False  # stop at once, no wind-down (emergency stop, blocking fault)


@dataclass(slots=True)
class Connector:
    id: int
    phase: Phase = Phase.IDLE
    pilot: PilotState = PilotState.A
    ev_present: bool = False
    cable_a: int | None = None
    limit_a: float | None = None  # smart-charging limit for this connector
    operative: bool = True
    scheduled_operative: bool | None = None  # ChangeAvailability answered "Scheduled"
    faults: dict[FaultKind, str] = field(default_factory=dict)
    energy_wh: float | None = None
    power_w: float | None = None
    grant: Grant | None = None
    session: Session | None = None
    pending_request: int | None = None  # RequestAuthorization in flight for a start here
    # outputs, as commanded
    state_f: bool = False
    pwm_amps: float | None = None
    contactor_closed: bool = False
    lock_locked: bool = False
    # inputs
    lock_feedback: bool | None = None
    contactor_feedback: bool | None = None
    # stop / unlock bookkeeping
    winding_down: bool = False
    abort: bool = False  # one-shot: open at once (wind-down expired)
    finished_by: str | None = None  # the id tag that stopped the last transaction here
    keep_locked: bool = False  # EV side disconnect with UnlockConnectorOnEVSideDisconnect false
    unlock_pending: bool = False  # an UnlockConnector.conf is owed
    reported: tuple[ConnectorStatus, str, str | None] | None = None
