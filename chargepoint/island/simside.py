"""The simulated bench inside the island process.

On a simulated station the island owns the *virtual* pins the way it owns real ones: the
bench's virtual EVs, relays (gpiozero ``MockFactory``), mains input and virtual meter live here,
in a thread of their own with an asyncio loop (the meter answers Modbus RTU on a pty, the
energy integration a task). The island's safety loop runs in the process's main thread and
reads the EV through the same ``ControlPilot`` / ``Contactor`` objects as before.

``chargepoint sim`` commands reach the bench on a unix socket of its own (``sim_socket``), one
JSON line per request and reply, so that a test or the bench can drive the EV even while the
main process is frozen (SIGSTOP): ``{"cmd": "plug", "args": {"connector": 1}}`` ->
``{"ok": true, "result": ...}`` or ``{"ok": false, "error": "..."}``. Commands: ``plug``,
``unplug``, ``ev``, ``adapter`` (an EV test adapter), ``fault``, ``power``, ``house``,
``site_fault`` (the ``[site]`` grid meter), ``preset_meter``, ``describe`` and, for the bench's
reaction figures, ``timing`` (when the EV last changed and when the island last opened).

The card reader is not here: it is not part of the safety path (the main process keeps its
``VirtualReader``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from chargepoint.island.rules import OpenReason
from hardware.interfaces import StationHardware
from hardware.pilot import GpioControlPilot, PilotDecoder
from hardware.sim.analog import HARDWARE_SPI_SAMPLE_S, CpLine
from hardware.sim.bench import SimBench

log = logging.getLogger("chargepoint.island.sim")

MAX_REQUEST = 64 * 1024


class SimHost:
    """Runs a ``SimBench`` on its own loop in a thread; serves ``sim`` commands."""

    def __init__(self, connectors: int, *, has_lock: bool, sim_socket: str,
                 sim_pilot: str = "sim") -> None:
        if sim_pilot not in ("sim", "driver"):
            raise ValueError(f"sim_pilot must be sim or driver, got {sim_pilot!r}")
        # the main process reads the virtual meter: no driver (pymodbus client) here
        self._bench = SimBench(connectors, has_lock=has_lock, meter_drivers=False)
        self._socket_path = sim_socket
        self._sim_pilot = sim_pilot
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="sim-bench",
                                        daemon=True)
        self._server: asyncio.AbstractServer | None = None
        self._clients: set[asyncio.StreamWriter] = set()
        self.changed_at: dict[int, float] = {}
        self.opened_at: dict[int, tuple[float, str, float | None]] = {}

    def start(self, timeout_s: float = 30.0) -> StationHardware:
        """Start the bench and the sim socket; return the safety devices (no meter, no
        reader). Raises what the bench raises."""
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout_s)
        hw = self._bench.hardware
        connectors = [replace(c, meter=None) for c in hw.connectors]
        if self._sim_pilot == "driver":
            connectors = [replace(c, pilot=self._driver_pilot(c.connector)) for c in connectors]
        return StationHardware(connectors=connectors, reader=None, power=hw.power)

    def _driver_pilot(self, connector: int) -> GpioControlPilot:
        """The REAL CP driver and decoder on the EV's analog line, on a simulated ADC clock
        at the hardware-SPI cost per sample: what the production debounce adds."""
        line = CpLine(self._bench.connector(connector).ev, sample_s=HARDWARE_SPI_SAMPLE_S)
        return GpioControlPilot(line, line, PilotDecoder(), clock=line.clock)

    async def _start(self) -> None:
        await self._bench.start()
        self._unlink()
        self._server = await asyncio.start_unix_server(self._serve, self._socket_path,
                                                       limit=MAX_REQUEST)

    def stop(self, timeout_s: float = 10.0) -> None:
        if not self._thread.is_alive():
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout_s)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout_s)

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._unlink()
        for writer in list(self._clients):  # their handlers end on EOF
            writer.close()
        await self._bench.stop()
        await asyncio.sleep(0)

    def _unlink(self) -> None:
        if not self._socket_path.startswith("\0"):  # an abstract socket has no file
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._socket_path)

    def on_open(self, connector: int, reason: OpenReason, at: float,
                late_s: float | None) -> None:
        """The island opened a contactor (called from the safety thread)."""
        self.opened_at[connector] = (at, reason.name, late_s)

    @property
    def meter_port(self) -> str | None:
        return self._bench.describe()["meter"]["port"]  # type: ignore[no-any-return]

    # -- the sim socket --------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._clients.add(writer)
        try:
            while line := await reader.readline():
                writer.write(json.dumps(self.dispatch(line)).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, ValueError):
            pass
        finally:
            self._clients.discard(writer)
            writer.close()

    def dispatch(self, line: bytes) -> dict[str, Any]:
        """One request line -> its reply (never raises)."""
        try:
            request = json.loads(line)
            cmd, args = str(request["cmd"]), dict(request.get("args") or {})
            return {"ok": True, "result": self._command(cmd, args)}
        except (KeyError, ValueError, TypeError) as exc:
            return {"ok": False, "error": str(exc)}

    def _command(self, cmd: str, args: dict[str, Any]) -> Any:
        bench = self._bench
        changes: dict[str, Callable[[], None]] = {
            "plug": lambda: bench.plug(int(args["connector"]),
                                       float(args.get("max_current_a", 32.0)),
                                       cable_rating_a=int(args.get("cable_rating_a", 32))),
            "unplug": lambda: bench.unplug(int(args["connector"])),
            "ev": lambda: bench.ev(int(args["connector"]), args.get("mode", "charge")),
            "adapter": lambda: bench.adapter(
                int(args["connector"]), str(args["state"]),
                None if args.get("cable_a") is None else int(args["cable_a"])),
        }
        if cmd in changes:
            changes[cmd]()
            self.changed_at[int(args["connector"])] = time.perf_counter()
            return None
        match cmd:
            case "fault":
                bench.fault(int(args["connector"]), str(args["kind"]))
            case "power":
                bench.power(args["state"])
            case "house":
                bench.house(float(args["amps"]))
            case "site_fault":
                bench.site_fault(str(args["kind"]))
            case "preset_meter":
                bench.preset_meter(int(args["connector"]), float(args["energy_wh"]))
            case "describe":
                return bench.describe()
            case "timing":
                c = int(args["connector"])
                opened = self.opened_at.get(c)
                return {"changed_at": self.changed_at.get(c),
                        "opened_at": None if opened is None else opened[0],
                        "reason": None if opened is None else opened[1],
                        "late_s": None if opened is None else opened[2]}
            case _:
                raise ValueError(f"unknown sim command {cmd!r}")
        return None
