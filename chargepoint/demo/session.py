"""The demo scenario: a local CSMS, a simulated station, one charging session end to end.

Every step awaits the OCPP message that proves it happened (no fixed sleeps), except the few
seconds of charging.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from chargepoint.config import Config, load_config
from chargepoint.demo.server import CsmsServer
from chargepoint.demo.timeline import TO_CP, TO_CSMS, Entry, Timeline, format_summary

STATION_ID = "DEMO-CP-1"
CARD_UID = "04A1B2C3D4E5F6"
EV_MAX_CURRENT_A = 16.0
STEP_TIMEOUT_S = 30.0

CONFIG_TEMPLATE = """\
# Written by `chargepoint demo`: a simulated station talking to the demo's local CSMS.
[station]
id = "{station_id}"
vendor = "chargepoint"
model = "Demo"
connectors = 1

[ocpp]
version = "{version}"
url = "{url}"
reconnect_min_s = 0.2
reconnect_max_s = 2.0
response_timeout_s = 10.0
{sampling}
[storage]
path = "{dir}/state.db"

[control]
socket = "{dir}/control.sock"

[logging]
level = "warning"

[hardware]
simulate = true
"""


# Meter samples every second during the transaction, energy and power, in each version's terms
SAMPLING = {
    "1.6": """
[ocpp.config]
MeterValueSampleInterval = 1
MeterValuesSampledData = ["Energy.Active.Import.Register", "Power.Active.Import"]
""",
    "2.0.1": """
[ocpp.variables]
"SampledDataCtrlr.TxUpdatedInterval" = 1
"SampledDataCtrlr.TxUpdatedMeasurands" = "Energy.Active.Import.Register,Power.Active.Import"
""",
}
VERSIONS = tuple(SAMPLING)


def write_config(directory: Path, url: str, version: str = "1.6") -> Path:
    """The demo station's config file in ``directory`` (kept with ``--keep`` for the CLI)."""
    path = directory / "chargepoint.toml"
    path.write_text(CONFIG_TEMPLATE.format(station_id=STATION_ID, url=url, dir=directory,
                                           version=version, sampling=SAMPLING[version]))
    return path


def _call(action: str, **fields: Any) -> Callable[[Entry], bool]:
    def match(e: Entry) -> bool:
        return (e.direction == TO_CSMS and e.kind == "call" and e.action == action
                and all(e.payload.get(k) == v for k, v in fields.items()))
    return match


def _result(action: str) -> Callable[[Entry], bool]:
    return lambda e: e.direction == TO_CP and e.kind == "result" and e.action == action


async def _step(tl: Timeline, predicate: Callable[[Entry], bool], what: str,
                since: int = 0) -> Entry:
    """Await the frame ``predicate`` matches; for a call, also the CSMS's answer to it."""
    entry = await tl.wait_for(predicate, STEP_TIMEOUT_S, since=since, what=what)
    if entry.kind == "call":
        await tl.wait_for(lambda e: e.direction == TO_CP and e.unique_id == entry.unique_id,
                          STEP_TIMEOUT_S, since=since, what=f"answer to {what}")
    return entry


async def run_session(station: Any, tl: Timeline, charge_s: float) -> None:
    """Drive one session on connector 1 of a started ``RunningStation`` with a bench."""
    bench = station.bench
    await _step(tl, _result("BootNotification"), "BootNotification.conf")
    await _step(tl, _call("StatusNotification", connectorId=1, status="Available"),
                "StatusNotification Available")
    mark = len(tl.entries)
    tl.note(f"EV plugged in at connector 1 (draws up to {EV_MAX_CURRENT_A:g} A)")
    bench.plug(1, EV_MAX_CURRENT_A)
    await _step(tl, _call("StatusNotification", connectorId=1, status="Preparing"),
                "StatusNotification Preparing", mark)
    mark = len(tl.entries)
    tl.note(f"card {CARD_UID} presented to the reader")
    bench.tap(CARD_UID)
    await _step(tl, _result("StartTransaction"), "StartTransaction.conf", mark)
    await _step(tl, _call("StatusNotification", connectorId=1, status="Charging"),
                "StatusNotification Charging", mark)
    mark = len(tl.entries)
    tl.note(f"charging for {charge_s:g} s")
    await asyncio.sleep(charge_s)  # the only fixed wait: energy has to flow for a while
    await _step(tl, _call("MeterValues"), "MeterValues", mark)
    mark = len(tl.entries)
    tl.note(f"card {CARD_UID} presented again to stop")
    bench.tap(CARD_UID)
    await _step(tl, _result("StopTransaction"), "StopTransaction.conf", mark)
    mark = len(tl.entries)
    tl.note("EV unplugged")
    bench.unplug(1)
    await _step(tl, _call("StatusNotification", connectorId=1, status="Available"),
                "StatusNotification Available", mark)


async def run_session_201(station: Any, tl: Timeline, charge_s: float) -> None:
    """``run_session`` under OCPP 2.0.1: EVSE 1 (connector 1), TransactionEvent messages."""
    bench = station.bench
    await _step(tl, _result("BootNotification"), "BootNotification response")
    await _step(tl, _call("StatusNotification", evseId=1, connectorStatus="Available"),
                "StatusNotification Available")
    mark = len(tl.entries)
    tl.note(f"EV plugged in at EVSE 1 (draws up to {EV_MAX_CURRENT_A:g} A)")
    bench.plug(1, EV_MAX_CURRENT_A)
    await _step(tl, _call("StatusNotification", evseId=1, connectorStatus="Occupied"),
                "StatusNotification Occupied", mark)
    plugged = mark = len(tl.entries)
    tl.note(f"card {CARD_UID} presented to the reader")
    bench.tap(CARD_UID)
    await _step(tl, _result("Authorize"), "Authorize response", mark)
    # TxStartPoint may start the transaction at the plug already: look from there
    await _step(tl, _call("TransactionEvent", eventType="Started"), "TransactionEvent Started",
                plugged)
    mark = len(tl.entries)
    tl.note(f"charging for {charge_s:g} s")
    await asyncio.sleep(charge_s)  # the only fixed wait: energy has to flow for a while
    await _step(tl, _call("TransactionEvent", eventType="Updated"), "TransactionEvent Updated",
                mark)
    mark = len(tl.entries)
    tl.note(f"card {CARD_UID} presented again to stop")
    bench.tap(CARD_UID)
    await _step(tl, _call("TransactionEvent", eventType="Ended"), "TransactionEvent Ended", mark)
    mark = len(tl.entries)
    tl.note("EV unplugged")
    bench.unplug(1)
    await _step(tl, _call("StatusNotification", evseId=1, connectorStatus="Available"),
                "StatusNotification Available", mark)


async def _wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def demo(out: TextIO, *, keep: bool = False, charge_s: float = 4.0,
               start_station: Callable[[Config], Any] | None = None,
               stop: asyncio.Event | None = None, version: str = "1.6") -> int:
    """Run the demo, printing to ``out``; 0 when the session completed, 1 otherwise.

    ``version`` is the OCPP version of the CSMS and the station ("1.6" or "2.0.1").
    ``start_station`` defaults to ``chargepoint.app.start_station``. With ``keep`` the demo
    then runs until SIGINT / SIGTERM (or until ``stop`` is set, for tests).
    """
    if version not in VERSIONS:
        raise ValueError(f"OCPP version {version!r}: the demo speaks {', '.join(VERSIONS)}")
    if start_station is None:
        from chargepoint.app import start_station as default_start

        start_station = default_start
    directory = Path(tempfile.mkdtemp(prefix="chargepoint-demo-"))
    tl = Timeline(out)
    try:
        csms_class = _csms_class(version)
        session = run_session_201 if version == "2.0.1" else run_session
        async with csms_class(tl) as csms:
            config_path = write_config(directory, csms.url, version)
            config = load_config(config_path)
            out.write(f"chargepoint demo: OCPP {version} CSMS at {csms.url}, station "
                      f"{STATION_ID} (simulated hardware)\n\n")
            out.flush()
            station = await start_station(config)
            try:  # the station stops first, while the CSMS can still hear its last messages
                try:
                    await session(station, tl, charge_s)
                except TimeoutError as exc:
                    out.write(f"\ndemo failed: {exc}\n")
                    return 1
                out.write("\n" + format_summary(tl.summary()) + "\n")
                if keep:
                    out.write(_keep_text(config_path, config))
                    out.flush()
                    await (stop.wait() if stop is not None else _wait_for_signal())
                return 0
            finally:
                await station.stop()
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(directory)


def _csms_class(version: str) -> type[CsmsServer]:
    """The demo CSMS of ``version``; only that version's ``ocpp`` classes are imported."""
    if version == "2.0.1":
        from chargepoint.demo.csms201 import DemoCsms201

        return DemoCsms201
    from chargepoint.demo.csms import DemoCsms

    return DemoCsms


def _keep_text(config_path: Path, config: Config) -> str:
    cli = f"chargepoint --config {config_path}"
    return (f"\nThe CSMS and the station keep running (control socket {config.control.socket})."
            f"\nTry, in another terminal:\n"
            f"  {cli} status\n"
            f"  {cli} sim plug 1\n"
            f"  {cli} sim tap {CARD_UID}\n"
            f"  {cli} meter --watch\n"
            f"  {cli} sim tap {CARD_UID}; {cli} sim unplug 1\n"
            f"  {cli} logs --since \"10 min ago\"\n"
            f"  {cli} commission --non-interactive\n"
            f"Ctrl-C stops the demo and removes {config_path.parent}.\n")
