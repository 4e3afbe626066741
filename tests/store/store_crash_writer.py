"""Crash-test writer: commits to the store forever, reporting each commit after it returned.

Run as ``python store_crash_writer.py DB RUN``; the test SIGKILLs it at random moments. Each
stdout line is written only after the store call that it reports has returned:

    R <local_id>   recover_after_crash stopped it (reason PowerLoss) at start-up
    B <local_id>   begin_transaction committed (with its StartTransaction)
    S <local_id>   stop_transaction committed (with its StopTransaction)
    Q <seq>        enqueue committed
    d <seq>        about to dequeue (printed before the call: the seq may vanish from now on)
    D <seq>        dequeue committed

The first line, ``ready``, comes before the store is opened. Every queued payload carries
``{"run": RUN, "i": i}`` with ``i`` rising within a run, so the queue's seq order must equal
(run, i) order.
"""

from __future__ import annotations

import itertools
import sys
from typing import Any

from chargepoint.store.api import TransactionRecord
from chargepoint.store.db import Store

CONNECTORS = (1, 2, 3)


def main(path: str, run: int) -> None:
    counter = itertools.count()

    def tag(**extra: Any) -> dict[str, Any]:
        return {"run": run, "i": next(counter), **extra}

    def stop_message(record: TransactionRecord) -> dict[str, Any]:
        return tag(reason=record.stop_reason, meterStop=record.meter_stop_wh)

    print("ready", flush=True)  # imports done: a kill from now on can hit open/migration
    store = Store.open(path)
    for record in store.recover_after_crash(f"boot-{run}", stop_message):
        print(f"R {record.local_id}", flush=True)
    energy = 0.0
    previous: int | None = None
    for step in itertools.count():
        connector = CONNECTORS[step % len(CONNECTORS)]
        energy += 1.5
        store.save_meter_reading(connector, energy, f"{run}.{step}")
        current = store.open_transaction_on(connector)
        if current is None:
            local_id = store.begin_transaction(
                connector, f"TAG{step}", energy, f"{run}.{step}", None, tag()
            )
            print(f"B {local_id}", flush=True)
        else:
            store.stop_transaction(
                current.local_id, energy, f"{run}.{step}", "Local", None, tag()
            )
            print(f"S {current.local_id}", flush=True)
        seq = store.enqueue("Heartbeat", tag(), None)
        print(f"Q {seq}", flush=True)
        store.mark_attempt(seq)
        if previous is not None and step % 2:
            print(f"d {previous}", flush=True)
            store.dequeue(previous)
            print(f"D {previous}", flush=True)
        previous = seq


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
