"""What the Station's helpers (``routing``, ``requests``, ``view``) may ask of it.

They receive one of these Protocols, never the ``Station`` class: the station imports its
helpers, the helpers import only this module. The station's books (reservations, timers,
authorization requests in flight) are read through read-only views and changed only through
the named methods of ``StationOps``; per-connector state lives on ``Connector``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from chargepoint.core.actions import Action
from chargepoint.core.connector import Connector, Grant
from chargepoint.core.events import Link
from chargepoint.core.outputs import StationFacts
from chargepoint.core.pending import Pending
from chargepoint.core.reservations import Reservation
from chargepoint.core.types import ConnectorStatus, FaultKind, Settings, StopReason


class Reservations(Protocol):
    """The reservations, read-only."""

    def get(self, reservation_id: int) -> Reservation | None: ...

    def on(self, connector: int) -> Reservation | None:
        """The reservation of one connector (1..N), if any."""

    def station_wide(self) -> list[Reservation]:
        """Reservations made for connector 0, oldest id first."""


class StationReader(Protocol):
    """Read-only access (``view``, and the rules of ``routing``)."""

    @property
    def connectors(self) -> Sequence[Connector]: ...
    @property
    def connector_count(self) -> int: ...
    @property
    def settings(self) -> Settings: ...
    @property
    def reservations(self) -> Reservations: ...
    @property
    def pending_requests(self) -> Mapping[int, Pending]: ...
    @property
    def link(self) -> Link: ...
    @property
    def station_faults(self) -> Mapping[FaultKind, str]: ...
    @property
    def station_operative(self) -> bool: ...

    def conn(self, cid: int) -> Connector: ...

    def facts(self) -> StationFacts: ...

    def startable(self, c: Connector) -> bool:
        """May a new authorization be used on ``c`` now?"""

    def status0(self) -> tuple[ConnectorStatus, str, str | None]:
        """Connector 0's status, error code and info."""


class StationOps(StationReader, Protocol):
    """Reading plus the few changes the request handlers make (each appends its actions)."""

    def authorize(self, c: Connector, grant: Grant, now: float, out: list[Action]) -> bool: ...

    def stop(self, c: Connector, reason: StopReason, id_tag: str | None, now: float,
             out: list[Action], *, abort: bool = False) -> bool: ...

    def drop_grant(self, c: Connector, out: list[Action]) -> bool: ...

    def drop_reservation(self, r: Reservation, out: list[Action]) -> None:
        """Remove ``r``, cancel its timer, tell the runtime (``ClearReservation``)."""

    def request_authorization(self, p: Pending, out: list[Action]) -> None:
        """Ask for an authorization (``RequestAuthorization``) and remember it as in flight."""

    def take_pending(self, request_id: int) -> Pending | None:
        """Forget an authorization request in flight (its answer becomes stale); returns it."""

    def lift_reservation(self, reservation_id: int) -> Reservation | None:
        """Take a reservation out of the book (its timer stays) while a replacement is judged;
        give it back with ``put_back_reservation`` or replace it with ``place_reservation``."""

    def put_back_reservation(self, r: Reservation) -> None: ...

    def place_reservation(self, r: Reservation, replaced: Reservation | None,
                          out: list[Action]) -> None:
        """Book ``r`` and arm its expiry timer (cancelling the one of ``replaced``)."""

    def start_timer(self, timer_id: str, deadline: float, out: list[Action]) -> None: ...

    def set_station_operative(self, operative: bool) -> None:
        """ChangeAvailability of connector 0, as applied."""
