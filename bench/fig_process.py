"""Figures 2, 3 and 5: ``chargepoint run`` as a process beside the bare ``ocpp`` client.

Both connect to the bench CSMS (HeartbeatInterval ``HEARTBEAT_S``). Ours runs the simulated
bench (1 connector, SDM630 virtual meter: every second while busy, every 60 s idle).

- 3, start-up: process spawned -> its BootNotification received by the CSMS (median of
  ``starts`` starts each, ours and bare alternating).
- 2, footprint: after the last start and a settling pause, both processes idle side by side
  for ``window_s``; CPU seconds (user + system) are scaled to one minute; RSS at the end.
- 5, request handling: the CSMS sends GetConfiguration / DataTransfer at ``RATE`` per second
  for ``load_s`` to ours, then to the bare client; CSMS-side round trip per request.

Explanations, not figures: start-up details hold the interpreter's own start and the import
time of ``chargepoint.app`` (what is imported before the island is launched) and of the whole
station (``import_station_ms``); footprint details hold where an idle station spends its CPU
(``bench.idle_profile``, ``profile_s`` of cProfile in a separate run).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from pathlib import Path
from typing import Any

from bench import child
from bench.csms import Csms, LoadResult
from bench.fig_safety import REQUESTS
from bench.report import Figure
from bench.station_config import write_config
from bench.stats import summary_ms

HEARTBEAT_S = 10
RATE = 100.0
SETTLE_S = 2.0
WARMUP = 10  # unmeasured requests of each kind before the load


async def _start_ours(csms: Csms, workdir: Path, station_id: str,
                      version: str = "1.6") -> tuple[asyncio.subprocess.Process, float]:
    config = write_config(workdir, station_id, csms.url, version)
    t0 = time.monotonic()
    proc = await child.spawn("-m", "chargepoint", "--config", str(config), "run",
                             log=workdir / f"{station_id}.log")
    return proc, await _booted(csms, proc, station_id, t0)


async def _start_bare(csms: Csms, workdir: Path, station_id: str,
                      version: str = "1.6") -> tuple[asyncio.subprocess.Process, float]:
    t0 = time.monotonic()
    proc = await child.spawn("-m", "bench.bare_client", csms.url, station_id, version,
                             log=workdir / f"{station_id}.log")
    return proc, await _booted(csms, proc, station_id, t0)


async def _booted(csms: Csms, proc: asyncio.subprocess.Process, station_id: str,
                  t0: float) -> float:
    waiter = asyncio.ensure_future(csms.wait_booted(station_id, timeout=60))
    exited = asyncio.ensure_future(proc.wait())
    await asyncio.wait({waiter, exited}, return_when=asyncio.FIRST_COMPLETED)
    if not waiter.done():
        waiter.cancel()
        raise RuntimeError(f"{station_id} exited ({proc.returncode}) before booting")
    exited.cancel()
    return waiter.result() - t0


def _load_details(load: LoadResult) -> dict[str, Any]:
    return {"sent": load.sent, "answered": len(load.latencies_s), "errors": load.errors,
            "skipped": load.skipped, "unanswered": load.unanswered,
            "achieved_rate": round(load.achieved_rate, 1),
            "latency_ms": summary_ms(load.latencies_s)}


async def _import_ms(modules: str, runs: int) -> float:
    """Median time a fresh interpreter takes to ``import modules``, in ms."""
    took = []
    code = f"import time; t = time.perf_counter(); import {modules}; " \
           "print('TOOK', time.perf_counter() - t)"
    for _ in range(runs):
        proc = await child.spawn("-c", code)
        took.append(float(await child.read_line(proc, "TOOK", timeout=60)))
        await proc.wait()
    return round(statistics.median(took) * 1000, 1)


async def _idle_profile(csms: Csms, workdir: Path, seconds: float) -> dict[str, Any]:
    config = write_config(workdir, "CP-PROFILE", csms.url)
    proc = await child.spawn("-m", "bench.idle_profile", str(config), str(seconds),
                             log=workdir / "CP-PROFILE.log")
    try:
        result: dict[str, Any] = json.loads(
            await child.read_line(proc, "RESULT", timeout=60 + seconds))
    finally:
        await child.terminate(proc)
    return result


async def _startups(csms: Csms, workdir: Path, starts: int, fig: Figure) -> tuple[
        list[asyncio.subprocess.Process], list[str]]:
    """Start ours and bare ``starts`` times each (alternating); the last pair keeps running."""
    took: dict[str, list[float]] = {"ours": [], "bare": []}
    procs: list[asyncio.subprocess.Process] = []
    ids: list[str] = []
    for n in range(starts):
        for kind in ("ours", "bare"):
            sid = f"CP-{'RUN' if kind == 'ours' else 'BARE'}-{n}"
            if kind == "ours":
                proc, seconds = await _start_ours(csms, workdir, sid)
            else:
                proc, seconds = await _start_bare(csms, workdir, sid)
            took[kind].append(seconds)
            if n < starts - 1:
                await child.terminate(proc)
            else:
                procs.append(proc)
                ids.append(sid)
    ours, bare = took["ours"], took["bare"]
    fig.row("median", "ms", statistics.median(ours) * 1000, statistics.median(bare) * 1000,
            "bare ocpp client")
    fig.row("max", "ms", max(ours) * 1000, max(bare) * 1000, "bare ocpp client")
    fig.details = {"starts": starts, "ours_ms": [round(s * 1000, 1) for s in ours],
                   "bare_ms": [round(s * 1000, 1) for s in bare]}
    return procs, ids


async def _footprint(procs: list[asyncio.subprocess.Process], window_s: float,
                     fig: Figure) -> None:
    """Both processes idle side by side for ``window_s``; CPU scaled to a minute."""
    await asyncio.sleep(SETTLE_S)  # let start-up work (statuses, first polls) finish
    before = [child.tree_usage(p.pid) for p in procs]
    woken_before = [child.tree_wakeups(p.pid) for p in procs]
    t0 = time.monotonic()
    await asyncio.sleep(window_s)  # the idle window itself is what is measured
    after = [child.tree_usage(p.pid) for p in procs]
    woken_after = [child.tree_wakeups(p.pid) for p in procs]
    window = time.monotonic() - t0
    # per process of each tree (ours: main process, then the safety island), per minute
    woken = [[(n - b.get(pid, n)) / window * 60 for pid, n in a.items()]
             for a, b in zip(woken_after, woken_before, strict=True)]
    pairs = list(zip(after, before, strict=True))
    cpu = [(a.run_s - b.run_s) / window * 60 for a, b in pairs]
    fig.row("CPU seconds per idle minute", "s", cpu[0], cpu[1], "bare ocpp client")
    fig.row("wake-ups per idle minute", "1/min", sum(woken[0]), sum(woken[1]),
            "bare ocpp client")
    fig.row("RSS", "MiB", after[0].rss_kib / 1024, after[1].rss_kib / 1024, "bare ocpp client")
    fig.row("peak RSS", "MiB", after[0].hwm_kib / 1024, after[1].hwm_kib / 1024,
            "bare ocpp client")
    fig.row("PSS", "MiB", after[0].pss_kib / 1024, after[1].pss_kib / 1024, "bare ocpp client")
    fig.details = {"window_s": round(window, 2), "scaled_to_s": 60,
                   "cpu": "schedstat run time of live threads, scaled to 60 s",
                   "run_s_in_window": [round(a.run_s - b.run_s, 4) for a, b in pairs],
                   "stat_cpu_s_in_window": [round(a.cpu_s - b.cpu_s, 2) for a, b in pairs],
                   "cpu_ticks_per_s": child.CLK_TCK,
                   "rss_kib": [a.rss_kib for a, _ in pairs],
                   "wakeups_per_min": {
                       "ours_by_process": [round(w, 1) for w in woken[0]],
                       "bare": round(sum(woken[1]), 1),
                       "what": "voluntary context switches of all threads (each a sleep "
                               "ended by a wake-up); ours: main process, then the island"},
                   "processes": [a.processes for a, _ in pairs],
                   "whole station": "main process + safety island (all descendants)"}


async def _latency(csms: Csms, ids: list[str], load_s: float, fig: Figure,
                   requests: list[tuple[str, dict[str, Any]]] = REQUESTS) -> None:
    """``RATE`` requests/s for ``load_s`` to ours, then to bare (after a warm-up each). Each
    request's first answer goes into the details; a CALLERROR there raises RuntimeError (the
    figure would time error answers)."""
    results = {}
    answers: dict[str, list[Any]] = {}
    for name, sid in zip(("ours", "bare"), ids, strict=True):
        for n, (action, payload) in enumerate(requests * WARMUP):  # first calls load schemas
            _, answer = await csms.call(sid, action, payload)
            if n < len(requests):
                answers.setdefault(name, []).append(answer[2:])
                if answer[0] != 3:
                    raise RuntimeError(f"{name} answered {action} with {answer}")
        results[name] = await csms.load(sid, requests, rate=RATE, duration_s=load_s)
    ours, bare = (summary_ms(results[k].latencies_s) for k in ("ours", "bare"))
    for q in ("p50", "p99"):
        fig.row(q, "ms", ours[q], bare[q], "bare ocpp client, same requests")
    fig.details = {k: _load_details(v) for k, v in results.items()}
    fig.details["requests"] = [action for action, _ in requests]
    fig.details["first_answers"] = answers


async def run(*, workdir: Path, starts: int, window_s: float, load_s: float,
              profile_s: float) -> list[Figure]:
    """Returns the figures footprint, startup and request_latency (in that order)."""
    footprint = Figure("footprint", "Footprint per idle minute: `chargepoint run` "
                       "(sim, 1 connector, meter 1 s busy / 60 s idle) vs bare ocpp client")
    startup = Figure("startup", "Start-up: process start -> BootNotification at the CSMS")
    latency = Figure("request_latency", f"CSMS request -> response at {RATE:.0f} req/s "
                     "(GetConfiguration, DataTransfer)")
    csms = Csms(interval=HEARTBEAT_S)
    await csms.start()
    procs: list[asyncio.subprocess.Process] = []
    try:
        procs, ids = await _startups(csms, workdir, starts, startup)
        await _footprint(procs, window_s, footprint)
        await _latency(csms, ids, load_s, latency)
        for proc in procs:
            await child.terminate(proc)
        procs.clear()
        startup.details["import_app_ms"] = await _import_ms(
            "chargepoint.app, chargepoint.cli", starts)
        startup.details["import_ocpp_ms"] = await _import_ms("ocpp.v16, websockets", starts)
        # chargepoint.app imports the station only once the island is launched: this is all
        # of what a started 1.6 station imports
        startup.details["import_station_ms"] = await _import_ms(
            "chargepoint.app, chargepoint.cli, chargepoint.station_control, "
            "chargepoint.ocpp16.factory", starts)
        footprint.details["idle_profile"] = await _idle_profile(csms, workdir, profile_s)
    finally:
        for proc in procs:
            await child.terminate(proc)
        await csms.stop()
    return [footprint, startup, latency]
