"""Reservations across a restart (OCPP 1.6 sections 5.13, 6.39 ReserveNow).

A ReserveNow.conf Accepted is a promise to the CSMS: the connector is held for that idTag until
the expiry date, a cancellation or its use. The handler persists every accepted reservation
(``store.reservation_put``) and the runtime removes it on ``ClearReservation`` (used, cancelled
or expired). ``restore(...)`` runs once at start, before the connection: it hands the core back
every stored reservation that has not expired yet, so a reboot does not silently free a reserved
connector. A reservation the core no longer accepts (expired, connector faulted or occupied) is
removed from the store and logged; OCPP 1.6 has no message to tell the CSMS.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from chargepoint.core.actions import Reply
from chargepoint.core.events import ReservationMade
from chargepoint.ocpp16.timestamps import Clock, parse_utc
from chargepoint.ports import StationPort

LOG = logging.getLogger(__name__)


async def restore(port: StationPort, clock: Clock) -> int:
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
        await asyncio.to_thread(store.reservation_remove, record.reservation_id)
    return held
