"""Caller-misuse checks for :meth:`chargepoint.core.station.Station.handle`.

Raised before any state changes (STYLE.md: misuse raises early). Requests that come from the
CSMS (remote start/stop, unlock, reserve, availability) are *not* checked here: an unknown
connector there is the CSMS's mistake and gets a ``Reply`` status instead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Protocol

from chargepoint.core.events import (
    AuthorizationResult,
    AvailabilityChanged,
    CableRating,
    CardPresented,
    ContactorFeedback,
    CsmsLinkChanged,
    CurrentLimitChanged,
    Event,
    FaultCleared,
    FaultRaised,
    LockFeedback,
    MeterUpdated,
    PilotChanged,
    RemoteStartRequested,
    RemoteStopRequested,
    ReservationCancelled,
    ReservationMade,
    SettingsChanged,
    StopRequested,
    TimerExpired,
    TransactionConfirmed,
    UnlockRequested,
)
from chargepoint.core.types import Settings


class _Tagged(Protocol):
    @property
    def id_tag(self) -> str: ...


def check_connector(cid: int, count: int, *, allow_zero: bool) -> None:
    """Raise ``ValueError`` unless ``cid`` is 1..count (0..count with ``allow_zero``)."""
    low = 0 if allow_zero else 1
    if not low <= cid <= count:
        raise ValueError(f"connector {cid} outside {low}..{count}")


def validate(event: Event, count: int, pending: Mapping[int, _Tagged]) -> None:
    """Raise ``ValueError`` when ``event`` is malformed for a station of ``count``
    connectors with authorization requests ``pending`` in flight."""
    match event:
        case (PilotChanged() | CableRating() | ContactorFeedback() | LockFeedback()
              | TransactionConfirmed()):
            check_connector(event.connector, count, allow_zero=False)
        case MeterUpdated():
            check_connector(event.connector, count, allow_zero=False)
            if not math.isfinite(event.energy_wh):
                raise ValueError(f"energy_wh must be finite, not {event.energy_wh}")
        case FaultRaised() | FaultCleared() | StopRequested():
            check_connector(event.connector, count, allow_zero=True)
        case CurrentLimitChanged():
            check_connector(event.connector, count, allow_zero=True)
            if not event.amps >= 0 or math.isinf(event.amps):
                raise ValueError(f"limit must be finite amps >= 0, not {event.amps}")
        case SettingsChanged():
            if not isinstance(event.settings, Settings):
                raise ValueError("SettingsChanged.settings must be a Settings")
        case AuthorizationResult():
            p = pending.get(event.request_id)
            if p is not None and p.id_tag != event.id_tag:
                raise ValueError(f"request {event.request_id} was for {p.id_tag!r}")
        case RemoteStartRequested():
            if event.limit_a is not None and not event.limit_a >= 0:
                raise ValueError(f"limit_a must be >= 0, not {event.limit_a}")
        case (CardPresented() | RemoteStopRequested() | UnlockRequested()
              | ReservationMade() | ReservationCancelled() | AvailabilityChanged()
              | TimerExpired() | CsmsLinkChanged()):
            pass
        case _:
            raise ValueError(f"not a core event: {event!r}")
