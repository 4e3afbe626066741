"""Reservations (OCPP 1.6 section 5.13 ReserveNow / 5.3 CancelReservation).

A reservation holds a connector (or, for connector 0, *one* of the station's connectors) for an
id tag until it expires, is cancelled, or is used by a transaction started with the same id
tag or an id tag with the same parent id tag (OCTT 046-053).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Reservation:
    reservation_id: int
    connector: int  # 0: any connector of the station
    id_tag: str
    parent_id_tag: str | None
    expires_at: float  # monotonic

    @property
    def timer_id(self) -> str:
        return f"reservation:{self.reservation_id}"

    def admits(self, id_tag: str, parent_id_tag: str | None) -> bool:
        """May ``id_tag`` (with ``parent_id_tag``, if known) use this reservation?"""
        if id_tag == self.id_tag:
            return True
        return parent_id_tag is not None and parent_id_tag == self.parent_id_tag


class ReservationBook:
    """The active reservations, by id. Plain bookkeeping; the station decides the rules."""

    def __init__(self) -> None:
        self._by_id: dict[int, Reservation] = {}

    def get(self, reservation_id: int) -> Reservation | None:
        return self._by_id.get(reservation_id)

    def put(self, reservation: Reservation) -> None:
        self._by_id[reservation.reservation_id] = reservation

    def remove(self, reservation_id: int) -> Reservation | None:
        return self._by_id.pop(reservation_id, None)

    def on(self, connector: int) -> Reservation | None:
        """The reservation of one connector (1..N), if any."""
        for r in self._by_id.values():
            if r.connector == connector:
                return r
        return None

    def station_wide(self) -> list[Reservation]:
        """Reservations made for connector 0, oldest id first."""
        return sorted(
            (r for r in self._by_id.values() if r.connector == 0),
            key=lambda r: r.reservation_id,
        )

    def all(self) -> list[Reservation]:
        return list(self._by_id.values())
