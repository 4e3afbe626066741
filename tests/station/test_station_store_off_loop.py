"""No sqlite on the event loop (issue 17): during a whole station life (start, boot with the
CSMS setting the clock, configuration, local list, cache, a session, status, diagnostics
self-test, stop) the store's lock is never taken by the event loop's thread."""

from __future__ import annotations

import threading
import traceback
from pathlib import Path
from typing import Any

import pytest
from ocpp.v16 import call

from chargepoint.control.client import request
from chargepoint.store.base import StoreBase
from tests.fullstack import CpMaker, registered, start_session, until
from tests.ocpp16.csms import Csms


class _WatchedLock:
    """The store's lock, noting every acquisition from the event loop's thread."""

    def __init__(self, lock: Any, loop_thread: int, hits: list[str]) -> None:
        self._lock, self._loop_thread, self._hits = lock, loop_thread, hits

    def __enter__(self) -> bool:
        if threading.get_ident() == self._loop_thread:
            self._hits.append("".join(traceback.format_stack(limit=8)[:-1]))
        return bool(self._lock.__enter__())

    def __exit__(self, *exc: object) -> None:
        self._lock.__exit__(*exc)


@pytest.fixture
def on_loop(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    hits: list[str] = []
    loop_thread = threading.get_ident()
    original = StoreBase.__init__

    def init(self: StoreBase, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self._lock = _WatchedLock(self._lock, loop_thread, hits)  # type: ignore[assignment]

    monkeypatch.setattr(StoreBase, "__init__", init)
    return hits


async def test_the_event_loop_never_takes_the_store_lock(
    csms: Csms, make_cp: CpMaker, on_loop: list[str], tmp_path: Path
) -> None:
    station = await make_cp(MeterValueSampleInterval=1, LocalAuthListEnabled=True,
                            AuthorizationCacheEnabled=True)
    await registered(station)  # BootNotification.conf sets the clock (anchors persisted)
    assert station.bench is not None
    for payload in (
        call.ChangeConfiguration(key="HeartbeatInterval", value="120"),
        call.GetConfiguration(key=["HeartbeatInterval"]),
        call.GetLocalListVersion(),
        call.SendLocalList(list_version=3, update_type="Full",
                           local_authorization_list=[{"idTag": "04A1B2C3",
                                                      "idTagInfo": {"status": "Accepted"}}]),
        call.ClearCache(),
        call.ChangeAvailability(connector_id=1, type="Operative"),
    ):
        await csms.send(payload)
    await start_session(station, "04A1B2C3")
    await csms.wait_for("MeterValues")
    await csms.send(call.TriggerMessage(requested_message="MeterValues", connector_id=1))
    station.summary_line()
    await request(station.config.control.socket, "status")
    await request(station.config.control.socket, "selftest")
    station.bench.tap("04A1B2C3")
    await csms.wait_for("StopTransaction")
    await until(lambda: station.adapter.link_state().queued == 0)
    await station.stop()
    assert on_loop == [], on_loop[0]
