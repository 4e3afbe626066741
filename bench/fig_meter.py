"""Figure 4: Modbus traffic and duration of one SDM630 poll (every quantity) at 9600 Bd.

Ours: the real ``ModbusMeter`` (block planner) over a real pymodbus RTU link on a pty, with
the wire time emulated by ``VirtualMeter(char_time_s=...)``. Baselines, from the same map:

- requests: the fewest possible (one request per function code, the cap permitting);
- bytes: the lower bound (one request frame and one answer carrying only the needed
  registers; unattainable when the registers are not contiguous);
- duration: the RTU wire time of our plan computed from the Modbus framing rules: per request
  the 8-character request, the answer (5 framing characters + 2 per register) and two
  3.5-character silences (after the request, which the meter needs to see its end, and after
  the answer, before the next request), 11 bits per character. No meter turnaround: the
  virtual meter has none (``predicted_wire_ms_with_turnaround`` adds the map's estimate).
  The emulated wire (``hardware.sim.rtu_wire``) puts exactly these on its timeline; what it
  delivers late by its own timers is ``details.emulator_late_ms_per_poll``, included in our
  durations;
- duration: the naive plan (one request from the lowest to the highest register), measured
  the same way on the same link: what the planner's cost model saves.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from bench.report import Figure
from bench.stats import summary_ms
from hardware.interfaces import MeterFault
from hardware.meter import ModbusMeter, open_meter
from hardware.meter.planner import (
    REQUEST_OVERHEAD_CHARS,
    char_time_s,
    plan_time_s,
    single_block,
)
from hardware.sim.virtual_meter import VirtualMeter

MODEL = "sdm630"
BAUD = 9600
FRAME_BYTES = 8 + 5  # request frame + answer framing (address, function, count, CRC)


@dataclass(slots=True)
class _Polls:
    durations: list[float]
    requests: float  # per poll
    wire_bytes: float  # per poll
    faults: int
    retries: int
    emulator_late_s: float  # per poll
    short_silences: int  # frames our client started less than 3.5 characters after the last


async def _measure(meter: ModbusMeter, virtual: VirtualMeter, polls: int) -> _Polls:
    await meter.poll()  # opens the port; not counted
    base_requests = meter.counters.requests
    base_bytes = meter.counters.bytes_on_wire
    base_retries = meter.counters.retries
    wire = virtual.wire_stats
    base_late, base_short = wire.late_s, wire.short_silences
    durations: list[float] = []
    faults = 0
    for _ in range(polls):
        t0 = time.perf_counter()
        result = await meter.poll()
        durations.append(time.perf_counter() - t0)
        faults += isinstance(result, MeterFault)
    return _Polls(durations, (meter.counters.requests - base_requests) / polls,
                  (meter.counters.bytes_on_wire - base_bytes) / polls, faults,
                  meter.counters.retries - base_retries, (wire.late_s - base_late) / polls,
                  wire.short_silences - base_short)


async def run(*, polls: int) -> Figure:
    """Poll ``polls`` times and compare with the minimum and the computed wire time."""
    fig = Figure("meter_polling", f"Meter poll: {MODEL}, all quantities, RTU {BAUD} Bd (pty)")
    ct = char_time_s(BAUD)
    virtual = VirtualMeter({1: MODEL}, char_time_s=ct, baudrate=BAUD)
    port = await virtual.start()
    meter = open_meter(port=port, model=MODEL, unit=1, baudrate=BAUD, timeout=1.0)
    fields = meter.map.fields
    naive = single_block(fields)
    try:
        ours = await _measure(meter, virtual, polls)
        naive_meter = ModbusMeter(meter.bus, meter.map, unit=1)
        naive_meter.plan = naive
        single = await _measure(naive_meter, virtual, polls)
    finally:
        await meter.bus.close()
        await virtual.stop()
    durations, requests, wire_bytes, faults = (ours.durations, ours.requests, ours.wire_bytes,
                                               ours.faults + single.faults)

    min_requests = len(naive) if all(b.count <= meter.map.max_registers for b in naive) else None
    needed_regs = sum(f.count for f in fields)
    functions = len({f.function for f in fields})
    min_bytes = functions * FRAME_BYTES + 2 * needed_regs
    wire_s = plan_time_s(meter.plan, ct, 0.0)
    stats = summary_ms(durations)

    fig.row("requests per poll", "req", requests, min_requests, "fewest possible")
    fig.row("bytes on the wire per poll", "B", wire_bytes, min_bytes, "lower bound (needed regs)")
    fig.row("poll duration p50", "ms", stats["p50"], wire_s * 1000, "computed RTU wire time")
    fig.row("poll duration max", "ms", stats["max"], wire_s * 1000, "computed RTU wire time")
    naive_stats = summary_ms(single.durations)
    fig.row("poll duration p50 vs one big block", "ms", stats["p50"], naive_stats["p50"],
            "single-block plan, measured")
    fig.details = {
        "polls": polls,
        "faults": faults,
        "retries": ours.retries + single.retries,
        "short_silences": ours.short_silences + single.short_silences,
        "emulator_late_ms_per_poll": round(ours.emulator_late_s * 1000, 3),
        "plan": [{"function": b.function, "start": b.start, "count": b.count} for b in meter.plan],
        "single_block_plan": [{"function": b.function, "start": b.start, "count": b.count}
                              for b in naive],
        "single_block_wire_ms": round(plan_time_s(naive, ct, 0.0) * 1000, 3),
        "single_block_bytes": sum(FRAME_BYTES + 2 * b.count for b in naive),
        "needed_registers": needed_regs,
        "char_time_ms": round(ct * 1000, 4),
        "overhead_chars_per_request": REQUEST_OVERHEAD_CHARS,
        "duration_ms": stats,
        "single_block_duration_ms": naive_stats,
        "overhead_per_request_ms": round((stats["p50"] - wire_s * 1000) / requests, 3),
        "predicted_wire_ms_with_turnaround": round(meter.predicted_wire_time_s * 1000, 3),
    }
    return fig
