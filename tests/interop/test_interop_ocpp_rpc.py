"""Interoperability: the adapter against ocpp-rpc (npm) as a strict-mode OCPP 1.6J CSMS.

ocpp-rpc validates every frame in both directions against the official 1.6 schemas and
answers bad frames with spec error codes, so any schema slip of ours shows up as a
``strictValidationFailure`` / ``badMessage`` event or a CALLERROR.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import shutil
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from chargepoint.core.actions import ReportStatus, StartTransaction, StopTransaction
from chargepoint.core.events import CsmsLinkChanged, RemoteStartRequested, RemoteStopRequested
from chargepoint.core.types import ConnectorStatus, StopReason
from hardware.interfaces import MeterReading
from tests.ocpp16.harness import Station, start_station

pytestmark = pytest.mark.interop

HERE = Path(__file__).parent
NODE = shutil.which("node")


class Peer:
    """The node process: events from its stdout, requests through its stdin."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.events: list[dict[str, Any]] = []
        self._changed = asyncio.Condition()
        self._ids = itertools.count(1)
        self.port = 0
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        async for line in self.proc.stdout:
            event = json.loads(line)
            async with self._changed:
                self.events.append(event)
                self._changed.notify_all()

    async def wait(self, pred: Callable[[], Any], timeout: float = 10) -> Any:
        async def waiter() -> Any:
            async with self._changed:
                while not (result := pred()):
                    if self._reader.done():
                        raise RuntimeError(f"peer ended: {self.events[-3:]}")
                    await self._changed.wait()
                return result
        return await asyncio.wait_for(waiter(), timeout)

    def calls(self, method: str) -> list[dict[str, Any]]:
        return [e["params"] for e in self.events
                if e["event"] == "call" and e["method"] == method]

    async def wait_call(self, method: str, count: int = 1) -> list[dict[str, Any]]:
        return await self.wait(  # type: ignore[no-any-return]
            lambda: len(c := self.calls(method)) >= count and c)

    async def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """A CALL to the station; returns the CALLRESULT payload (asserts no error)."""
        req_id = next(self._ids)
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"id": req_id, "method": method,
                                          "params": params}).encode() + b"\n")
        await self.proc.stdin.drain()
        answer = await self.wait(lambda: next((e for e in self.events if e.get("id") == req_id),
                                              None))
        assert answer["event"] == "result", answer
        return answer["result"]  # type: ignore[no-any-return]

    async def raw(self, text: str) -> list[Any]:
        """Send ``text`` as it is (a CALL whose message id starts with "raw-"); returns the
        station's answer frame."""
        req_id = next(self._ids)
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"id": req_id, "raw": text}).encode() + b"\n")
        await self.proc.stdin.drain()
        answer = await self.wait(lambda: next((e for e in self.events if e.get("id") == req_id),
                                              None))
        assert answer["event"] == "rawAnswer", answer
        return answer["frame"]  # type: ignore[no-any-return]

    def failures(self) -> list[dict[str, Any]]:
        return [e for e in self.events
                if e["event"] in ("badMessage", "strictValidationFailure", "fatal")]


@pytest.fixture
async def peer() -> AsyncIterator[Peer]:
    async for p in run_peer():
        yield p


async def run_peer(*args: str) -> AsyncIterator[Peer]:
    """The node peer with ``args`` (``"2.0.1"``: the 2.0.1 CSMS), stopped afterwards."""
    if NODE is None:
        pytest.skip("node is not installed")
    proc = await asyncio.create_subprocess_exec(
        NODE, str(HERE / "csms_peer.js"), *args, cwd=HERE, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE)
    p = Peer(proc)
    first = await p.wait(lambda: p.events and p.events[0])
    assert first["event"] == "listening", first
    p.port = first["port"]
    yield p
    assert proc.stdin is not None
    proc.stdin.close()
    try:
        await asyncio.wait_for(proc.wait(), 5)
    except TimeoutError:
        proc.kill()
        await proc.wait()
    p._reader.cancel()


@pytest.fixture
async def station(peer: Peer, tmp_path: Path) -> AsyncIterator[Station]:
    st = await start_station(
        tmp_path / "state.db", f"ws://127.0.0.1:{peer.port}/ocpp", connectors=2,
        replies={"RemoteStartRequested": "Accepted", "RemoteStopRequested": "Accepted"},
        config={"MeterValueSampleInterval": "1",
                "MeterValuesSampledData": "Energy.Active.Import.Register,Power.Active.Import,"
                                          "Current.Import,Voltage",
                "StopTxnSampledData": "Energy.Active.Import.Register"})
    st.port.readings[1] = MeterReading(energy_import_wh=1000.0, power_w=11040.0,
                                       power_w_phases=[3680.0] * 3, voltage_v=[230.0] * 3,
                                       current_a=[16.0] * 3, frequency_hz=50.0)
    await st.port.wait_for(CsmsLinkChanged)
    yield st
    await st.stop()
    st.store.close()


async def test_boot_and_status(peer: Peer, station: Station) -> None:
    boot = (await peer.wait_call("BootNotification"))[0]
    assert boot["chargePointVendor"] == "TestVendor"
    connected = next(e for e in peer.events if e["event"] == "connected")
    assert connected["identity"] == "CP-1" and connected["protocol"] == "ocpp1.6"
    station.adapter.perform(ReportStatus(1, ConnectorStatus.AVAILABLE))
    station.adapter.perform(ReportStatus(0, ConnectorStatus.AVAILABLE))
    await peer.wait_call("StatusNotification", 2)
    assert await station.adapter.ping() >= 0
    assert peer.failures() == []


async def test_session_with_meter_values(peer: Peer, station: Station) -> None:
    a = station.adapter
    a.perform(ReportStatus(1, ConnectorStatus.PREPARING))
    a.perform(StartTransaction(1, "04A1B2C3", 1000.0, time.monotonic()))
    a.perform(ReportStatus(1, ConnectorStatus.CHARGING))
    mv = (await peer.wait_call("MeterValues"))[0]
    assert mv["transactionId"] == 501
    measurands = {s["measurand"] for s in mv["meterValue"][0]["sampledValue"]}
    assert {"Energy.Active.Import.Register", "Current.Import", "Voltage"} <= measurands
    station.port.readings[1] = MeterReading(energy_import_wh=1500.0)
    a.perform(StopTransaction(1, "04A1B2C3", 1500.0, time.monotonic(), StopReason.LOCAL))
    stop = (await peer.wait_call("StopTransaction"))[0]
    assert stop["transactionId"] == 501 and stop["meterStop"] == 1500
    assert stop["transactionData"]
    assert peer.failures() == []


async def test_remote_start_and_stop(peer: Peer, station: Station) -> None:
    result = await peer.request("RemoteStartTransaction", {"idTag": "TAG9", "connectorId": 1})
    assert result == {"status": "Accepted"}
    assert station.port.of(RemoteStartRequested)[0].id_tag == "TAG9"
    station.adapter.perform(StartTransaction(1, "TAG9", 0.0, time.monotonic()))
    start = (await peer.wait_call("StartTransaction"))[0]
    assert start["idTag"] == "TAG9"
    async with asyncio.timeout(5):
        while station.store.transaction_by_csms_id("501") is None:
            await asyncio.sleep(0.01)
    result = await peer.request("RemoteStopTransaction", {"transactionId": 501})
    assert result == {"status": "Accepted"}
    assert station.port.of(RemoteStopRequested) == [RemoteStopRequested(1)]
    result = await peer.request("RemoteStopTransaction", {"transactionId": 999})
    assert result == {"status": "Rejected"}
    assert peer.failures() == []


async def test_get_and_change_configuration(peer: Peer, station: Station) -> None:
    result = await peer.request("GetConfiguration", {})
    keys = {kv["key"] for kv in result["configurationKey"]}
    assert {"HeartbeatInterval", "NumberOfConnectors", "SupportedFeatureProfiles"} <= keys
    result = await peer.request("ChangeConfiguration", {"key": "HeartbeatInterval",
                                                        "value": "120"})
    assert result == {"status": "Accepted"}
    result = await peer.request("GetConfiguration", {"key": ["HeartbeatInterval", "Foo"]})
    assert result["configurationKey"] == [{"key": "HeartbeatInterval", "readonly": False,
                                           "value": "120"}]
    assert result["unknownKey"] == ["Foo"]
    result = await peer.request("ChangeConfiguration", {"key": "Foo", "value": "1"})
    assert result == {"status": "NotSupported"}
    assert peer.failures() == []


async def test_trigger_message(peer: Peer, station: Station) -> None:
    station.adapter.perform(ReportStatus(1, ConnectorStatus.AVAILABLE))
    await peer.wait_call("StatusNotification")
    for message, method in [("Heartbeat", "Heartbeat"), ("StatusNotification",
                                                          "StatusNotification"),
                            ("MeterValues", "MeterValues"),
                            ("BootNotification", "BootNotification"),
                            ("FirmwareStatusNotification", "FirmwareStatusNotification"),
                            ("DiagnosticsStatusNotification",
                             "DiagnosticsStatusNotification")]:
        before = len(peer.calls(method))
        params: dict[str, Any] = {"requestedMessage": message}
        if message in ("StatusNotification", "MeterValues"):
            params["connectorId"] = 1
        assert await peer.request("TriggerMessage", params) == {"status": "Accepted"}
        await peer.wait_call(method, before + 1)
    result = await peer.request("TriggerMessage", {"requestedMessage": "MeterValues",
                                                   "connectorId": 2})
    assert result == {"status": "Rejected"}  # connector 2 has no meter reading
    assert peer.failures() == []


async def test_send_local_list(peer: Peer, station: Station) -> None:
    result = await peer.request("SendLocalList", {
        "listVersion": 5, "updateType": "Full", "localAuthorizationList": [
            {"idTag": "AA11", "idTagInfo": {"status": "Accepted"}},
            {"idTag": "BB22", "idTagInfo": {"status": "Blocked"}}]})
    assert result == {"status": "Accepted"}
    assert await peer.request("GetLocalListVersion", {}) == {"listVersion": 5}
    result = await peer.request("SendLocalList", {
        "listVersion": 6, "updateType": "Differential",
        "localAuthorizationList": [{"idTag": "BB22"}]})
    assert result == {"status": "Accepted"}
    result = await peer.request("SendLocalList", {"listVersion": 6,
                                                  "updateType": "Differential"})
    assert result == {"status": "VersionMismatch"}
    assert peer.failures() == []
