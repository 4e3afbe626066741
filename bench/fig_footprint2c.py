"""Figure: footprint of a 2-connector station, idle and with both connectors charging.

``chargepoint run`` on the simulated bench with ``connectors = 2`` (meter: every second while
busy, 60 s idle) beside the bare ``ocpp`` client, both connected to the bench CSMS. Two
windows of ``window_s`` each, after a settling pause:

- **idle**: nothing plugged;
- **charging**: both virtual EVs plugged and a card presented for each (``sim plug`` / ``sim
  tap`` over the control socket, as a technician would); both connectors report Charging
  before the window starts, and again after it (else the figure is not measured).

Per window: CPU seconds (scheduler run time of all threads of the station: main process and
safety island) scaled to a minute, wake-ups per minute (voluntary context switches), RSS and
PSS at the end. The bare client is measured in the same windows.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from bench import child
from bench.csms import Csms
from bench.fig_process import HEARTBEAT_S, SETTLE_S, _booted, _start_bare
from bench.report import Figure
from bench.station_config import write_config
from chargepoint.control.client import ControlClient

STATION = "CP-2C"
CARDS = ("B2C00001", "B2C00002")
CHARGING_TIMEOUT_S = 30.0
TAP_AGAIN_S = 5.0
BARE = "bare ocpp client"


async def _statuses(ctl: ControlClient) -> list[str]:
    status = await ctl.call("status")
    return [str(c["status"]) for c in status["connectors"]]


async def _charge(ctl: ControlClient, connector: int, card: str) -> None:
    """Plug the EV of ``connector``, present ``card``; wait until the connector charges (the
    card is presented again when no session started within ``TAP_AGAIN_S``)."""
    await ctl.call("sim", {"command": "plug", "args": {"connector": connector}})
    await ctl.call("sim", {"command": "tap", "args": {"uid": card}})
    t0 = last_tap = time.monotonic()
    while time.monotonic() - t0 < CHARGING_TIMEOUT_S:
        if (await _statuses(ctl))[connector - 1] == "Charging":
            return
        if time.monotonic() - last_tap > TAP_AGAIN_S:
            await ctl.call("sim", {"command": "tap", "args": {"uid": card}})
            last_tap = time.monotonic()
        await asyncio.sleep(0.1)
    raise RuntimeError(f"connector {connector} did not charge: {await _statuses(ctl)}")


async def _window(procs: list[asyncio.subprocess.Process], window_s: float) -> dict[str, Any]:
    """Usage of ours and bare over ``window_s``, per minute."""
    before = [child.tree_usage(p.pid) for p in procs]
    woken_before = [child.tree_wakeups(p.pid) for p in procs]
    t0 = time.monotonic()
    await asyncio.sleep(window_s)  # the window itself is what is measured
    after = [child.tree_usage(p.pid) for p in procs]
    woken_after = [child.tree_wakeups(p.pid) for p in procs]
    window = time.monotonic() - t0
    woken = [[(n - b.get(pid, n)) / window * 60 for pid, n in a.items()]
             for a, b in zip(woken_after, woken_before, strict=True)]
    return {"window_s": round(window, 2),
            "cpu_s_per_min": [(a.run_s - b.run_s) / window * 60
                              for a, b in zip(after, before, strict=True)],
            "wakeups_per_min": [sum(w) for w in woken],
            "ours_wakeups_by_process": [round(w, 1) for w in woken[0]],
            "rss_mib": [a.rss_kib / 1024 for a in after],
            "pss_mib": [a.pss_kib / 1024 for a in after],
            "processes": [a.processes for a in after]}


def _rows(fig: Figure, name: str, w: dict[str, Any]) -> None:
    for metric, unit, key in (("CPU seconds per minute", "s", "cpu_s_per_min"),
                              ("wake-ups per minute", "1/min", "wakeups_per_min"),
                              ("RSS", "MiB", "rss_mib"), ("PSS", "MiB", "pss_mib")):
        ours, bare = w[key]
        fig.row(f"{name}: {metric}", unit, ours, bare, BARE)


async def run(*, workdir: Path, window_s: float) -> Figure:
    fig = Figure("footprint_2c", "Footprint per minute: `chargepoint run` (sim, 2 connectors, "
                 "meter 1 s busy / 60 s idle), idle and both charging, vs bare ocpp client")
    csms = Csms(interval=HEARTBEAT_S)
    await csms.start()
    procs: list[asyncio.subprocess.Process] = []
    try:
        config = write_config(workdir, STATION, csms.url, connectors=2)
        t0 = time.monotonic()
        ours = await child.spawn("-m", "chargepoint", "--config", str(config), "run",
                                 log=workdir / f"{STATION}.log")
        procs.append(ours)
        await _booted(csms, ours, STATION, t0)
        bare, _ = await _start_bare(csms, workdir, "CP-2C-BARE")
        procs.append(bare)
        await asyncio.sleep(SETTLE_S)
        async with ControlClient(str(workdir / f"{STATION}.sock")) as ctl:
            idle_status = await _statuses(ctl)
            idle = await _window(procs, window_s)
            for connector, card in enumerate(CARDS, start=1):
                await _charge(ctl, connector, card)
            await asyncio.sleep(SETTLE_S)
            charging = await _window(procs, window_s)
            after = await _statuses(ctl)
            if after != ["Charging", "Charging"]:
                raise RuntimeError(f"a connector stopped charging in the window: {after}")
        _rows(fig, "idle", idle)
        _rows(fig, "charging", charging)
        fig.details = {"idle": idle, "charging": charging,
                       "statuses": {"idle": idle_status, "charging_after": after},
                       "csms_received": dict(csms.received),
                       "cpu": "schedstat run time of live threads, scaled to 60 s",
                       "whole station": "main process + safety island (all descendants)"}
    finally:
        for proc in procs:
            await child.terminate(proc)
        await csms.stop()
    return fig
