"""Offline operation, full stack: sessions while the CSMS is gone and a controller restart
while offline; afterwards the CSMS has every transaction message exactly once, in order."""

from __future__ import annotations

import asyncio

from tests.fullstack import CpMaker, registered, until
from tests.ocpp16.csms import Csms

OFFLINE_RULES = {"AllowOfflineTxForUnknownId": True, "LocalAuthorizeOffline": True,
                 "MeterValueSampleInterval": 1}


async def test_sessions_and_a_restart_while_offline_reach_the_csms_once_in_order(
    csms: Csms, make_cp: CpMaker
) -> None:
    station = await make_cp(**OFFLINE_RULES)
    await registered(station)
    await csms.stop()  # the CSMS goes away
    await until(lambda: not station.adapter.link_state().connected)
    assert station.bench is not None

    station.bench.plug(1)  # session 1: starts and stops offline
    station.bench.tap("0A0B0C0D")
    await until(lambda: station.controller.hardware_of(1).contactor.commanded_closed)
    await asyncio.sleep(1.5)  # a few sampled meter values while offline
    station.bench.tap("0A0B0C0D")
    await until(lambda: not station.controller.hardware_of(1).contactor.commanded_closed)
    station.bench.unplug(1)
    station.bench.plug(1)  # session 2: starts offline, still running at the restart
    station.bench.tap("0E0F1011")
    await until(lambda: station.controller.hardware_of(1).contactor.commanded_closed)
    # Start 1, its meter values, Stop 1, Start 2: each is committed by the adapter's own task
    await until(lambda: station.adapter.link_state().queued >= 4)
    await station.stop()  # controller restart while offline

    station = await make_cp(**OFFLINE_RULES)
    await asyncio.sleep(0.3)
    assert not station.adapter.link_state().connected
    await csms.start()  # the CSMS comes back on the same port
    await csms.wait_for("StopTransaction", count=2, timeout=20)
    await until(lambda: station.adapter.link_state().queued == 0, timeout=20)

    tx_calls = [f for f in csms.calls() if f.action in ("StartTransaction", "StopTransaction")]
    assert [f.action for f in tx_calls] == [
        "StartTransaction", "StopTransaction", "StartTransaction", "StopTransaction"]
    assert [f.payload["idTag"] for f in tx_calls[::2]] == ["0A0B0C0D", "0E0F1011"]
    assert tx_calls[3].payload["reason"] == "Reboot"
    ids = [f.unique_id for f in csms.calls()]
    assert len(ids) == len(set(ids)), "a message reached the CSMS twice"
    # each Stop carries the id the CSMS gave its own Start, never -1 or a placeholder
    answers = {f.unique_id: f.payload for f in csms.frames if f.direction == "out"
               and f.kind == 3}
    start_ids = [answers[f.unique_id]["transactionId"] for f in tx_calls[::2]]
    assert [f.payload["transactionId"] for f in tx_calls[1::2]] == start_ids
    meter_tx = {f.payload.get("transactionId") for f in csms.calls("MeterValues")}
    assert meter_tx <= set(start_ids)
    stamps = [f.payload["timestamp"] for f in tx_calls]
    assert stamps == sorted(stamps) and not any(s.startswith("1970") for s in stamps)
