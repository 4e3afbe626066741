"""A station that cannot write its store says so and stops charging (full stack, in process).

Disk full is simulated on the real sqlite file (``tests.store.diskfull``): the CSMS sees the
station go Faulted with InternalError, the session stops, ``status`` shows the fault; when the
disk has room again the fault clears and the StopTransaction that was held back arrives."""

from __future__ import annotations

from chargepoint.control.client import request
from tests.fullstack import CpMaker, registered, start_session, until
from tests.ocpp16.csms import Csms
from tests.store import diskfull


async def test_disk_full_while_charging_faults_the_station_until_writes_succeed(
    csms: Csms, make_cp: CpMaker
) -> None:
    station = await make_cp(MeterValueSampleInterval=1)
    assert station.storage_fault is not None and station.bench is not None
    station.storage_fault.probe_interval_s = 0.1
    station.adapter.transactions.persist_retry_s = 0.1
    await registered(station)
    await start_session(station, "04A1B2C3")
    await csms.wait_for("StartTransaction")
    hw = station.controller.hardware_of(1)

    diskfull.fill(station.store)  # the next MeterValues cannot be recorded
    await until(lambda: not hw.contactor.commanded_closed)
    await csms.wait_until(lambda: any(
        f.payload["status"] == "Faulted" and f.payload["errorCode"] == "InternalError"
        for f in csms.calls("StatusNotification") if f.payload["connectorId"] == 1))
    doc = await request(station.config.control.socket, "status")
    assert doc["connectors"][0]["status"] == "Faulted"
    assert "InternalError" in doc["connectors"][0]["faults"]
    station.bench.unplug(1)
    station.bench.plug(1)
    station.bench.tap("04A1B2C3")  # no new session while the store cannot record it
    assert csms.calls("StopTransaction") == []
    assert not hw.contactor.commanded_closed

    diskfull.free(station.store)
    stop = (await csms.wait_for("StopTransaction"))[0]
    assert stop.payload["reason"] == "Other"
    await csms.wait_until(lambda: [
        f.payload["status"] for f in csms.calls("StatusNotification")
        if f.payload["connectorId"] == 1][-1] != "Faulted")
    doc = await request(station.config.control.socket, "status")
    assert doc["connectors"][0]["faults"] == []
    station.bench.unplug(1)
    await start_session(station, "04A1B2C3")  # charging works again
    await csms.wait_for("StartTransaction", count=2)
