"""Figure 1: safety reaction, pilot leaves C -> contactor ``open()`` called.

The station runs as ``bench.safety_child`` (the real app on the simulated bench, its own
process), the bench CSMS here. Scenario "idle": no CSMS traffic beyond the station's own
(statuses, transactions) and the meter polled every second. Scenario "loaded": the same while
this process floods the station with ``FLOOD_RATE`` requests/s (GetConfiguration and
DataTransfer, open loop). Scenario "driver" (an eighth of the events, idle): the real pilot
driver and decoder on the EV's analog line instead of the simulated pilot, i.e. with the
production debounce. Baseline: the IEC 61851-1 budget of 100 ms for opening when the EV
leaves C/D.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from bench import child
from bench.csms import Csms, LoadResult
from bench.report import Figure
from bench.station_config import write_config
from bench.stats import summary_ms

BUDGET_MS = 100.0  # IEC 61851-1: open within 100 ms of the EV leaving C/D
FLOOD_RATE = 500.0
REQUESTS: list[tuple[str, dict[str, Any]]] = [
    ("GetConfiguration", {"key": ["HeartbeatInterval"]}),
    ("DataTransfer", {"vendorId": "org.bench", "messageId": "ping", "data": "x"}),
]


async def _scenario(csms: Csms, workdir: Path, station_id: str, events: int,
                    flood: bool, pilot: str) -> tuple[dict[str, Any], LoadResult | None]:
    config = write_config(workdir, station_id, csms.url)
    proc = await child.spawn("-m", "bench.safety_child", str(config), str(events), pilot,
                             log=workdir / f"{station_id}.log")
    load: LoadResult | None = None
    try:
        await child.read_line(proc, "READY", timeout=60)
        result_line = asyncio.ensure_future(child.read_line(proc, "RESULT", timeout=600))
        if flood:
            stop = asyncio.Event()
            result_line.add_done_callback(lambda _: stop.set())
            load = await csms.load(station_id, REQUESTS, rate=FLOOD_RATE, duration_s=3600,
                                   stop=stop)
        doc = json.loads(await result_line)
    except RuntimeError as exc:  # the child died: its log says why (e.g. no open in time)
        log = (workdir / f"{station_id}.log").read_text(errors="replace")
        raise RuntimeError(f"{exc}; station log tail: {log[-800:]}") from None
    finally:
        await child.terminate(proc)
    result: dict[str, Any] = doc
    return result, load


async def run(*, events: int, workdir: Path) -> Figure:
    fig = Figure("safety_reaction", "Safety: pilot leaves C -> contactor open() "
                 "(budget IEC 61851-1: 100 ms)")
    csms = Csms()
    await csms.start()
    try:
        details: dict[str, Any] = {"events_per_scenario": events, "budget_ms": BUDGET_MS}
        scenarios = (("idle", False, "sim", events), ("loaded", True, "sim", events),
                     ("driver", False, "driver", max(events // 8, 20)))  # >= 1 unplug
        labels = {"idle": "idle, meter 1 s", "loaded": f"{FLOOD_RATE:.0f} req/s + meter 1 s",
                  "driver": "idle, real CP driver+decoder"}
        for name, flood, pilot, count in scenarios:
            doc, load = await _scenario(csms, workdir, f"CP-SAFETY-{name.upper()}",
                                        count, flood, pilot)
            reactions: dict[str, list[float]] = doc["reactions_s"]
            both = reactions["A"] + reactions["B"]
            stats = summary_ms(both)
            label = labels[name]
            for q in ("p50", "p99", "p99.9", "max"):
                fig.row(f"{label}: {q}", "ms", stats[q], BUDGET_MS, "IEC 61851-1 100 ms")
            entry: dict[str, Any] = {"all_ms": stats, "to_A_ms": summary_ms(reactions["A"]),
                                     "to_B_ms": summary_ms(reactions["B"]),
                                     "meter_polls": doc["meter_polls"],
                                     "elapsed_s": round(doc["elapsed_s"], 2)}
            if load is not None:
                fig.row(f"{label}: flood answered", "req/s",
                        len(load.latencies_s) / load.elapsed_s if load.elapsed_s else 0.0,
                        FLOOD_RATE, "rate offered by the CSMS")
                entry["load"] = {"sent": load.sent, "answered": len(load.latencies_s),
                                 "errors": load.errors, "skipped": load.skipped,
                                 "unanswered": load.unanswered,
                                 "achieved_rate": round(load.achieved_rate, 1),
                                 "latency_ms": summary_ms(load.latencies_s)}
            details[name] = entry
        fig.details = details
    finally:
        await csms.stop()
    return fig
