"""Reservations under OCPP 2.0.1 (block H): ReserveNow, CancelReservation, the use of a
reservation and ReservationStatusUpdate, over the core's reservations (``core/routing.py``
decides who may use a reserved EVSE) and the store's (``ocppj.reservations``).

``Reservations(services)`` is a handler object of the 2.0.1 client and sees every protocol
action of the core first (``perform``, from the adapter's ``perform``).

ReserveNow (H01): Rejected when ``ReservationCtrlr.Enabled`` is false (H01.FR.01), without
``evseId`` when ``ReservationCtrlr.NonEvseSpecific`` is false (H01.FR.19), for an EVSE the
station does not have, with a ``connectorType`` (the station does not know its connectors'
types) or an expiry date that is not in the future. Otherwise the core answers Accepted,
Faulted, Occupied (a cable in, a transaction, reserved already) or Unavailable. An accepted
reservation is written to the store before the answer; one with the ``id`` of a reservation
held already replaces it (H01.FR.02). The EVSE reports Reserved (StatusNotification); without
``evseId`` (H01.FR.18) the free EVSEs report Reserved once there are no more of them than such
reservations. ``idToken`` is matched by its value (not its type); ``groupIdToken`` becomes the
core's parent id tag.

CancelReservation (H02): Accepted for a reservation held (H02.FR.02), else Rejected
(H02.FR.01); the removal is written before the answer; no ReservationStatusUpdate.

Use (H03): the reserved EVSE starts only for the reservation's idToken, or an idToken whose
Authorize answer names the reservation's ``groupIdToken``; the transaction consumes it
(H03.FR.09) and its TransactionEvent Started carries the ``reservationId`` (H01.FR.15).

Ended otherwise (H04): ReservationStatusUpdate Expired when it ran out (H04.FR.01), Removed
when the station ended it: its EVSE became Faulted (H01.FR.16) or Unavailable (H01.FR.17), or
a restart found it no longer possible. A reservation without ``evseId`` is not removed when
EVSEs fault or become unavailable (it lasts until it expires, is cancelled or used). The
update is queued in the store's durable outbox (sent once registered, in order) before the
reservation leaves the store, in one job on the store's thread (a crash between the two may
repeat the update after the restart; it is not lost).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, Protocol

from ocpp.v201 import call_result  # type: ignore[import-untyped]

from chargepoint.core.actions import (
    Action,
    ClearReservation,
    Reply,
    ReportStatus,
    StartTransaction,
)
from chargepoint.core.events import ReservationCancelled, ReservationMade
from chargepoint.core.types import ConnectorStatus
from chargepoint.ocpp201.client import on
from chargepoint.ocpp201.services import AdapterServices
from chargepoint.ocppj.outbox import Outbox
from chargepoint.ocppj.reservations import EXPIRED, StoredReservations
from chargepoint.ocppj.timestamps import parse_utc
from chargepoint.ports import ProtocolAction
from chargepoint.store.api import ReservationRecord

LOG = logging.getLogger("chargepoint.ocpp")

ACTION = "ReservationStatusUpdate"
_ENDS_RESERVATIONS = (ConnectorStatus.FAULTED, ConnectorStatus.UNAVAILABLE)


class ReservationServices(AdapterServices, Protocol):
    """What the reservation code uses of the adapter."""

    @property
    def outbox(self) -> Outbox: ...


def _reply(actions: list[Action]) -> str:
    return next((a.status for a in actions if isinstance(a, Reply)), "Rejected")


def update_payload(reservation_id: int, status: str) -> dict[str, Any]:
    """A ReservationStatusUpdateRequest: Expired, or Removed for any other end."""
    return {"reservationId": reservation_id,
            "reservationUpdateStatus": "Expired" if status == EXPIRED else "Removed"}


class Reservations:
    def __init__(self, services: ReservationServices) -> None:
        self._s = services
        self._stored = StoredReservations(services.port.store)
        self._held: dict[int, int] = {}  # reservation id -> EVSE (0: any EVSE)
        # Why a reservation the station is dropping ends: None (the CSMS cancelled it: no
        # update) or the update's status; set only around the submit that drops it.
        self._ending: dict[int, str | None] = {}
        self._used: set[int] = set()  # started a transaction; its ClearReservation follows

    async def restore(self) -> None:
        """Once at start, before the connection: the stored reservations back into the core;
        each one it no longer takes is reported Expired or Removed."""
        store = self._s.port.store

        def dropped(record: ReservationRecord, status: str) -> None:  # the store's thread
            store.enqueue(ACTION, update_payload(record.reservation_id, status), None)

        held = await self._stored.restore(self._s.port, self._s.clock, dropped)
        self._held.update((r.reservation_id, r.connector) for r in held)
        self._s.outbox.wake()

    # -- the core's protocol actions (synchronous, in order)
    def perform(self, action: ProtocolAction) -> None:
        match action:
            case StartTransaction(reservation_id=int() as reservation_id):
                self._used.add(reservation_id)
            case ClearReservation(reservation_id=reservation_id):
                self._cleared(reservation_id)
            case ReportStatus(connector=evse, status=status) if (
                    evse > 0 and status in _ENDS_RESERVATIONS):
                for reservation_id, held_on in list(self._held.items()):
                    if held_on == evse:  # H01.FR.16/17 (after this action list is performed)
                        self._s.spawn(self._remove(reservation_id))
            case _:
                pass

    def _cleared(self, reservation_id: int) -> None:
        self._held.pop(reservation_id, None)
        status: str | None = EXPIRED  # the core's timer: H04.FR.01
        if reservation_id in self._used:
            self._used.discard(reservation_id)
            status = None  # used: the TransactionEvent says so
        elif reservation_id in self._ending:
            status = self._ending.pop(reservation_id)
        if status is None:
            self._stored.remove(reservation_id)
            return
        ticket = self._s.outbox.ticket()
        self._s.spawn(self._report_end(ticket, reservation_id, status))

    async def _report_end(self, ticket: int, reservation_id: int, status: str) -> None:
        store = self._s.port.store
        payload = update_payload(reservation_id, status)

        def job() -> int:
            seq = store.enqueue(ACTION, payload, None)
            store.reservation_remove(reservation_id)
            return seq

        try:
            seq = await self._stored.run(job)
        except Exception as exc:
            LOG.error("reservation %d ended (%s): not recorded: %s", reservation_id,
                      payload["reservationUpdateStatus"], exc)
            self._s.outbox.stalled(ticket)
            return
        self._s.outbox.persisted(ticket, ACTION, seq)

    async def _remove(self, reservation_id: int) -> None:
        """The station ends a reservation (reported Removed)."""
        if reservation_id not in self._held:
            return
        self._ending[reservation_id] = "Removed"
        try:
            self._s.port.submit(ReservationCancelled(reservation_id))
        finally:
            self._ending.pop(reservation_id, None)

    # -- the CSMS's requests
    @on("ReserveNow")
    async def on_reserve_now(self, id: int, expiry_date_time: str, id_token: dict[str, Any],
                             evse_id: int | None = None,
                             group_id_token: dict[str, Any] | None = None,
                             connector_type: str | None = None,
                             **_: Any) -> call_result.ReserveNow:
        refused = self._refusal(evse_id, connector_type)
        if refused is not None:
            return call_result.ReserveNow(status="Rejected", status_info={"reasonCode": refused})
        try:
            expiry = parse_utc(expiry_date_time)
        except ValueError:
            return call_result.ReserveNow(status="Rejected",
                                          status_info={"reasonCode": "InvalidValue"})
        port = self._s.port
        wall = self._s.clock.wall_now() or datetime.now(UTC)
        expires_at = port.now() + (expiry - wall).total_seconds()
        connector = evse_id or 0
        tag = str(id_token["id_token"])
        group = str(group_id_token["id_token"]) if group_id_token else None
        status = _reply(port.submit(ReservationMade(id, connector, tag, group, expires_at)))
        if status != "Accepted":
            return call_result.ReserveNow(status=status)
        self._held[id] = connector
        try:
            await self._stored.put(ReservationRecord(id, connector, tag, group,
                                                     expiry_date_time))
        except Exception as exc:  # a promise the station cannot keep across a restart
            LOG.error("reservation %d not stored (%s): refused", id, exc)
            self._ending[id] = None
            try:
                port.submit(ReservationCancelled(id))
            finally:
                self._ending.pop(id, None)
            return call_result.ReserveNow(status="Rejected")
        return call_result.ReserveNow(status="Accepted")

    def _refusal(self, evse_id: int | None, connector_type: str | None) -> str | None:
        """Why a ReserveNow is Rejected before the core is asked (a reasonCode), or None."""
        model = self._s.model
        if not model.get_bool("ReservationCtrlr.Enabled"):
            return "NotEnabled"
        if evse_id is None and not model.get_bool("ReservationCtrlr.NonEvseSpecific"):
            return "NoEvseId"
        if evse_id is not None and not 1 <= evse_id <= self._s.port.connector_count:
            return "UnknownEvse"
        if connector_type is not None:
            return "UnknownConnectorType"
        return None

    @on("CancelReservation")
    async def on_cancel_reservation(self, reservation_id: int,
                                    **_: Any) -> call_result.CancelReservation:
        self._ending[reservation_id] = None  # the CSMS knows: no ReservationStatusUpdate
        try:
            status = _reply(self._s.port.submit(ReservationCancelled(reservation_id)))
        finally:
            self._ending.pop(reservation_id, None)
        if status == "Accepted":
            await self._stored.flushed()  # the removal is written before the answer
        return call_result.CancelReservation(
            status="Accepted" if status == "Accepted" else "Rejected")
