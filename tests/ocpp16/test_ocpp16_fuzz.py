"""Fuzzing the station from a hostile CSMS (issue 18; docs/security.md "CSMS-facing defences").

One station on the simulated bench (``chargepoint.app.start_station``, simulate = true) runs
against the loopback CSMS with charging sessions coming and going. Hypothesis draws batches
of CSMS frames: CALLs of every 1.6 action with fields of the wrong type, huge integers,
non-finite and huge decimals, extreme strings and dates; the same unique id twice; answers
(CALLRESULT / CALLERROR) to nothing; garbage and deeply nested JSON; and hostile answers to
the station's own CALLs (transactionId beyond 32 bit, absurd currentTime). After every batch
the CSMS behaves again, and the test checks: the station's tasks and protocol tasks alive
(``RunningStation.healthy()``), every CALL with a usable unique id answered and never with
InternalError (every bad input is refused at the edge with the code that fits), the outbox
drained (queue length 0), no handler or task failure logged. At the end every transaction
the station started is stopped exactly once, in the store and at the CSMS.

Left out on purpose: Reset and ChangeAvailability (legitimate state changes that would stop
the sessions the fuzzer needs), transfer locations other than refused loopback ports (no
network beyond 127.0.0.1).

Budget: ``CHARGEPOINT_FUZZ_EXAMPLES`` batches (default 60, a few seconds); e.g.
``CHARGEPOINT_FUZZ_EXAMPLES=2000 pytest tests/ocpp16/test_ocpp16_fuzz.py -s`` for a long run
(the summary line gives frames sent and seconds).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ocpp.v16 import call

from chargepoint.app import RunningStation
from chargepoint.logs import FRAME_LOGGER
from tests.fullstack import CpMaker, make_cp, registered, until
from tests.ocpp16.csms import Csms, Frame, now_iso

__all__ = ["make_cp"]  # the fixture

EXAMPLES = int(os.environ.get("CHARGEPOINT_FUZZ_EXAMPLES", "60"))


def _refused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


REFUSED = _refused_port()
LOCATIONS = st.sampled_from([
    f"ftp://127.0.0.1:{REFUSED}/x", f"http://127.0.0.1:{REFUSED}/fw.tar.gz", "not a uri",
    "", "x" * 600, "file:///etc/passwd", f"https://user:pw@127.0.0.1:{REFUSED}/a",
    "ftp://127.0.0.1:1/\n"])
DATES = st.sampled_from([
    "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "2030-02-31T00:00:00Z",
    "2026-12-02T10:00:00+14:00", "2026-12-02T10:00:00", "2026-12-02", "now", "",
    "2026-13-01T00:00:00Z", "+275760-09-13T00:00:00Z", "2026-12-02T10:00:00.123456789Z",
    "2099-12-31T23:59:59.999Z", "1970-01-01T00:00:00Z"])
HUGE = st.sampled_from([2**31 - 1, 2**31, -(2**31) - 1, 10**30, -(10**30), 2**63, -1, 0])
NUMBERS = st.one_of(HUGE, st.integers(), st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from([1e30, -0.0, 0.1, 1e-300]))
TEXTS = st.one_of(st.text(max_size=24), st.sampled_from(
    ["", "\x00", "\ud800", "A" * 600, "x" * 21, "CAFE01", "Accepted", "Operative"]))
LEAF = st.one_of(st.none(), st.booleans(), NUMBERS, TEXTS, DATES)
VALUES = st.recursive(LEAF, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)

# A valid request per action (the fuzzer mutates its fields); transfer targets only loopback.
TEMPLATES: dict[str, dict[str, Any]] = {
    "CancelReservation": {"reservationId": 1},
    "ChangeConfiguration": {"key": "HeartbeatInterval", "value": "300"},
    "ClearCache": {},
    "ClearChargingProfile": {"id": 1},
    "DataTransfer": {"vendorId": "x", "messageId": "m", "data": "d"},
    "GetCompositeSchedule": {"connectorId": 1, "duration": 60},
    "GetConfiguration": {"key": ["HeartbeatInterval"]},
    "GetDiagnostics": {"location": f"ftp://127.0.0.1:{REFUSED}/", "retries": 1,
                       "retryInterval": 0},
    "GetLocalListVersion": {},
    "RemoteStartTransaction": {"idTag": "FUZZ01", "connectorId": 1},
    "RemoteStopTransaction": {"transactionId": 100},
    "ReserveNow": {"connectorId": 1, "expiryDate": "2026-01-01T00:00:00Z", "idTag": "T",
                   "reservationId": 1},
    "SendLocalList": {"listVersion": 1, "updateType": "Differential",
                      "localAuthorizationList": [{"idTag": "ZZ"}]},
    "SetChargingProfile": {"connectorId": 1, "csChargingProfiles": {
        "chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute", "chargingSchedule": {
            "chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0,
                                                                 "limit": 16.0}]}}},
    "TriggerMessage": {"requestedMessage": "MeterValues", "connectorId": 1},
    "UnlockConnector": {"connectorId": 1},
    "UpdateFirmware": {"location": f"ftp://127.0.0.1:{REFUSED}/fw", "retries": 1,
                       "retrieveDate": "2026-01-01T00:00:00Z", "retryInterval": 0},
    "GetLog": {"logType": "SecurityLog", "requestId": 1, "retries": 1, "retryInterval": 0,
               "log": {"remoteLocation": f"ftp://127.0.0.1:{REFUSED}/"}},
    "ExtendedTriggerMessage": {"requestedMessage": "Heartbeat"},
}
KEYS = st.sampled_from(sorted({k for t in TEMPLATES.values() for k in t} | {
    "type", "status", "extra", "idTagInfo", "limit"}))
CONFIG_KEYS = st.sampled_from([
    "HeartbeatInterval", "MeterValueSampleInterval", "ClockAlignedDataInterval",
    "TransactionMessageAttempts", "AuthorizationKey", "WebSocketPingInterval",
    "MeterValuesSampledData", "LocalAuthListEnabled", "Nonexistent", "K" * 60])


def field_value(key: str) -> st.SearchStrategy[Any]:
    if key in ("location", "remoteLocation"):
        return LOCATIONS
    if key == "key":
        return st.one_of(CONFIG_KEYS, VALUES)
    if key == "log":
        return st.builds(lambda loc, extra: {"remoteLocation": loc, **extra}, LOCATIONS,
                         st.dictionaries(st.sampled_from(["oldestTimestamp",
                                                          "latestTimestamp"]), DATES))
    return st.one_of(VALUES, DATES) if "Date" in key or "Time" in key else VALUES


@st.composite
def hostile_call(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    action = draw(st.sampled_from(sorted(TEMPLATES)))
    payload = dict(TEMPLATES[action])
    for key in draw(st.lists(st.sampled_from(sorted(payload) or ["extra"]), max_size=2)):
        payload.pop(key, None)
    for key in draw(st.lists(KEYS, max_size=3)):
        payload[key] = draw(field_value(key))
    return action, payload


@dataclass
class Batch:
    frames: list[str | bytes]
    tx_ids: list[int]  # StartTransaction.conf transactionIds (then sane ones again)
    clock: str | None  # currentTime while the batch runs (None: the true time)
    session: str  # "start", "stop" or "keep"


@st.composite
def frames(draw: st.DrawFn) -> list[str | bytes]:
    kind = draw(st.sampled_from(["call", "call", "call", "dup", "answer", "garbage", "deep",
                                 "shape"]))
    uid = draw(st.text(min_size=1, max_size=36))
    if kind in ("call", "dup"):
        action, payload = draw(hostile_call())
        text = json.dumps([2, uid, action, payload])  # NaN / Infinity written as such
        return [text, text] if kind == "dup" else [text]
    if kind == "answer":
        return [draw(st.sampled_from([
            json.dumps([3, uid, draw(VALUES)]),
            json.dumps([4, uid, "InternalError", "x", {}]),
            json.dumps([4, uid, draw(VALUES), draw(VALUES), draw(VALUES)]),
            json.dumps([3, uid])]))]
    if kind == "garbage":
        return [draw(st.one_of(st.text(max_size=60), st.binary(max_size=60)))]
    if kind == "deep":
        depth = draw(st.integers(30, 5000))
        return [f'[2,"{uid.replace(chr(34), "")}","DataTransfer",' + "[" * depth + "]" * depth
                + "]"]
    return [json.dumps(draw(st.one_of(
        st.lists(VALUES, max_size=5), st.tuples(st.sampled_from([2, 3, 4, 5, True, "2"]),
                                                VALUES, VALUES, VALUES).map(list))))]


BATCHES = st.builds(
    Batch,
    frames=st.lists(frames(), min_size=1, max_size=6).map(lambda xs: [f for x in xs for f in x]),
    tx_ids=st.lists(st.sampled_from([10**30, 2**31, -(2**31) - 1, 2**63]), max_size=2),
    clock=st.sampled_from([None, None, "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z",
                           "garbage"]),
    session=st.sampled_from(["start", "stop", "keep"]),
)


def _not_json(constant: str) -> Any:
    raise ValueError(constant)


def answerable(text: str | bytes) -> str | None:
    """The unique id the station must answer (a well-formed CALL)."""
    try:
        msg = json.loads(text, parse_constant=_not_json)
    except (ValueError, RecursionError, UnicodeDecodeError):
        return None
    if (isinstance(msg, list) and len(msg) == 4 and msg[0] == 2 and not isinstance(msg[0], bool)
            and isinstance(msg[1], str) and isinstance(msg[2], str) and isinstance(msg[3], dict)):
        return msg[1]
    return None


@dataclass
class Fuzz:
    cp: RunningStation
    csms: Csms
    frames_sent: int = 0
    batches: int = 0
    tags: int = 0
    sane_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1001))

    async def run(self, batch: Batch) -> None:
        csms, cp = self.csms, self.cp
        csms.tx_ids = itertools.chain(batch.tx_ids, self.sane_ids)  # type: ignore[assignment]
        if batch.clock is not None:
            bad = batch.clock
            csms.clock = lambda: bad
            await csms.send(call.TriggerMessage(requested_message="Heartbeat"))
        await self.session(batch.session)
        peer = await csms.connected()
        expected: list[str] = []
        for text in batch.frames:
            await peer.ws.send(text)
            self.frames_sent += 1
            uid = answerable(text)
            if uid is not None:
                expected.append(uid)
        await csms.wait_until(lambda: all(self.answered(u) for u in expected), timeout=20)
        # The CSMS behaves again: the station recovers on its own.
        csms.clock = now_iso
        csms.tx_ids = self.sane_ids  # type: ignore[assignment]
        await csms.send(call.TriggerMessage(requested_message="Heartbeat"))
        await until(lambda: cp.store.queue_length() == 0, timeout=30)
        assert cp.healthy(), cp.adapter.unhealthy_tasks()
        # Refused at the edge with the code that fits, never "our bug": no InternalError.
        internal = [f.raw for f in csms.frames if f.direction == "in" and f.kind == 4
                    and f.payload[0] == "InternalError"]
        assert internal == [], internal
        self.batches += 1

    def answered(self, uid: str) -> bool:
        return any(f.direction == "in" and f.kind in (3, 4) and f.unique_id == uid
                   for f in self.csms.frames)

    async def session(self, what: str) -> None:
        bench = self.cp.bench
        assert bench is not None
        plugged = bench.describe()["connectors"][0]["ev"]["plugged"]
        if what == "start" and not plugged:
            self.tags += 1
            bench.plug(1)
            bench.tap(f"CAFE{self.tags:04X}")
        elif what == "stop" and plugged:
            bench.unplug(1)


def idle(cp: RunningStation) -> bool:
    """No session and none about to start (an authorization may still be on its way)."""
    return all(c.status.value in ("Available", "Unavailable", "Faulted")
               for c in cp.controller.station.snapshot().connectors)


def stops_by_id(frames: list[Frame]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for f in frames:
        if f.direction == "in" and f.kind == 2 and f.action == "StopTransaction":
            tx = f.payload["transactionId"]
            counts[tx] = counts.get(tx, 0) + 1
    return counts


@pytest.mark.timeout(max(120, EXAMPLES * 10))
async def test_fuzz_the_station_from_a_hostile_csms(
        csms: Csms, make_cp: CpMaker, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    frame_log = logging.getLogger(FRAME_LOGGER)
    level = frame_log.level
    frame_log.setLevel(logging.INFO)  # the redacting frame log must survive it all too
    try:
        # ConnectionTimeOut 5 s: an authorization left waiting for an EV that the fuzz
        # unplugged ends before the final wait for idle (60 s by default, longer than it).
        cp = await make_cp(TransactionMessageRetryInterval=0, TransactionMessageAttempts=3,
                           MeterValueSampleInterval=1, ConnectionTimeOut=5)
        await registered(cp)
        fuzz = Fuzz(cp, csms)
        loop = asyncio.get_running_loop()
        started = time.monotonic()

        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(batch=BATCHES)
        def run(batch: Batch) -> None:
            asyncio.run_coroutine_threadsafe(fuzz.run(batch), loop).result(timeout=90)

        await asyncio.to_thread(run)
        await fuzz.session("stop")
        await until(lambda: idle(cp) and not cp.store.open_transactions(), timeout=20)
        await until(lambda: cp.store.queue_length() == 0, timeout=30)
        elapsed = time.monotonic() - started
    finally:
        frame_log.setLevel(level)
    # Every transaction the station started is stopped exactly once, at the CSMS too.
    records = []
    local_id = 1
    while (record := cp.store.transaction(local_id)) is not None:
        records.append(record)
        local_id += 1
    stops = stops_by_id(csms.frames)
    reconnected = len(csms.paths) > 1
    for record in records:
        assert record.stopped, record
        if record.csms_id is not None:
            count = stops.get(int(record.csms_id), 0)
            assert count == 1 or (reconnected and count >= 1), (record, count)
    # A traceback or a supervised failure means an input got past the edge: a bug.
    failures = [r.getMessage() for r in caplog.records if r.name.startswith("chargepoint")
                and (r.exc_info or r.module == "supervise")]
    assert failures == []
    print(f"\nfuzz: {fuzz.batches} batches, {fuzz.frames_sent} frames, {len(records)} "
          f"transactions, {len(csms.paths)} connection(s), {elapsed:.1f} s")
