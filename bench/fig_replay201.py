"""Figure 6 under OCPP 2.0.1: offline replay of queued TransactionEvent messages.

The store's outbox is seeded with ``messages`` TransactionEvent messages (Started / Ended
pairs on EVSE 1, the transactionId and seqNo recorded as ``ocpp201.transactions`` records
them, committed through the store API as the station commits them offline: ``seed``); then
the real ``Ocpp201Adapter`` connects to the bench CSMS in 2.0.1 mode and drains them (the
shared sender: one CALL in flight, each removed only after its confirmation, E04 / E07).

Ours: BootNotification received -> last message confirmed and dequeued. Baseline: messages x
the measured round trip of one CALL on the same connection (median of Heartbeats sent by the
adapter after the drain). The details add what the store calls alone cost per message.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from bench.csms import Csms
from bench.drain import drain, report, seeded
from bench.fig_replay import STAMP
from bench.port import QuietPort
from bench.report import Figure
from chargepoint.ocpp201.adapter import Ocpp201Adapter, Ocpp201Options
from chargepoint.ocpp201.conversions import id_token
from chargepoint.ocpp201.device_model import DeviceModel
from chargepoint.ocpp201.transactions import sampled_values, seq_key
from chargepoint.ocppj.timestamps import Clock
from chargepoint.store.db import Store
from chargepoint.store.writebehind import CachedKv, WriteBehind

STATION = "CP-REPLAY-201"
VERSION = "2.0.1"


def _event(event_type: str, seq_no: int, transaction_id: str, info: dict[str, Any],
           energy_wh: float, context: str) -> dict[str, Any]:
    return {"eventType": event_type, "timestamp": STAMP, "seqNo": seq_no, "offline": True,
            "triggerReason": "Authorized" if event_type == "Started" else "EVCommunicationLost",
            "transactionInfo": {"transactionId": transaction_id, **info},
            "evse": {"id": 1, "connectorId": 1},
            "meterValue": [{"timestamp": STAMP,
                            "sampledValue": sampled_values(None, energy_wh, context, [])}]}


def seed(store: Store, messages: int, first: int = 0) -> None:
    """Queue ``messages`` (even) TransactionEvents: Started / Ended pairs on EVSE 1 (the
    transactionIds numbered from ``first``)."""
    for n in range(first, first + messages // 2):
        tag = f"TAG{n % 100:04d}"
        transaction_id = f"bench-{n:08d}"
        start = _event("Started", 0, transaction_id, {"chargingState": "Charging"}, n * 10.0,
                       "Transaction.Begin")
        start["idToken"] = id_token(tag)
        local = store.begin_transaction(1, tag, n * 10.0, STAMP, None, start)
        store.set_csms_transaction_id(local, transaction_id)
        store.kv_set(seq_key(local), "2")  # seqNo 1 taken by the Ended below
        stop = _event("Ended", 1, transaction_id,
                      {"chargingState": "Idle", "stoppedReason": "EVDisconnected"},
                      n * 10.0 + 5, "Transaction.End")
        store.stop_transaction(local, n * 10.0 + 5, STAMP, "EVDisconnected", None, stop)


def store_work(store: Store) -> float:
    """Drain the queue with only the store calls the 2.0.1 sender makes per message (head;
    confirm, dropping an Ended's seqNo counter in the same commit), no network; seconds per
    message."""
    count = store.queue_length()
    t0 = time.perf_counter()
    while (head := store.queue_head()) is not None:
        ended = head.payload.get("eventType") == "Ended" and head.tx_local_id is not None
        store.confirm(head.seq, head.tx_local_id,
                      drop_kv=seq_key(head.tx_local_id) if ended and head.tx_local_id else None)
    return (time.perf_counter() - t0) / max(count, 1)


def _options(url: str) -> Ocpp201Options:
    return Ocpp201Options(
        url=url, station_id=STATION, vendor="chargepoint", model="Bench", serial=None,
        firmware_version="bench", security_profile=0, password=None, ca_file=None,
        cert_file=None, key_file=None, reconnect_min_s=0.2, reconnect_max_s=2.0,
        response_timeout_s=10.0, max_frame_bytes=4 * 2**20, has_lock=False,
        max_current_a=32.0)


async def run(*, messages: int, workdir: Path, pings: int = 200) -> Figure:
    fig = Figure("offline_replay_201",
                 f"OCPP 2.0.1 offline replay: {messages} queued TransactionEvent messages")
    messages -= messages % 2
    store, seed_s = await seeded(workdir / "replay201.db", seed, messages)
    csms = Csms(version=VERSION)
    await csms.start()
    writer = WriteBehind("bench-clock")
    model = await asyncio.to_thread(DeviceModel, store, {})
    clock = await asyncio.to_thread(
        lambda: Clock(boot_id="bench-replay-201", kv=CachedKv(store, writer)))
    adapter = Ocpp201Adapter(QuietPort(store), _options(csms.url), model, clock)
    try:
        d = await drain(adapter, csms, store, station=STATION, action="TransactionEvent",
                        expected=messages, messages=messages, pings=pings,
                        reseed=lambda extra: seed(store, extra, messages), store_work=store_work)
    finally:
        await asyncio.to_thread(writer.close)
        store.close()
    report(fig, d, messages=messages, confirmed=adapter.outbox.sent_ok, csms=csms,
           seed_s=seed_s)
    fig.details["store_commits_per_message"] = (
        "1 (confirm: the idTokenInfo's cache entry, an Ended's seqNo counter and the removal "
        "together; a Started's answer with idTokenInfo also reads the authorization counts in "
        "that worker call); 1.6: 1 each")
    return fig
