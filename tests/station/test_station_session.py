"""Full stack, in process: the app wires the simulated bench, the core, the store and OCPP."""

from __future__ import annotations

import asyncio

from chargepoint.control.client import request
from tests.fullstack import CpMaker, registered, start_session, until
from tests.ocpp16.csms import Csms


async def test_tap_plug_charge_stop_unplug(csms: Csms, make_cp: CpMaker) -> None:
    station = await make_cp(MeterValueSampleInterval=1)
    await registered(station)
    assert station.bench is not None
    station.bench.tap("04A1B2C3")
    station.bench.plug(1)
    start = (await csms.wait_for("StartTransaction"))[0]
    assert start.payload["idTag"] == "04A1B2C3"
    assert start.payload["connectorId"] == 1
    await csms.wait_for("MeterValues", count=2)
    hw = station.controller.hardware_of(1)
    assert hw.contactor.commanded_closed
    station.bench.tap("04A1B2C3")
    stop = (await csms.wait_for("StopTransaction"))[0]
    assert stop.payload["reason"] == "Local"
    assert stop.payload["transactionId"] == 100
    assert stop.payload["meterStop"] >= start.payload["meterStart"]
    await until(lambda: not hw.contactor.commanded_closed)
    station.bench.unplug(1)
    await csms.wait_until(lambda: any(
        f.payload.get("status") == "Available" and f.payload.get("connectorId") == 1
        for f in csms.calls("StatusNotification")[3:]))
    statuses = [f.payload["status"] for f in csms.calls("StatusNotification")
                if f.payload["connectorId"] == 1]
    assert statuses == ["Available", "Preparing", "Charging", "Finishing", "Available"]


async def test_ev_leaving_c_opens_the_contactor_and_stops(
    csms: Csms, make_cp: CpMaker
) -> None:
    station = await make_cp(MeterValueSampleInterval=1)
    await registered(station)
    assert station.bench is not None
    await start_session(station, "CAFE01")
    hw = station.controller.hardware_of(1)
    station.bench.unplug(1)  # pilot goes to A under load
    await until(lambda: not hw.contactor.commanded_closed, timeout=1.0)
    stop = (await csms.wait_for("StopTransaction"))[0]
    assert stop.payload["reason"] == "EVDisconnected"


async def test_status_over_the_control_socket_has_the_interface_shape(
    csms: Csms, make_cp: CpMaker
) -> None:
    station = await make_cp(MeterValueSampleInterval=1)
    await registered(station)
    assert station.bench is not None
    await start_session(station, "04A1B2C3")
    doc = await request(station.config.control.socket, "status")
    assert set(doc) >= {"station", "ocpp", "connectors"}
    assert doc["station"]["mains"] == "ok"  # the bench simulates a mains-sense input
    assert doc["station"]["id"] == "CP-OCTT"
    assert set(doc["ocpp"]) >= {"version", "connected", "registration", "queued"}
    conn = doc["connectors"][0]
    assert set(conn) >= {"id", "status", "pilot", "contactor", "lock", "limit_a", "energy_wh",
                         "power_w", "faults", "transaction"}
    assert conn["status"] == "Charging"
    assert conn["pilot"] == "C"
    assert conn["contactor"] == "closed"
    assert conn["lock"] == "locked"
    assert conn["limit_a"] == 32.0
    await csms.wait_until(lambda: station.store.open_transaction_on(1) is not None
                          and station.store.open_transaction_on(1).csms_id is not None)
    doc = await request(station.config.control.socket, "status")
    assert doc["connectors"][0]["transaction"] == {
        "id": 100, "id_tag": "04A1B2C3", "meter_start_wh": 0.0}


async def test_welded_contactor_is_latched_until_a_technician_clears_it(
    csms: Csms, make_cp: CpMaker
) -> None:
    station = await make_cp(MeterValueSampleInterval=1)
    await registered(station)
    assert station.bench is not None
    await start_session(station, "04A1B2C3")
    station.bench.fault(1, "welded")
    station.bench.tap("04A1B2C3")  # stop: the contactor opens, its mirror stays closed
    faulted = await csms.wait_until(lambda: [
        f for f in csms.calls("StatusNotification")
        if f.payload["status"] == "Faulted" and f.payload["errorCode"] == "PowerSwitchFailure"])
    assert faulted
    lock = station.controller.hardware_of(1).lock
    assert lock is not None
    await asyncio.sleep(0.2)
    assert lock.commanded_locked, "a plug must stay locked while the contacts may be live"
    station.bench.fault(1, "none")  # repaired, but the latch holds until cleared
    await asyncio.sleep(0.2)
    assert station.controller.station.snapshot().connectors[0].status.value == "Faulted"
    assert (1, "welded") in station.store.latched_faults()
    message = await request(station.config.control.socket, "fault_clear", {"connector": 1})
    assert "cleared" in message
    await until(lambda: station.controller.station.snapshot().connectors[0].status.value
                != "Faulted")


async def test_firmware_management_is_announced_and_idle(
    csms: Csms, make_cp: CpMaker
) -> None:
    from ocpp.v16 import call

    station = await make_cp(MeterValueSampleInterval=1)
    await registered(station)
    conf = await csms.send(call.GetConfiguration(key=["SupportedFeatureProfiles",
                                                      "SupportedFileTransferProtocols"]))
    values = {k["key"]: k["value"] for k in conf.configuration_key}
    assert "FirmwareManagement" in values["SupportedFeatureProfiles"].split(",")
    assert set(values["SupportedFileTransferProtocols"].split(",")) >= {"FTP", "HTTP", "HTTPS"}
    await csms.send(call.TriggerMessage(requested_message="FirmwareStatusNotification"))
    note = (await csms.wait_for("FirmwareStatusNotification"))[0]
    assert note.payload["status"] == "Idle"


async def test_rfid_read_through_the_daemon_takes_the_card_away_from_the_core(
    csms: Csms, make_cp: CpMaker
) -> None:
    station = await make_cp(MeterValueSampleInterval=1)
    await registered(station)
    assert station.bench is not None
    station.bench.plug(1)
    reading = asyncio.create_task(request(station.config.control.socket, "rfid_read",
                                          {"timeout_s": 5}, timeout_s=10))
    await until(lambda: station.controller.card_awaited)
    station.bench.tap("04a1b2c3d4e5f6")
    assert await reading == {"uid": "04A1B2C3D4E5F6", "type": "ISO14443A"}
    await asyncio.sleep(0.2)
    assert not csms.calls("Authorize"), "a technician's read must not start a session"
    assert await request(station.config.control.socket, "rfid_read", {"timeout_s": 0.1}) is None


async def test_a_failing_hardware_read_faults_its_connector_and_spares_the_others(
    csms: Csms, make_cp: CpMaker
) -> None:
    station = await make_cp(connectors=2)
    await registered(station)
    assert station.bench is not None
    hw = station.controller.hardware_of(1)
    real_read = hw.pilot.read
    broken = True

    def flaky():  # type: ignore[no-untyped-def]
        if broken:
            raise OSError("SPI read failed")
        return real_read()

    hw.pilot.read = flaky  # type: ignore[method-assign]
    view = station.controller.station.snapshot
    await until(lambda: view().connectors[0].status.value == "Faulted")
    assert view().connectors[0].error_code == "EVCommunicationError"
    station.bench.plug(2)  # the other connector still charges: its samples and timers run
    station.bench.tap("04A1B2C3")
    await until(lambda: station.controller.hardware_of(2).contactor.commanded_closed)
    assert station.healthy()
    broken = False
    await until(lambda: view().connectors[0].status.value == "Available")


async def test_meter_values_report_the_offered_current(
    csms: Csms, make_cp: CpMaker
) -> None:
    station = await make_cp(
        MeterValueSampleInterval=1,
        MeterValuesSampledData="Energy.Active.Import.Register,Current.Offered")
    await registered(station)
    assert station.bench is not None
    station.bench.plug(1, 16.0)
    station.bench.tap("04A1B2C3")
    values = (await csms.wait_for("MeterValues"))[0].payload["meterValue"][0]["sampledValue"]
    offered = [v for v in values if v.get("measurand") == "Current.Offered"]
    assert offered and float(offered[0]["value"]) == 32.0  # the station offers its limit
    assert offered[0]["unit"] == "A"


async def test_a_station_stopped_at_once_stops_cleanly(make_cp: CpMaker) -> None:
    """Repro: stop() right after start, while the controller still read its store, raised
    "call startup() before handle()" (the core was asked to stop sessions it never began)."""
    station = await make_cp()
    await station.stop()
    assert all(not station.controller.hardware_of(c).contactor.commanded_closed for c in (1,))
