"""Reservations across a restart (OCPP 1.6 sections 5.13, 6.39 ReserveNow).

A ReserveNow.conf Accepted is a promise to the CSMS: the connector is held for that idTag until
the expiry date, a cancellation or its use. ``StoredReservations`` is the one writer of the
store's reservations, on one thread in order: the handler puts every accepted reservation
(before answering), the adapter removes it on the core's ``ClearReservation`` (used, cancelled
or expired), and ``restore()`` runs once at start, before the connection: it hands the core back
every stored reservation that has not expired yet, so a reboot does not silently free a reserved
connector. A reservation the core no longer accepts (expired, connector faulted or occupied) is
removed from the store and logged; OCPP 1.6 has no message to tell the CSMS.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial

from chargepoint.core.actions import Reply
from chargepoint.core.events import ReservationMade
from chargepoint.ocppj.timestamps import Clock, parse_utc
from chargepoint.ports import StationPort
from chargepoint.store.api import ReservationRecord, StoreAPI
from chargepoint.store.writebehind import WriteBehind

LOG = logging.getLogger(__name__)


class StoredReservations:
    def __init__(self, store: StoreAPI) -> None:
        self._store = store
        self._writer = WriteBehind("reservations")

    async def put(self, record: ReservationRecord) -> None:
        """Persist an accepted reservation; returns once written (raises what the store
        raised)."""
        await self._written(partial(self._store.reservation_put, record))

    def remove(self, reservation_id: int) -> None:
        """Forget a reservation (after the writes handed over before; returns at once)."""
        self._writer.submit(partial(self._store.reservation_remove, reservation_id))

    async def _written(self, job: Callable[[], None]) -> None:
        failed: list[BaseException] = []

        def run() -> None:
            try:
                job()
            except BaseException as exc:
                failed.append(exc)
        await asyncio.wrap_future(self._writer.submit(run))
        if failed:
            raise failed[0]

    async def restore(self, port: StationPort, clock: Clock) -> int:
        """Give the core the stored reservations again (see the module docstring)."""
        return await restore(port, clock, self)


async def restore(port: StationPort, clock: Clock, owner: StoredReservations) -> int:
    """Give the core the stored reservations again; returns how many it holds now. Call once
    at start, after the core exists and before the CSMS connection (its ReportStatus then
    shows Reserved from the first StatusNotification on)."""
    store = port.store
    records = await asyncio.to_thread(store.reservations)
    wall = clock.wall_now() or datetime.now(UTC)
    held = 0
    for record in records:
        try:
            expiry = parse_utc(record.expiry)
        except ValueError:
            expiry = None
        status = "Expired"
        if expiry is not None and expiry > wall:
            expires_at = port.now() + (expiry - wall).total_seconds()
            actions = port.submit(ReservationMade(
                record.reservation_id, record.connector, record.id_tag, record.parent_id_tag,
                expires_at))
            status = next((a.status for a in actions if isinstance(a, Reply)), "Rejected")
        if status == "Accepted":
            held += 1
            continue
        LOG.warning("reservation %d (connector %d) not restored after the restart: %s",
                    record.reservation_id, record.connector, status)
        await owner._written(partial(store.reservation_remove, record.reservation_id))
    return held
