"""OCTT 1.6 charge point reservation, trigger and unlock cases that had no full-stack scenario
(or only part of one): a connector refused (048_2 plugged, 048_4 Rejected), the charge point
reserved (049) or refused (050_1..4), reserved connectors used locally, remotely and by parent
(046_1, 046_2, 053_2), TriggerMessage without a connector (054), UnlockConnector with a socket
and with a fixed cable (017_1/017_2, 018_1/018_2). Each test follows the OCTT steps and checks
what the tool validates."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from ocpp.v16 import call  # type: ignore[import-untyped]

from chargepoint.app import RunningStation, start_station
from chargepoint.config import config_from_toml
from chargepoint.store.api import ReservationRecord
from chargepoint.store.db import Store
from tests.fullstack import (
    CpMaker,
    charging,
    registered,
    start_session,
    status_reached,
    statuses,
    toml,
    until,
)
from tests.ocpp16.csms import Csms


def expiry(minutes: float = 5) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


async def test_octt_048_4_reserve_connector_rejected(csms: Csms, make_cp: CpMaker) -> None:
    # ReserveNow.conf Rejected (OCPP 1.6 7.39 ReservationStatus): this station accepts
    # reservations, so it refuses only a reservation it cannot hold: an unknown connector or
    # an expiry date already past.
    cp = await make_cp()
    await registered(cp)
    result = await csms.send(call.ReserveNow(connector_id=2, expiry_date=expiry(),
                                             id_tag="0000A484", reservation_id=484))
    assert result.status == "Rejected"
    result = await csms.send(call.ReserveNow(connector_id=1, expiry_date=expiry(-1),
                                             id_tag="0000A484", reservation_id=485))
    assert result.status == "Rejected"
    assert "Reserved" not in statuses(csms)
    await start_session(cp, "0000B484")  # the connector stays free for anyone
    await csms.wait_for("StartTransaction")


async def test_octt_050_1_reserve_charge_point_faulted(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp(connectors=2)
    await registered(cp)
    assert cp.bench is not None
    cp.bench.fault(1, "rcd")
    cp.bench.fault(2, "rcd")
    await status_reached(csms, "Faulted", 1)
    await status_reached(csms, "Faulted", 2)
    result = await csms.send(call.ReserveNow(connector_id=0, expiry_date=expiry(),
                                             id_tag="0000A501", reservation_id=501))
    assert result.status == "Faulted"


async def test_octt_050_2_reserve_charge_point_occupied(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    await start_session(cp, "0000A502")
    await csms.wait_for("StartTransaction")
    result = await csms.send(call.ReserveNow(connector_id=0, expiry_date=expiry(),
                                             id_tag="0000B502", reservation_id=502))
    assert result.status == "Occupied"


async def test_octt_050_3_reserve_charge_point_unavailable(csms: Csms,
                                                          make_cp: CpMaker) -> None:
    cp = await make_cp(connectors=2)
    await registered(cp)
    result = await csms.send(call.ChangeAvailability(connector_id=0, type="Inoperative"))
    assert result.status == "Accepted"
    await status_reached(csms, "Unavailable", 0)
    await status_reached(csms, "Unavailable", 1)
    await status_reached(csms, "Unavailable", 2)
    result = await csms.send(call.ReserveNow(connector_id=0, expiry_date=expiry(),
                                             id_tag="0000A503", reservation_id=503))
    assert result.status == "Unavailable"


async def test_octt_050_4_reserve_charge_point_rejected(csms: Csms, make_cp: CpMaker) -> None:
    # ReserveConnectorZeroSupported is true and read-only here, so the only Rejected for
    # connector 0 is a reservation that cannot be held: its expiry date is already past.
    cp = await make_cp()
    await registered(cp)
    zero = await csms.send(call.GetConfiguration(key=["ReserveConnectorZeroSupported"]))
    assert zero.configuration_key[0]["value"] == "true"
    result = await csms.send(call.ReserveNow(connector_id=0, expiry_date=expiry(-1),
                                             id_tag="0000A504", reservation_id=504))
    assert result.status == "Rejected"
    assert "Reserved" not in statuses(csms)


async def test_octt_046_1_reserved_connector_ignores_other_card(csms: Csms,
                                                               make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    result = await csms.send(call.ReserveNow(connector_id=1, expiry_date=expiry(),
                                             id_tag="0000A461", reservation_id=461))
    assert result.status == "Accepted"
    await status_reached(csms, "Reserved")
    assert cp.bench is not None
    cp.bench.tap("0000B461")  # step 5: another card: no Authorize.req
    cp.bench.tap("0000A461")  # step 6: the reserved card
    await status_reached(csms, "Preparing")
    assert [f.payload["idTag"] for f in csms.calls("Authorize")] == ["0000A461"]
    cp.bench.plug(1)
    start = (await csms.wait_for("StartTransaction"))[0].payload
    assert start["idTag"] == "0000A461" and start["reservationId"] == 461
    await status_reached(csms, "Charging")


async def test_octt_046_2_reserved_connector_remote_start(csms: Csms,
                                                         make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    await csms.send(call.ReserveNow(connector_id=1, expiry_date=expiry(), id_tag="0000A462",
                                    reservation_id=462))
    await status_reached(csms, "Reserved")
    other = await csms.send(call.RemoteStartTransaction(id_tag="0000B462", connector_id=1))
    assert other.status == "Rejected"
    result = await csms.send(call.RemoteStartTransaction(id_tag="0000A462", connector_id=1))
    assert result.status == "Accepted"
    assert cp.bench is not None
    cp.bench.plug(1)
    start = (await csms.wait_for("StartTransaction"))[0].payload
    assert start["idTag"] == "0000A462" and start["reservationId"] == 462
    await charging(cp)


async def test_octt_053_2_reserved_connector_remote_start_with_parent(
        csms: Csms, make_cp: CpMaker) -> None:
    # With AuthorizeRemoteTxRequests the station learns the parent from Authorize.conf; without
    # it a remote start of another idTag cannot be matched to the reservation's parent.
    csms.parent = "PARENT53"
    cp = await make_cp(AuthorizeRemoteTxRequests=True)
    await registered(cp)
    result = await csms.send(call.ReserveNow(connector_id=1, expiry_date=expiry(),
                                             id_tag="0000A532", reservation_id=532,
                                             parent_id_tag="PARENT53"))
    assert result.status == "Accepted"
    await status_reached(csms, "Reserved")
    result = await csms.send(call.RemoteStartTransaction(id_tag="0000B532", connector_id=1))
    assert result.status == "Accepted"
    assert cp.bench is not None
    cp.bench.plug(1)
    start = (await csms.wait_for("StartTransaction"))[0].payload
    assert start["idTag"] == "0000B532" and start["reservationId"] == 532
    assert [f.payload["idTag"] for f in csms.calls("Authorize")] == ["0000B532"]


async def test_octt_049_reserve_charge_point_shows_reserved(csms: Csms,
                                                             make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    await status_reached(csms, "Available")
    result = await csms.send(call.ReserveNow(connector_id=0, expiry_date=expiry(),
                                             id_tag="0000A049", reservation_id=49))
    assert result.status == "Accepted"
    await status_reached(csms, "Reserved", 1)  # step 3
    assert cp.bench is not None
    cp.bench.tap("0000B049")  # another card may not use the one connector
    cp.bench.tap("0000A049")
    cp.bench.plug(1)
    start = (await csms.wait_for("StartTransaction"))[0].payload
    assert start["idTag"] == "0000A049" and start["reservationId"] == 49
    assert [f.payload["idTag"] for f in csms.calls("Authorize")] == ["0000A049"]


async def test_octt_054_trigger_status_and_meter_values_without_connector(
        csms: Csms, make_cp: CpMaker) -> None:
    # TriggerMessage without connectorId: "for all connectors" (OCPP 1.6 5.17); a
    # StatusNotification for connector 0 and for each connector.
    cp = await make_cp(connectors=2)
    await registered(cp)
    await status_reached(csms, "Available", 2)
    mark = len(csms.frames)
    result = await csms.send(call.TriggerMessage(requested_message="StatusNotification"))
    assert result.status == "Accepted"

    def triggered() -> set[int]:
        return {f.payload["connectorId"] for f in csms.frames[mark:]
                if f.direction == "in" and f.action == "StatusNotification"}

    await csms.wait_until(lambda: triggered() == {0, 1, 2})
    await until(lambda: cp.controller.meter_reading(1) is not None
                and cp.controller.meter_reading(2) is not None)
    before = len(csms.calls("MeterValues"))
    result = await csms.send(call.TriggerMessage(requested_message="MeterValues"))
    assert result.status == "Accepted"
    values = (await csms.wait_for("MeterValues", before + 2))[before:]
    assert {mv.payload["connectorId"] for mv in values} >= {1, 2}
    for mv in values:
        sampled = mv.payload["meterValue"][0]["sampledValue"]
        assert {s.get("context") for s in sampled} == {"Trigger"}


async def test_octt_048_2_reserve_connector_with_cable_plugged(csms: Csms,
                                                               make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    assert cp.bench is not None
    cp.bench.plug(1)
    await status_reached(csms, "Preparing")  # SetConnectorOccupied
    result = await csms.send(call.ReserveNow(connector_id=1, expiry_date=expiry(),
                                             id_tag="0000A482", reservation_id=482))
    assert result.status == "Occupied"
    assert "Reserved" not in statuses(csms)


async def test_octt_047_expired_reservation_frees_the_connector(csms: Csms,
                                                               make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    result = await csms.send(call.ReserveNow(connector_id=1, expiry_date=expiry(1 / 60),
                                             id_tag="0000A047", reservation_id=47))
    assert result.status == "Accepted"
    await status_reached(csms, "Reserved")  # step 3
    await csms.wait_until(lambda: statuses(csms)[-1] == "Available"
                          and "Reserved" in statuses(csms))  # step 5
    await start_session(cp, "0000B047")  # step 7: another idTag may charge now
    start = (await csms.wait_for("StartTransaction"))[0].payload
    assert start["idTag"] == "0000B047" and "reservationId" not in start
    await until(lambda: cp.store.reservations() == [])


async def test_octt_052_cancel_unknown_reservation_keeps_the_real_one(
        csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    await csms.send(call.ReserveNow(connector_id=1, expiry_date=expiry(), id_tag="0000A052",
                                    reservation_id=52))
    await status_reached(csms, "Reserved")
    result = await csms.send(call.CancelReservation(reservation_id=99))
    assert result.status == "Rejected"
    assert cp.bench is not None
    cp.bench.tap("0000B052")  # still reserved: another card is not used
    cp.bench.tap("0000A052")
    cp.bench.plug(1)
    start = (await csms.wait_for("StartTransaction"))[0].payload
    assert start["idTag"] == "0000A052" and start["reservationId"] == 52
    assert [f.payload["idTag"] for f in csms.calls("Authorize")] == ["0000A052"]


# -- unlock ----------------------------------------------------------------------------------


async def test_octt_017_1_unlock_without_session_socket(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    result = await csms.send(call.UnlockConnector(connector_id=1))
    assert result.status == "Unlocked"


async def test_octt_018_1_unlock_with_session_socket(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    await start_session(cp, "0000A181")
    await status_reached(csms, "Charging")
    result = await csms.send(call.UnlockConnector(connector_id=1))
    assert result.status == "Unlocked"
    stop = (await csms.wait_for("StopTransaction"))[0].payload
    assert stop["reason"] == "UnlockCommand" and stop["transactionId"] == 100
    await status_reached(csms, "Finishing")
    assert not cp.controller.hardware_of(1).contactor.commanded_closed


@pytest.fixture
async def fixed_cable_cp(csms: Csms, tmp_path: Path) -> AsyncIterator[RunningStation]:
    """A station with a fixed cable (``[hardware] has_lock = false``): nothing to unlock."""
    text = toml(csms.url, tmp_path, 1, {}).replace("simulate = true",
                                                    "simulate = true\nhas_lock = false")
    running = await start_station(config_from_toml(text))
    yield running
    await running.stop()


async def test_octt_017_2_unlock_without_session_fixed_cable(
        csms: Csms, fixed_cable_cp: RunningStation) -> None:
    await registered(fixed_cable_cp)
    result = await csms.send(call.UnlockConnector(connector_id=1))
    assert result.status == "NotSupported"


async def test_octt_018_2_unlock_with_session_fixed_cable(
        csms: Csms, fixed_cable_cp: RunningStation) -> None:
    cp = fixed_cable_cp
    await registered(cp)
    await start_session(cp, "0000A182")
    await status_reached(csms, "Charging")
    result = await csms.send(call.UnlockConnector(connector_id=1))
    assert result.status == "NotSupported"
    assert cp.controller.hardware_of(1).contactor.commanded_closed  # the session goes on
    assert csms.calls("StopTransaction") == []


# -- reservations across a restart (OCPP 1.6 5.13: Accepted is a promise until expiry) ---------


async def test_reservation_survives_reboot_and_is_used(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    result = await csms.send(call.ReserveNow(connector_id=1, expiry_date=expiry(),
                                             id_tag="0000A0B1", reservation_id=11))
    assert result.status == "Accepted"
    await status_reached(csms, "Reserved")
    await cp.stop()
    mark = len(csms.frames)
    cp = await make_cp()
    await registered(cp)

    def after_boot() -> list[str]:
        return [f.payload["status"] for f in csms.frames[mark:]
                if f.direction == "in" and f.action == "StatusNotification"
                and f.payload["connectorId"] == 1]

    await csms.wait_until(after_boot)
    assert after_boot()[0] == "Reserved"
    assert cp.bench is not None
    cp.bench.tap("0000B0B1")  # another card may not use it
    cp.bench.tap("0000A0B1")
    cp.bench.plug(1)
    start = (await csms.wait_for("StartTransaction"))[0].payload
    assert start["idTag"] == "0000A0B1" and start["reservationId"] == 11
    await until(lambda: cp.store.reservations() == [])  # used: gone from the store


async def test_reservation_expired_while_down_is_dropped(csms: Csms,
                                                        make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    await cp.stop()
    store = Store.open(cp.config.storage.path)  # accepted before a long power cut
    store.reservation_put(ReservationRecord(12, 1, "0000A0B2", None, expiry(-1)))
    store.close()
    cp = await make_cp()
    await registered(cp)
    await until(lambda: cp.store.reservations() == [])
    await start_session(cp, "0000B0B2")
    start = (await csms.wait_for("StartTransaction"))[0].payload
    assert start["idTag"] == "0000B0B2" and "reservationId" not in start
    assert "Reserved" not in statuses(csms)
