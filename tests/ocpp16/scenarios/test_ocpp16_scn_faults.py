"""OCTT 1.6 charge point cases: EV-side disconnect variants, timeouts, faults, offline starts,
reservation refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ocpp.v16 import call

from chargepoint.store.api import AuthEntry
from tests.fullstack import (
    CpMaker,
    registered,
    start_session,
    status_reached,
    statuses,
    until,
)
from tests.ocpp16.csms import Csms


def expiry(minutes: float = 5) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


async def test_005_2_ev_disconnect_without_stop(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp(StopTransactionOnEVSideDisconnect=False)
    await registered(cp)
    await start_session(cp, "0000A052")
    await csms.wait_for("StartTransaction")
    assert cp.bench is not None
    cp.bench.unplug(1)
    await until(lambda: not cp.controller.hardware_of(1).contactor.commanded_closed)
    await status_reached(csms, "SuspendedEV")
    assert csms.calls("StopTransaction") == []


async def test_011_2_remote_start_times_out(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp(ConnectionTimeOut=1)
    await registered(cp)
    result = await csms.send(call.RemoteStartTransaction(id_tag="REMOTE112", connector_id=1))
    assert result.status == "Accepted"
    await status_reached(csms, "Preparing")
    await csms.wait_until(lambda: statuses(csms)[-1] == "Available" and len(statuses(csms)) >= 3)
    assert csms.calls("StartTransaction") == []


async def test_041_fault_reported_and_cleared(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    await status_reached(csms, "Available")
    assert cp.bench is not None
    cp.bench.fault(1, "rcd")
    faulted = await csms.wait_until(lambda: [f.payload for f in csms.calls("StatusNotification")
                                             if f.payload["status"] == "Faulted"])
    assert faulted[0]["errorCode"] == "GroundFailure"
    cp.bench.fault(1, "none")
    await csms.wait_until(lambda: statuses(csms)[-1] == "Available")


async def test_048_1_048_3_reserve_faulted_and_unavailable(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp(connectors=2)
    await registered(cp)
    assert cp.bench is not None
    cp.bench.fault(1, "rcd")
    await status_reached(csms, "Faulted", 1)
    result = await csms.send(call.ReserveNow(connector_id=1, expiry_date=expiry(),
                                             id_tag="0000A048", reservation_id=481))
    assert result.status == "Faulted"
    await csms.send(call.ChangeAvailability(connector_id=2, type="Inoperative"))
    await status_reached(csms, "Unavailable", 2)
    result = await csms.send(call.ReserveNow(connector_id=2, expiry_date=expiry(),
                                             id_tag="0000A048", reservation_id=483))
    assert result.status == "Unavailable"


async def test_049_reserve_the_station(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    result = await csms.send(call.ReserveNow(connector_id=0, expiry_date=expiry(),
                                             id_tag="0000A049", reservation_id=49))
    assert result.status == "Accepted"
    await start_session(cp, "0000A049")
    start = (await csms.wait_for("StartTransaction"))[0].payload
    assert start["idTag"] == "0000A049"


async def test_037_1_offline_start_with_cached_id(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp(LocalAuthorizeOffline=True)
    await registered(cp)
    cp.store.cache_put(AuthEntry("0000A371", "Accepted", None, None))
    await csms.stop(abrupt=True)
    await until(lambda: not cp.adapter.link_state().connected)
    await start_session(cp, "0000A371")
    await csms.start()
    start = (await csms.wait_for("StartTransaction"))[0].payload
    assert start["idTag"] == "0000A371"


async def test_037_3_offline_unknown_id_then_invalid_stops(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp(AllowOfflineTxForUnknownId=True, StopTransactionOnInvalidId=True)
    await registered(cp)
    csms.tag_status["0000B373"] = "Invalid"
    await csms.stop(abrupt=True)
    await until(lambda: not cp.adapter.link_state().connected)
    await start_session(cp, "0000B373")
    await csms.start()
    await csms.wait_for("StartTransaction")
    stop = (await csms.wait_for("StopTransaction"))[0].payload
    assert stop["reason"] == "DeAuthorized"
    assert stop["transactionId"] == 100


async def test_030_unlock_failure(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    await start_session(cp, "0000A030")  # the cable is locked now
    assert cp.bench is not None
    cp.bench.fault(1, "lock")  # the lock feedback does not follow any more
    csms.call_timeout = 20.0  # the answer waits for the stop and the lock's time limit
    await csms.stop()
    await csms.start()
    await until(lambda: cp.adapter.link_state().connected)
    result = await csms.send(call.UnlockConnector(connector_id=1))
    assert result.status == "UnlockFailed"
    stop = (await csms.wait_for("StopTransaction"))[0].payload
    assert stop["reason"] == "UnlockCommand"


async def test_053_reserved_connector_used_with_same_parent(csms: Csms,
                                                            make_cp: CpMaker) -> None:
    csms.parent = "PARENT53"
    cp = await make_cp()
    await registered(cp)
    result = await csms.send(call.ReserveNow(connector_id=1, expiry_date=expiry(),
                                             id_tag="0000A053", reservation_id=53,
                                             parent_id_tag="PARENT53"))
    assert result.status == "Accepted"
    await status_reached(csms, "Reserved")
    await start_session(cp, "0000B053")
    start = (await csms.wait_for("StartTransaction"))[0].payload
    assert start["idTag"] == "0000B053" and start["reservationId"] == 53
