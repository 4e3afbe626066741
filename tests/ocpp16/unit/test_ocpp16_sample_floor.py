"""A CSMS cannot make every second a queued message: MeterValueSampleInterval and
ClockAlignedDataInterval below the floor are Rejected; 0 (off) and the installer's file may go
lower. ``update`` is ``change`` with the store write in a worker thread."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from chargepoint.ocpp16.config_keys import MIN_SAMPLE_INTERVAL_S, Configuration
from tests.ocpp16.unit.ocppunit_store import open_store


@pytest.mark.parametrize("key", ["MeterValueSampleInterval", "ClockAlignedDataInterval"])
def test_a_csms_cannot_set_a_sample_interval_below_the_floor(key: str) -> None:
    cfg = Configuration(open_store(), {key: "60"})
    assert MIN_SAMPLE_INTERVAL_S == 5
    assert cfg.change(key, "1") == "Rejected"
    assert cfg.change(key, "4") == "Rejected"
    assert cfg.get_int(key) == 60
    assert cfg.change(key, "5") == "Accepted"
    assert cfg.change(key, "0") == "Accepted"  # off is always allowed


def test_the_installer_may_go_below_the_floor_with_a_warning(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        cfg = Configuration(open_store(), {"MeterValueSampleInterval": "1"})
    assert cfg.get_int("MeterValueSampleInterval") == 1
    assert "below the 5 s a CSMS may set" in caplog.text


def test_the_floor_is_a_parameter() -> None:
    cfg = Configuration(open_store(), {}, min_sample_interval_s=1)
    assert cfg.change("MeterValueSampleInterval", "1") == "Accepted"


async def test_update_writes_in_a_worker_thread_and_announces_on_the_loop() -> None:
    store = open_store()
    cfg = Configuration(store, {})
    loop_thread = threading.get_ident()
    writers: list[int] = []
    heard: list[tuple[str, str, int]] = []
    real_set = store.config_set

    def config_set(key: str, value: str) -> None:
        writers.append(threading.get_ident())
        real_set(key, value)

    store.config_set = config_set  # type: ignore[method-assign]
    cfg.on_change(lambda k, v: heard.append((k, v, threading.get_ident())))
    assert await cfg.update("MeterValueSampleInterval", "30") == "Accepted"
    assert await cfg.update("MeterValueSampleInterval", "2") == "Rejected"
    assert writers and loop_thread not in writers
    assert heard == [("MeterValueSampleInterval", "30", loop_thread)]
    assert store.config_get("MeterValueSampleInterval") == "30"
    await asyncio.sleep(0)
