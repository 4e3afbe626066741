"""Figure 5 under OCPP 2.0.1: CSMS request -> response of ``chargepoint run`` with
``[ocpp] version = "2.0.1"`` beside the bare ``ocpp.v201`` client (``bench.bare_client``
in 2.0.1 mode), both connected to the bench CSMS in 2.0.1 mode.

Both start, settle for ``fig_process.SETTLE_S``, get a warm-up of ``fig_process.WARMUP``
unmeasured requests of each kind, then ``fig_process.RATE`` requests/s for ``load_s``
(ours first, then bare); CSMS-side round trip per request, p50 and p99. The requests
(``REQUESTS_201``) are cheap GetVariables that both answer from memory: a controller variable
(OCPPCommCtrlr.HeartbeatInterval) and a hardware component's (EVSE 1 AvailabilityState),
the 2.0.1 counterparts of 1.6's GetConfiguration. Start-up times ride along in the details.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from bench import child
from bench.csms import Csms
from bench.fig_process import HEARTBEAT_S, RATE, SETTLE_S, _latency, _start_bare, _start_ours
from bench.report import Figure

VERSION = "2.0.1"


def _get(component: dict[str, Any], variable: str) -> dict[str, Any]:
    return {"getVariableData": [{"component": component, "variable": {"name": variable}}]}


REQUESTS_201: list[tuple[str, dict[str, Any]]] = [
    ("GetVariables", _get({"name": "OCPPCommCtrlr"}, "HeartbeatInterval")),
    ("GetVariables", _get({"name": "EVSE", "evse": {"id": 1}}, "AvailabilityState")),
]


async def run(*, workdir: Path, load_s: float) -> Figure:
    fig = Figure("request_latency_201", f"OCPP 2.0.1: CSMS request -> response at {RATE:.0f} "
                 "req/s (GetVariables: a controller's and an EVSE's variable)")
    csms = Csms(interval=HEARTBEAT_S, version=VERSION)
    await csms.start()
    procs: list[asyncio.subprocess.Process] = []
    try:
        ours, ours_s = await _start_ours(csms, workdir, "CP-RUN-201", VERSION)
        procs.append(ours)
        bare, bare_s = await _start_bare(csms, workdir, "CP-BARE-201", VERSION)
        procs.append(bare)
        await asyncio.sleep(SETTLE_S)  # let start-up work (statuses, first polls) finish
        await _latency(csms, ["CP-RUN-201", "CP-BARE-201"], load_s, fig, REQUESTS_201)
        fig.details["startup_ms"] = {"ours": round(ours_s * 1000, 1),
                                     "bare": round(bare_s * 1000, 1)}
        fig.details["csms_received"] = dict(csms.received)
    finally:
        for proc in procs:
            await child.terminate(proc)
        await csms.stop()
    return fig
