"""TransactionEvent robustness under 2.0.1: a CSMS that is down during a session (every event
queued with offline true, seqNo continuous, each delivered once and in order after the
reconnect) and a power cut (SIGKILL of a real ``chargepoint run`` process) mid-session (after
the restart: Ended with stoppedReason PowerLoss once, seqNo continuous, nothing twice)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

from chargepoint.control.client import request
from tests.fullstack import charging, until
from tests.ocpp201.conftest import Cp201Maker, toml201
from tests.ocpp201.csms import Csms201
from tests.station.test_station_process import sim, start_daemon

TAG = "04A1B2C3"


def brief(events: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(e["eventType"], e["triggerReason"], e["transactionInfo"]["chargingState"])
            for e in events]


async def test_e_offline_session_events_queued_in_order_and_sent_once(
        csms201: Csms201, make_cp201: Cp201Maker) -> None:
    cp = await make_cp201()
    await until(lambda: cp.adapter.link_state().registration == "Accepted")
    await csms201.wait_for("StatusNotification")  # the station's loops run
    assert cp.bench is not None
    cp.bench.plug(1)
    cp.bench.tap(TAG)
    await charging(cp)
    await csms201.wait_until(lambda: csms201.events())
    await until(lambda: cp.store.queue_length() == 0)
    await csms201.stop()
    await until(lambda: not cp.adapter.link_state().connected)
    cp.bench.ev(1, "pause")
    await until(lambda: cp.store.queue_length() == 1)
    cp.bench.ev(1, "charge")
    await until(lambda: cp.store.queue_length() == 2)
    cp.bench.unplug(1)
    await until(lambda: cp.store.queue_length() == 3)
    await csms201.start()  # same port
    await csms201.wait_until(lambda: csms201.events()[-1]["eventType"] == "Ended")
    await until(lambda: cp.store.queue_length() == 0)
    events = csms201.events()
    assert brief(events) == [("Started", "ChargingStateChanged", "Charging"),
                             ("Updated", "ChargingStateChanged", "SuspendedEV"),
                             ("Updated", "ChargingStateChanged", "Charging"),
                             ("Ended", "EVCommunicationLost", "Idle")]
    assert [e["seqNo"] for e in events] == [0, 1, 2, 3]
    assert [e["offline"] for e in events] == [False, True, True, True]
    assert len({e["transactionInfo"]["transactionId"] for e in events}) == 1
    stamps = [e["timestamp"] for e in events]
    assert stamps == sorted(stamps)


async def queued(config: Path) -> int:
    status = await request(str(config.parent / "control.sock"), "status")
    return int(status["ocpp"]["queued"])


async def drained(config: Path) -> None:
    """The daemon's queue is empty (polled over the control socket)."""
    for _ in range(500):
        if await queued(config) == 0:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the queue was not drained")


async def test_e_power_cut_mid_session_ends_once_with_power_loss(
        csms201: Csms201, tmp_path: Path) -> None:
    config = tmp_path / "cp.toml"
    config.write_text(toml201(csms201.url, tmp_path, 1,
                              {"SampledDataCtrlr.TxUpdatedInterval": 1}))
    proc = await start_daemon(config)
    try:
        await csms201.wait_until(lambda: csms201.calls("StatusNotification"))
        await sim(config, "plug", connector=1)
        await sim(config, "tap", uid=TAG)
        await csms201.wait_until(lambda: len(csms201.events()) >= 3)  # Started, 2 Updated
        await drained(config)  # nothing in flight: a resent unconfirmed one is not the point
        proc.send_signal(signal.SIGKILL)  # a power cut, as far as the process can tell
        await proc.wait()
        proc = await start_daemon(config)
        await csms201.wait_until(lambda: csms201.events()[-1]["eventType"] == "Ended",
                                 timeout=15)
        await drained(config)
        events = csms201.events()
        ended = events[-1]
        assert ended["transactionInfo"]["stoppedReason"] == "PowerLoss"
        assert ended["triggerReason"] == "AbnormalCondition"
        assert ended["offline"] is True
        # one transaction, seqNo continuous across the crash, nothing sent twice
        assert [e["seqNo"] for e in events] == list(range(len(events)))
        assert len({e["transactionInfo"]["transactionId"] for e in events}) == 1
        assert [e["eventType"] for e in events].count("Ended") == 1
        assert [e["eventType"] for e in events].count("Started") == 1
        energy = [v["value"] for v in ended["meterValue"][0]["sampledValue"]
                  if v["measurand"] == "Energy.Active.Import.Register"]
        begin = [v["value"] for v in events[0]["meterValue"][0]["sampledValue"]
                 if v["measurand"] == "Energy.Active.Import.Register"]
        assert energy and begin and energy[0] >= begin[0]
    finally:
        proc.terminate()
        await proc.wait()
