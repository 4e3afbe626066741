"""Reservations across a restart, for every OCPP version (1.6 sections 5.13 and 6.39
ReserveNow; 2.0.1 block H).

An accepted ReserveNow is a promise to the CSMS: the connector (EVSE) is held for that id tag
until the expiry date, a cancellation or its use. ``StoredReservations`` is the one writer of
the store's reservations, on one thread in order: the protocol's handler puts every accepted
reservation (before answering), the adapter removes it on the core's ``ClearReservation``
(used, cancelled or expired), and ``restore()`` runs once at start, before the connection: it
hands the core back every stored reservation that has not expired yet, so a reboot does not
silently free a reserved connector. A reservation the core no longer accepts (expired,
connector faulted, unavailable or occupied) is removed from the store and logged; the caller
may tell the CSMS (``on_drop``: 2.0.1 ReservationStatusUpdate; 1.6 has no message for it).

``run(job)`` runs any blocking store job on the same thread, in order with the puts and
removals (e.g. queueing a message together with a removal); ``flushed()`` returns once every
job handed over so far is done.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import TypeVar

from chargepoint.core.actions import Reply
from chargepoint.core.events import ReservationMade
from chargepoint.ocppj.timestamps import Clock, parse_utc
from chargepoint.ports import StationPort
from chargepoint.store.api import ReservationRecord, StoreAPI
from chargepoint.store.writebehind import WriteBehind

LOG = logging.getLogger(__name__)

T = TypeVar("T")

EXPIRED = "Expired"  # the status ``on_drop`` sees for a reservation that ran out


class StoredReservations:
    def __init__(self, store: StoreAPI) -> None:
        self._store = store
        self._writer = WriteBehind("reservations")

    async def put(self, record: ReservationRecord) -> None:
        """Persist an accepted reservation; returns once written (raises what the store
        raised)."""
        await self.run(partial(self._store.reservation_put, record))

    def remove(self, reservation_id: int) -> None:
        """Forget a reservation (after the writes handed over before; returns at once)."""
        self._writer.submit(partial(self._store.reservation_remove, reservation_id))

    async def run(self, job: Callable[[], T]) -> T:
        """Run a blocking store job after every job handed over before it; returns its result
        (raises what it raised). The job is handed over before the first ``await``."""
        result: list[T] = []
        failed: list[BaseException] = []

        def run() -> None:
            try:
                result.append(job())
            except BaseException as exc:
                failed.append(exc)
        await asyncio.wrap_future(self._writer.submit(run))
        if failed:
            raise failed[0]
        return result[0]

    async def flushed(self) -> None:
        """Returns once every job handed over so far is written (or failed, logged)."""
        await self.run(lambda: None)

    async def restore(self, port: StationPort, clock: Clock,
                      on_drop: Callable[[ReservationRecord, str], object] | None = None,
                      ) -> list[ReservationRecord]:
        """Give the core the stored reservations again (see the module docstring); returns
        the ones it holds now. ``on_drop(record, status)`` runs on the store's thread before
        a record the core no longer takes is removed: ``status`` is ``EXPIRED`` or the core's
        answer (Faulted, Occupied, Unavailable, Rejected)."""
        return await restore(port, clock, self, on_drop)


async def restore(port: StationPort, clock: Clock, owner: StoredReservations,
                  on_drop: Callable[[ReservationRecord, str], object] | None = None,
                  ) -> list[ReservationRecord]:
    """Give the core the stored reservations again; returns those it holds now. Call once
    at start, after the core exists and before the CSMS connection (its ReportStatus then
    shows Reserved from the first StatusNotification on)."""
    store = port.store
    records = await asyncio.to_thread(store.reservations)
    wall = clock.wall_now() or datetime.now(UTC)
    held: list[ReservationRecord] = []
    for record in records:
        try:
            expiry = parse_utc(record.expiry)
        except ValueError:
            expiry = None
        status = EXPIRED
        if expiry is not None and expiry > wall:
            expires_at = port.now() + (expiry - wall).total_seconds()
            actions = port.submit(ReservationMade(
                record.reservation_id, record.connector, record.id_tag, record.parent_id_tag,
                expires_at))
            status = next((a.status for a in actions if isinstance(a, Reply)), "Rejected")
        if status == "Accepted":
            held.append(record)
            continue
        LOG.warning("reservation %d (connector %d) not restored after the restart: %s",
                    record.reservation_id, record.connector, status)
        await owner.run(partial(_drop, store, record, status, on_drop))
    return held


def _drop(store: StoreAPI, record: ReservationRecord, status: str,
          on_drop: Callable[[ReservationRecord, str], object] | None) -> None:
    if on_drop is not None:
        on_drop(record, status)
    store.reservation_remove(record.reservation_id)
