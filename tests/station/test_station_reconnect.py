"""After an outage the CSMS learns the connectors' current status first, then the backlog of
transaction messages (in order, each once); a status superseded offline is never sent."""

from __future__ import annotations

from tests.fullstack import CpMaker, registered, start_session, until
from tests.ocpp16.csms import Csms


async def test_current_statuses_go_before_the_offline_backlog(
    csms: Csms, make_cp: CpMaker
) -> None:
    station = await make_cp(MeterValueSampleInterval=1, AllowOfflineTxForUnknownId=True,
                            LocalAuthorizeOffline=True)
    await registered(station)
    assert station.bench is not None
    await csms.stop()
    await until(lambda: not station.adapter.link_state().connected)
    await start_session(station, "0A0B0C0D")  # offline: Preparing, Charging, MeterValues
    await until(lambda: station.adapter.link_state().queued >= 3)
    station.bench.tap("0A0B0C0D")
    await until(lambda: not station.controller.hardware_of(1).contactor.commanded_closed)
    station.bench.unplug(1)  # Finishing, then Available: all while offline
    await until(lambda: station.controller.station.snapshot().connectors[0].status.value
                == "Available")
    mark = len(csms.calls())

    await csms.start()
    await csms.wait_for("StopTransaction", timeout=20)
    after = [f for f in csms.calls()[mark:]
             if f.action not in ("Heartbeat", "BootNotification", "SecurityEventNotification")]
    first_durable = next(i for i, f in enumerate(after)
                         if f.action in ("StartTransaction", "MeterValues", "StopTransaction"))
    fresh = [(f.payload["connectorId"], f.payload["status"]) for f in after[:first_durable]]
    assert (1, "Available") in fresh  # the connector's status now, before the backlog
    later = [f.payload for f in after[first_durable:] if f.action == "StatusNotification"]
    assert later == []  # Preparing / Charging / Finishing were superseded while offline
    tx = [f.action for f in after if f.action in ("StartTransaction", "StopTransaction")]
    assert tx == ["StartTransaction", "StopTransaction"]
