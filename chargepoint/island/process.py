"""``python -m chargepoint.island FD``: the safety island process.

Started by the main process (``link.IslandLink.spawn``) with one end of the link as file
descriptor ``FD`` and ``(config, IslandOptions)`` pickled on stdin. It builds the safety
devices (real pins, or the simulated bench), asks for real-time scheduling, says ``hello`` and
runs ``loop.Island`` until told to stop or until the main process goes away; then it opens
every contactor, drives the pilot to state F and releases the pins.

Signals: SIGTERM stops at once (safe state); SIGINT is ignored (a Ctrl-C in a terminal reaches
the whole process group: the main process stops the station in order and then the island).
"""

from __future__ import annotations

import gc
import logging
import logging.handlers
import os
import pickle
import queue
import signal
import socket
import sys
from typing import Any

from chargepoint.island import lean_imports
from chargepoint.island.loop import Island
from chargepoint.island.rules import OpenReason
from hardware.interfaces import StationHardware

log = logging.getLogger("chargepoint.island")

# How long another thread of this process (the log writer; on the simulated bench, the
# virtual EVs and meter) may hold the GIL while the safety loop waits for it: CPython's
# default is 5 ms, a quarter of the island's whole reaction budget.
GIL_SWITCH_S = 0.0005
# Full garbage collections: never automatically (they hold the GIL while they walk every
# object), but from the safety loop while nothing is live, at most this often.
FULL_GC_EVERY_S = 60.0
NEVER = 1 << 30


def request_realtime(priority: int) -> str:
    """SCHED_FIFO at ``priority`` for this process; returns what we got, for ``hello``.

    Not permitted (no CAP_SYS_NICE, no RLIMIT_RTPRIO, a container without real-time budget):
    the island runs at normal priority, which is logged; it still runs in its own process,
    so nothing of the main process can delay it, but other load on the CPU can."""
    if priority <= 0:
        return "normal (not requested)"
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
    except (PermissionError, OSError) as exc:
        return f"normal (SCHED_FIFO refused: {exc.strerror or exc})"
    return f"SCHED_FIFO {priority}"


def _safety_hardware(config: Any, options: Any) -> tuple[StationHardware, Any, str]:
    """(devices, sim host or None, SPI kind)."""
    if config.hardware.simulate:
        lean_imports.without_tls()  # before asyncio: the bench speaks no TLS
        from chargepoint.island.simside import SimHost

        host = SimHost(config.station.connectors, has_lock=config.hardware.has_lock,
                       sim_socket=options.sim_socket, sim_pilot=options.sim_pilot)
        return host.start(), host, "sim"
    from chargepoint.hardware_factory import build_safety_hardware

    hw = build_safety_hardware(config)
    kinds = {getattr(c.pilot, "spi", "other") for c in hw.connectors}
    spi = "software" if "software" in kinds else "hardware" if "hardware" in kinds else "other"
    if spi == "software":
        log.error("island: the pilot ADC is read over SOFTWARE SPI (spidev missing?): about "
                  "ten times slower per sample; install python3-spidev and enable SPI "
                  "(dtparam=spi=on). `chargepoint selftest` fails until then.")
    return hw, None, spi


def _log_off_the_hot_path(level: str) -> logging.handlers.QueueListener:
    """Log lines go through a queue to a writer thread: a slow journal or a full stderr pipe
    can block that thread, never the safety loop."""
    lines: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    writer = logging.StreamHandler(sys.stderr)
    writer.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [logging.handlers.QueueHandler(lines)]
    root.setLevel(level.upper())
    listener = logging.handlers.QueueListener(lines, writer)
    listener.start()
    return listener


def main(argv: list[str]) -> int:
    config, options = pickle.load(sys.stdin.buffer)
    # Real-time for the whole process, before any thread starts (threads inherit it): a
    # helper thread holding the GIL at normal priority could otherwise be pushed off the CPU
    # by ordinary load while the safety loop waits for it.
    realtime = request_realtime(options.realtime_priority)
    sys.setswitchinterval(GIL_SWITCH_S)
    listener = _log_off_the_hot_path(options.log_level)
    if realtime.startswith("normal (SCHED_FIFO refused"):
        log.warning("island: real-time scheduling not permitted: running at normal priority;"
                    " see docs/architecture.md")
    try:
        return _run(argv, config, options, realtime)
    finally:
        listener.stop()


def _run(argv: list[str], config: Any, options: Any, realtime: str) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    link = socket.socket(fileno=int(argv[0]))
    try:
        hw, host, spi = _safety_hardware(config, options)
    except Exception as exc:  # tell the main process why, in one line, then go (it logs it)
        link.send(f'{{"op":"failed","reason":{_json_str(exc)}}}'.encode())
        return 1
    island = Island(hw.connectors, hw.power, link, tick_s=options.tick_s,
                    idle_tick_s=options.idle_tick_s,
                    hello={"spi": spi, "realtime": realtime, "pid": os.getpid(),
                           "sim": options.sim_socket,
                           "meter_port": None if host is None else host.meter_port},
                    on_open=None if host is None else host.on_open,
                    full_gc_every_s=FULL_GC_EVERY_S)
    signal.signal(signal.SIGTERM, lambda *_: island.request_stop(OpenReason.SHUTDOWN))
    # Everything built so far lives as long as the process: out of the collector's sight.
    # The young generations are still collected as usual (short passes over new objects).
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, NEVER)
    reason = island.run()
    log.info("island: stopped (%s): contactors open, pilot in state F", reason.value)
    if host is not None:
        host.stop()
    return 0


def _json_str(exc: BaseException) -> str:
    import json

    return json.dumps(f"{type(exc).__name__}: {exc}")
