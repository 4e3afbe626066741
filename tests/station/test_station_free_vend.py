"""Free vend end to end: with ``[charging] free_vend`` a plug-in starts a transaction with
``free_vend_id_tag`` and no Authorize; unplugging ends it; a power cut mid-session is
recovered like any other transaction (StopTransaction PowerLoss after the restart)."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from chargepoint.app import RunningStation, start_station
from chargepoint.config import config_from_toml
from tests.fullstack import charging, registered, toml
from tests.ocpp16.csms import Csms
from tests.station.test_station_process import sim, start_daemon

FREE_VEND = '\n[charging]\nfree_vend = true\nfree_vend_id_tag = "HOME"\n'


@pytest.fixture
async def free_cp(csms: Csms, tmp_path: Path) -> AsyncIterator[Callable[[], Awaitable[
        RunningStation]]]:
    started: list[RunningStation] = []

    async def make() -> RunningStation:
        text = toml(csms.url, tmp_path, 1, {}) + FREE_VEND
        running = await start_station(config_from_toml(text))
        started.append(running)
        await registered(running)
        return running

    yield make
    for running in started:
        await running.stop()


async def test_plug_in_starts_and_unplug_ends_without_a_card(
        csms: Csms, free_cp: Callable[[], Awaitable[RunningStation]]) -> None:
    cp = await free_cp()
    assert cp.bench is not None
    cp.bench.plug(1)
    start = (await csms.wait_for("StartTransaction"))[0]
    assert start.payload["idTag"] == "HOME"
    await charging(cp)
    assert not csms.calls("Authorize")
    status = await cp.status()
    assert status["connectors"][0]["transaction"]["id_tag"] == "HOME"
    cp.bench.unplug(1)
    stop = (await csms.wait_for("StopTransaction"))[0]
    assert stop.payload["reason"] == "EVDisconnected"
    assert stop.payload["transactionId"] == 100
    assert not csms.calls("Authorize")


async def test_a_power_cut_mid_session_is_recovered(csms: Csms, tmp_path: Path) -> None:
    config = tmp_path / "cp.toml"
    config.write_text(toml(csms.url, tmp_path, 1, {"MeterValueSampleInterval": 1}) + FREE_VEND)
    proc = await start_daemon(config)
    try:
        await csms.wait_until(lambda: csms.calls("StatusNotification"))
        await sim(config, "plug", connector=1)
        await csms.wait_for("StartTransaction")
        await csms.wait_for("MeterValues")  # sent with the transaction id: it was kept
        proc.send_signal(signal.SIGKILL)  # a power cut, as far as the process can tell
        await proc.wait()
        proc = await start_daemon(config)
        stop = (await csms.wait_for("StopTransaction", timeout=15))[0]
        assert stop.payload["reason"] == "PowerLoss"
        assert stop.payload["transactionId"] == 100
        await sim(config, "plug", connector=1)  # the EV (on the new bench) is back
        second = (await csms.wait_for("StartTransaction", count=2))[1]
        assert second.payload["idTag"] == "HOME"
        assert not csms.calls("Authorize")
    finally:
        proc.terminate()
        await proc.wait()
