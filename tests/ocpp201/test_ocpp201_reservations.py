"""OCPP 2.0.1 reservations (block H) end to end, from the CSMS's side: ReserveNow (H01) with
and without an EVSE and each of its answers, the replacement of a reservation with the same
id (H01.FR.02), CancelReservation (H02), the use of a reservation by its idToken or its
groupIdToken (H03), ReservationStatusUpdate Expired (H04.FR.01) and Removed (H01.FR.16/17),
and reservations kept across a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ocpp.v201 import call

from chargepoint.app import RunningStation
from chargepoint.store.api import ReservationRecord
from chargepoint.store.db import Store
from tests.fullstack import charging, until
from tests.ocpp201.conftest import Cp201Maker
from tests.ocpp201.csms import Csms201

TAG = "04A1B2C3"
OTHER = "04D5E6F7"


def expiry(seconds: float = 300) -> str:
    at = datetime.now(UTC) + timedelta(seconds=seconds)
    return at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def token(tag: str = TAG) -> dict[str, str]:
    return {"idToken": tag, "type": "ISO14443"}


def evse_statuses(csms: Csms201, evse: int = 1, since: int = 0) -> list[str]:
    return [f.payload["connectorStatus"] for f in csms.frames[since:]
            if f.direction == "in" and f.kind == 2 and f.action == "StatusNotification"
            and f.payload["evseId"] == evse]


async def status_is(csms: Csms201, status: str, evse: int = 1, since: int = 0) -> None:
    """Waits until the newest StatusNotification of ``evse`` (after frame ``since``) says
    ``status``."""
    await csms.wait_until(lambda: (s := evse_statuses(csms, evse, since)) and s[-1] == status)


def updates(csms: Csms201) -> list[dict[str, Any]]:
    return [f.payload for f in csms.calls("ReservationStatusUpdate")]


async def ready(cp: RunningStation, csms: Csms201, evses: int = 1) -> None:
    await until(lambda: cp.adapter.link_state().registration == "Accepted")
    for evse in range(1, evses + 1):
        await status_is(csms, "Available", evse)


async def reserve(csms: Csms201, reservation_id: int, evse: int | None = 1, tag: str = TAG,
                  seconds: float = 300, **more: Any) -> str:
    result = await csms.send(call.ReserveNow(id=reservation_id, expiry_date_time=expiry(seconds),
                                             id_token=token(tag), evse_id=evse, **more))
    return str(result.status)


async def test_h01_reserve_evse_shows_reserved_and_is_stored(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await ready(cp, csms201)
    assert await reserve(csms201, 11) == "Accepted"
    await status_is(csms201, "Reserved")
    [record] = cp.store.reservations()  # written before the answer
    assert (record.reservation_id, record.connector, record.id_tag) == (11, 1, TAG)


async def test_h01_fr_02_same_id_replaces_the_reservation(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(connectors=2)
    await ready(cp, csms201, evses=2)
    assert await reserve(csms201, 5, evse=1) == "Accepted"
    await status_is(csms201, "Reserved", 1)
    assert await reserve(csms201, 5, evse=2) == "Accepted"
    await status_is(csms201, "Reserved", 2)
    await status_is(csms201, "Available", 1)
    assert [(r.reservation_id, r.connector) for r in cp.store.reservations()] == [(5, 2)]
    assert not updates(csms201)  # replaced, not ended


async def test_h01_rejected_when_disabled_unknown_or_not_evse_specific(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(**{"ReservationCtrlr.NonEvseSpecific": False})
    await ready(cp, csms201)
    set_off = await csms201.send(call.SetVariables(set_variable_data=[{
        "component": {"name": "ReservationCtrlr"}, "variable": {"name": "Enabled"},
        "attributeValue": "false"}]))
    assert set_off.set_variable_result[0]["attribute_status"] == "Accepted"
    assert await reserve(csms201, 1) == "Rejected"  # H01.FR.01
    await csms201.send(call.SetVariables(set_variable_data=[{
        "component": {"name": "ReservationCtrlr"}, "variable": {"name": "Enabled"},
        "attributeValue": "true"}]))
    assert await reserve(csms201, 2, evse=None) == "Rejected"  # H01.FR.19
    assert await reserve(csms201, 3, evse=9) == "Rejected"  # no such EVSE
    assert await reserve(csms201, 4, seconds=-60) == "Rejected"  # already expired
    assert await reserve(csms201, 5, connector_type="cType2") == "Rejected"
    assert cp.store.reservations() == []
    assert "Reserved" not in evse_statuses(csms201)
    assert await reserve(csms201, 6) == "Accepted"  # enabled again


async def test_h01_occupied_unavailable_and_faulted_evses(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(connectors=3)
    await ready(cp, csms201, evses=3)
    assert cp.bench is not None
    cp.bench.plug(1)
    await status_is(csms201, "Occupied", 1)
    inoperative = await csms201.send(call.ChangeAvailability(
        operational_status="Inoperative", evse={"id": 2}))
    assert inoperative.status == "Accepted"
    await status_is(csms201, "Unavailable", 2)
    cp.bench.fault(3, "rcd")
    await status_is(csms201, "Faulted", 3)
    assert await reserve(csms201, 21, evse=1) == "Occupied"
    assert await reserve(csms201, 22, evse=2) == "Unavailable"
    assert await reserve(csms201, 23, evse=3) == "Faulted"
    assert cp.store.reservations() == []


async def test_h01_without_evse_reserves_the_only_free_one(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await ready(cp, csms201)
    assert await reserve(csms201, 31, evse=None) == "Accepted"  # H01.FR.18
    await status_is(csms201, "Reserved")
    assert [(r.reservation_id, r.connector) for r in cp.store.reservations()] == [(31, 0)]
    assert await reserve(csms201, 32, evse=None, tag=OTHER) == "Occupied"  # no EVSE left


async def test_h03_wrong_token_refused_right_token_starts(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await ready(cp, csms201)
    assert await reserve(csms201, 41) == "Accepted"
    await status_is(csms201, "Reserved")
    remote = await csms201.send(call.RequestStartTransaction(
        id_token=token(OTHER), remote_start_id=1, evse_id=1))
    assert remote.status == "Rejected"
    assert cp.bench is not None
    cp.bench.tap(OTHER)  # the reserved EVSE is not for this card: no Authorize
    cp.bench.tap(TAG)
    cp.bench.plug(1)
    await charging(cp)
    await csms201.wait_until(lambda: csms201.events())
    started = csms201.events()[0]
    assert started["idToken"] == token(TAG)
    assert started["reservationId"] == 41  # H01.FR.15
    assert [f.payload["idToken"]["idToken"] for f in csms201.calls("Authorize")] == [TAG]
    await until(lambda: cp.store.reservations() == [] and cp.store.queue_length() == 0)
    assert not updates(csms201)  # used (H03.FR.09): no ReservationStatusUpdate


async def test_h03_group_id_token_uses_the_reservation(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    csms201.token_groups[OTHER] = "GROUP-H03"
    cp = await make_cp201()
    await ready(cp, csms201)
    assert await reserve(csms201, 51, group_id_token={"idToken": "GROUP-H03",
                                                       "type": "Central"}) == "Accepted"
    await status_is(csms201, "Reserved")
    assert cp.bench is not None
    cp.bench.tap(OTHER)  # Authorize names the reservation's group
    await csms201.wait_for("Authorize")
    cp.bench.plug(1)
    await charging(cp)
    await csms201.wait_until(lambda: csms201.events())
    started = csms201.events()[0]
    assert started["idToken"] == token(OTHER)
    assert started["reservationId"] == 51
    await until(lambda: cp.store.reservations() == [])


async def test_h02_cancel_reservation(csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await ready(cp, csms201)
    assert await reserve(csms201, 61) == "Accepted"
    await status_is(csms201, "Reserved")
    unknown = await csms201.send(call.CancelReservation(reservation_id=99))
    assert unknown.status == "Rejected"  # H02.FR.01
    assert [r.reservation_id for r in cp.store.reservations()] == [61]
    cancelled = await csms201.send(call.CancelReservation(reservation_id=61))
    assert cancelled.status == "Accepted"  # H02.FR.02
    assert cp.store.reservations() == []  # written before the answer
    await status_is(csms201, "Available")
    again = await csms201.send(call.CancelReservation(reservation_id=61))
    assert again.status == "Rejected"
    assert not updates(csms201)  # the CSMS cancelled it: nothing to tell


async def test_h04_expiry_sends_reservation_status_update_expired(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await ready(cp, csms201)
    assert await reserve(csms201, 71, seconds=1) == "Accepted"
    await status_is(csms201, "Reserved")
    [update] = [f.payload for f in await csms201.wait_for("ReservationStatusUpdate")]
    assert update == {"reservationId": 71, "reservationUpdateStatus": "Expired"}
    await status_is(csms201, "Available")
    await until(lambda: cp.store.reservations() == [] and cp.store.queue_length() == 0)
    assert cp.bench is not None
    cp.bench.tap(OTHER)  # free for anyone again
    cp.bench.plug(1)
    await csms201.wait_until(lambda: csms201.events())
    assert "reservationId" not in csms201.events()[0]


async def test_h01_fr_16_17_faulted_or_unavailable_evse_removes_the_reservation(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201(connectors=2)
    await ready(cp, csms201, evses=2)
    assert await reserve(csms201, 81, evse=1) == "Accepted"
    assert await reserve(csms201, 82, evse=2) == "Accepted"
    await status_is(csms201, "Reserved", 1)
    await status_is(csms201, "Reserved", 2)
    assert cp.bench is not None
    cp.bench.fault(1, "rcd")
    await status_is(csms201, "Faulted", 1)
    await csms201.wait_for("ReservationStatusUpdate")
    assert updates(csms201) == [{"reservationId": 81, "reservationUpdateStatus": "Removed"}]
    inoperative = await csms201.send(call.ChangeAvailability(
        operational_status="Inoperative", evse={"id": 2}))
    assert inoperative.status == "Accepted"
    await status_is(csms201, "Unavailable", 2)
    await csms201.wait_for("ReservationStatusUpdate", 2)
    assert updates(csms201)[1] == {"reservationId": 82, "reservationUpdateStatus": "Removed"}
    await until(lambda: cp.store.reservations() == [] and cp.store.queue_length() == 0)


async def test_h01_restart_keeps_the_reservation(csms201: Csms201,
                                                 make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await ready(cp, csms201)
    assert await reserve(csms201, 91) == "Accepted"
    await status_is(csms201, "Reserved")
    await cp.stop()
    mark = len(csms201.frames)
    again = await make_cp201()
    await csms201.wait_for("BootNotification", 2)
    await status_is(csms201, "Reserved", since=mark)  # held from the first status on
    assert "Available" not in evse_statuses(csms201, since=mark)
    assert again.bench is not None
    again.bench.tap(OTHER)
    again.bench.tap(TAG)
    again.bench.plug(1)
    await csms201.wait_until(lambda: csms201.events())
    assert csms201.events()[0]["reservationId"] == 91
    assert [f.payload["idToken"]["idToken"] for f in csms201.calls("Authorize")] == [TAG]
    assert not updates(csms201)


async def test_h04_reservation_expired_while_off_is_reported_after_the_restart(
        csms201: Csms201, make_cp201: Cp201Maker, tmp_path: Path) -> None:
    store = Store.open(tmp_path / "state.db")
    store.reservation_put(ReservationRecord(101, 1, TAG, None, expiry(-60)))
    store.reservation_put(ReservationRecord(102, 1, OTHER, None, expiry(300)))
    store.close()
    cp = await make_cp201()
    [update] = [f.payload for f in await csms201.wait_for("ReservationStatusUpdate")]
    assert update == {"reservationId": 101, "reservationUpdateStatus": "Expired"}
    await status_is(csms201, "Reserved")  # the other one is still held
    assert [r.reservation_id for r in cp.store.reservations()] == [102]
    await until(lambda: cp.store.queue_length() == 0)
