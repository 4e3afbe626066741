"""A week offline at the shortest sample interval a CSMS may set: queue size and replay order.

``python -m bench.offline_week [--days 7] [--interval 5] [--dir DIR]``

1. Seeds one transaction's StartTransaction and ``days * 86400 / interval`` MeterValues
   through ``Store.enqueue`` (what the sampler does while offline; sqlite ``synchronous=OFF``
   while seeding, since the figures are rows and bytes, not time), then reports the queued
   rows and the database's size.
2. Connects the real ``Ocpp16Adapter`` to the bench CSMS on 127.0.0.1 with a StatusNotification
   posted while offline, and reports when the CSMS got that status (and how many queued
   messages it had received before it) and when the backlog was drained.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.csms import Csms
from bench.drain import shutdown
from bench.port import QuietPort
from chargepoint.core.actions import ReportStatus
from chargepoint.core.types import ConnectorStatus
from chargepoint.ocpp16.adapter import Ocpp16Adapter
from chargepoint.ocpp16.options import Ocpp16Options
from chargepoint.store.api import MessageKind
from chargepoint.store.db import Store

STAMP = "2026-11-27T00:00:00.000Z"


def _meter_values(n: int) -> dict[str, Any]:
    sampled = [{"value": f"{1000 + n * 0.5:.1f}", "context": "Sample.Periodic",
                "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
               {"value": "11040.0", "context": "Sample.Periodic",
                "measurand": "Power.Active.Import", "unit": "W"},
               {"value": "16.0", "context": "Sample.Periodic", "measurand": "Current.Import",
                "unit": "A", "phase": "L1"},
               {"value": "16.0", "context": "Sample.Periodic", "measurand": "Current.Offered",
                "unit": "A"}]
    return {"connectorId": 1, "meterValue": [{"timestamp": STAMP, "sampledValue": sampled}]}


def seed(store: Store, samples: int) -> None:
    with store._read() as conn:  # a bench: the figures are sizes, not fsync time
        conn.execute("PRAGMA synchronous = OFF")
    start = {"connectorId": 1, "idTag": "WEEK", "meterStart": 1000, "timestamp": STAMP}
    local = store.begin_transaction(1, "WEEK", 1000.0, STAMP, None, start)
    for n in range(samples):
        store.enqueue(MessageKind.TRANSACTION_UPDATE, _meter_values(n), local)
    with store._read() as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA synchronous = FULL")


def _size(db: Path) -> int:
    return sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))


async def replay(store: Store, timeout_s: float) -> dict[str, Any]:
    csms = Csms()
    await csms.start()
    options = Ocpp16Options(
        url=csms.url, station_id="CP-WEEK", boot_id="bench-week", response_timeout_s=10.0,
        initial_config={"MeterValueSampleInterval": "0", "ClockAlignedDataInterval": "0",
                        "WebSocketPingInterval": "0", "TransactionMessageRetryInterval": "1"})
    adapter = Ocpp16Adapter(QuietPort(store), options)
    adapter.post_status(ReportStatus(1, ConnectorStatus.AVAILABLE, "NoError", None, 0.0))
    task = asyncio.create_task(adapter.run())
    result: dict[str, Any] = {}
    try:
        booted = await csms.wait_booted("CP-WEEK", timeout=30)
        loop_start = time.monotonic()
        while not csms.received["StatusNotification"]:
            if time.monotonic() - loop_start > timeout_s:
                result["first_status_s"] = f"> {timeout_s:.0f} (not yet)"
                break
            await asyncio.sleep(0.001)
        else:
            result["first_status_s"] = round(time.monotonic() - booted, 3)
        result["queued_messages_before_it"] = (csms.received["StartTransaction"]
                                               + csms.received["MeterValues"])
        t0 = time.monotonic()
        while store.queue_length() and time.monotonic() - t0 < timeout_s:
            await asyncio.sleep(0.01)
        result["backlog_drained_s"] = (round(time.monotonic() - booted, 1)
                                       if not store.queue_length()
                                       else f"> {timeout_s:.0f} ({store.queue_length()} left)")
    finally:
        await shutdown(adapter, task, csms)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--interval", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--replay-timeout", type=float, default=120.0)
    args = parser.parse_args()
    samples = int(args.days * 86400 / args.interval)
    workdir = args.dir or Path(tempfile.mkdtemp(prefix="offline-week-"))
    db = workdir / "week.db"
    store = Store.open(db)
    t0 = time.perf_counter()
    seed(store, samples)
    print(f"seeded {samples} MeterValues ({args.days:g} days at {args.interval} s) "
          f"in {time.perf_counter() - t0:.0f} s")
    print(f"queued rows: {store.queue_length()}  database: {_size(db) / 1e6:.2f} MB")
    print(asyncio.run(replay(store, args.replay_timeout)))
    store.close()


if __name__ == "__main__":
    main()
