"""Figure 6: offline replay of queued transaction messages after a reconnect.

The store's outbox is seeded with ``messages`` transaction messages (StartTransaction /
StopTransaction pairs, committed through the store API exactly as the adapter commits them
offline); then the real ``Ocpp16Adapter`` connects to the bench CSMS and drains them (one
CALL in flight, each removed only after its confirmation, OCPP 1.6 section 4.x).

Ours: BootNotification received -> last message confirmed and dequeued. Baseline: messages x
the measured round trip of one CALL on the same connection (median of Heartbeats sent by
the adapter after the drain): what a sender with one CALL in flight and a free store would
need. The details add what the store calls alone cost per message (sqlite, synchronous=FULL).
"""

from __future__ import annotations

import time
from pathlib import Path

from bench.csms import Csms
from bench.drain import drain, report, seeded
from bench.port import QuietPort
from bench.report import Figure
from chargepoint.ocpp16.adapter import Ocpp16Adapter
from chargepoint.ocpp16.options import Ocpp16Options
from chargepoint.store.api import MessageKind
from chargepoint.store.db import Store

STATION = "CP-REPLAY"
STAMP = "2026-11-27T00:00:00.000Z"


def seed(store: Store, messages: int) -> None:
    """Queue ``messages`` (even) transaction messages: Start/Stop pairs on connector 1."""
    for n in range(messages // 2):
        tag = f"TAG{n % 100:04d}"
        start = {"connectorId": 1, "idTag": tag, "meterStart": n * 10, "timestamp": STAMP}
        local = store.begin_transaction(1, tag, n * 10.0, STAMP, None, start)
        stop = {"meterStop": n * 10 + 5, "timestamp": STAMP, "reason": "Local"}
        store.stop_transaction(local, n * 10.0 + 5, STAMP, "Local", None, stop)


def store_work(store: Store) -> float:
    """Drain the queue with only the store calls the sender makes per message (head, the
    transaction record, the CSMS id for a Start, dequeue), no network; seconds per message."""
    count = store.queue_length()
    t0 = time.perf_counter()
    csms_id = 1_000_000
    while (head := store.queue_head()) is not None:
        if head.tx_local_id is not None:
            store.transaction(head.tx_local_id)
            if head.action == MessageKind.TRANSACTION_START:
                csms_id += 1
                store.set_csms_transaction_id(head.tx_local_id, str(csms_id))
                store.transaction(head.tx_local_id)
        store.dequeue(head.seq)
    return (time.perf_counter() - t0) / max(count, 1)


async def run(*, messages: int, workdir: Path, pings: int = 200) -> Figure:
    fig = Figure("offline_replay", f"Offline replay: {messages} queued transaction messages")
    messages -= messages % 2
    store, seed_s = await seeded(workdir / "replay.db", seed, messages)
    csms = Csms()
    await csms.start()
    options = Ocpp16Options(
        url=csms.url, station_id=STATION, boot_id="bench-replay", response_timeout_s=10.0,
        initial_config={"MeterValueSampleInterval": "0", "ClockAlignedDataInterval": "0",
                        "WebSocketPingInterval": "0", "TransactionMessageRetryInterval": "1"})
    adapter = Ocpp16Adapter(QuietPort(store), options)
    try:
        d = await drain(adapter, csms, store, station=STATION, action="StopTransaction",
                        expected=messages // 2, messages=messages, pings=pings,
                        reseed=lambda extra: seed(store, extra), store_work=store_work)
    finally:
        store.close()
    report(fig, d, messages=messages, confirmed=adapter.outbox.sent_ok, csms=csms,
           seed_s=seed_s)
    return fig
