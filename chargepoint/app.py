"""Wires hardware, core, store and OCPP into one asyncio program.

- ``start_station(config)`` builds and starts everything and returns a ``RunningStation``
  (used by ``chargepoint run``, ``chargepoint demo`` and the full-stack tests).
- ``run(config)`` is ``chargepoint run``: start, tell systemd we are ready, keep STATUS and the
  watchdog current, stop cleanly on SIGTERM / SIGINT, restart on an OCPP Reset.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chargepoint import systemd
from chargepoint.aio import cancel_all
from chargepoint.config import Config, MeterConfig
from chargepoint.config.secrets import exposed_secrets
from chargepoint.island.link import IslandLink, IslandLost, IslandOptions
from chargepoint.logbuffer import LogBuffer
from chargepoint.protocols import package
from chargepoint.store import writebehind
from chargepoint.store.db import Store
from chargepoint.store.errors import StoreError
from chargepoint.store.recovery import SECURITY_EVENT, Opened, open_store

# Only what the station needs until its safety island is launched is imported with this module;
# the rest (core, runtime, protocol adapter ...) is imported by ``start_station`` while the
# island's interpreter starts on the other CPU (start-up time: the island is on the critical
# path, ``tests/app/test_app_lazy_imports.py`` checks it).
if TYPE_CHECKING:
    from chargepoint.control.server import ControlServer
    from chargepoint.firmware.installer import Installer
    from chargepoint.island.simclient import SimClient
    from chargepoint.ports import ProtocolAdapter
    from chargepoint.runtime import Controller
    from chargepoint.security.events import SecurityEvents
    from chargepoint.site import SiteManager
    from chargepoint.storage_fault import StorageFault
    from hardware.interfaces import EnergyMeter, StationHardware

log = logging.getLogger("chargepoint.app")

WATCHDOG_STALL_S = 2.0  # the control loop may be this late, at most, for WATCHDOG=1
STATUS_REFRESH_S = 5.0  # STATUS= looks at the CSMS link and queue at least this often


class StationStartError(RuntimeError):
    """The station cannot start (store or hardware missing); ``str()`` is the one-line why."""


@dataclass(slots=True)
class RunningStation:
    """Everything of one running station. ``stop()`` once when done."""

    config: Config
    store: Store
    controller: Controller
    adapter: ProtocolAdapter
    island: IslandLink
    bench: SimClient | None
    control: ControlServer | None
    logs: LogBuffer
    storage_fault: StorageFault | None = None
    site: SiteManager | None = None  # [site] local load management
    security_events: SecurityEvents | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _stopped: bool = False

    async def status(self) -> dict[str, Any]:
        """The ``chargepoint status --json`` document."""
        from chargepoint.station_control import StationControl

        return await StationControl(self).status()

    def healthy(self) -> bool:
        """The safety island is there, the control loop is not late (it sleeps up to 5 s
        while no contactor is closed) and the protocol tasks run (gates the systemd watchdog:
        a station that lost its OCPP side is restarted, not left mute)."""
        return (self.island.healthy()
                and time.monotonic() - self.controller.due_by < WATCHDOG_STALL_S
                and all(not task.done() for task in self.tasks)
                and self.adapter.healthy())

    def summary_line(self) -> str:
        """STATUS= text for systemd, e.g. "CSMS connected · 1 Charging"."""
        link = self.adapter.link_state()
        counts: dict[str, int] = {}
        for conn in self.controller.station.snapshot().connectors:
            counts[conn.status.value] = counts.get(conn.status.value, 0) + 1
        parts = ["CSMS connected" if link.connected else "CSMS offline"]
        parts += [f"{n} {status}" for status, n in sorted(counts.items())]
        if link.queued:
            parts.append(f"{link.queued} queued")
        return " · ".join(parts)

    async def stop(self, *, hard: bool = False) -> None:
        """Stop sessions safely (PWM off, wait for B, open), persist, then close everything."""
        if self._stopped:
            return
        self._stopped = True
        if self.controller.restart and self.security_events is not None:  # sent after it
            from chargepoint.security.events import RESET_OR_REBOOT

            self.security_events.raise_event(RESET_OR_REBOOT, f"{self.controller.restart} reset")
        if self.control is not None:
            await self.control.close()
        await self.controller.stop(safe_stop_timeout_s=0.0 if hard else 4.0)
        await self._drain()
        await self.adapter.close()
        await cancel_all(self.tasks)
        await self.island.close()
        if self.bench is not None:
            await self.bench.stop()
        await asyncio.to_thread(writebehind.flush_all, 10.0)  # handed-over writes land first
        await asyncio.to_thread(self.store.close)
        self.logs.detach()

    async def _drain(self, persist_s: float = 3.0, send_s: float = 2.0) -> None:
        """Let the adapter persist the stopped transactions (always) and, while the CSMS is
        connected, send what is queued; whatever is left is sent after the restart."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + persist_s
        while loop.time() < deadline:
            if not await asyncio.to_thread(self.store.open_transactions):
                break
            await asyncio.sleep(0.02)
        deadline = loop.time() + send_s
        while loop.time() < deadline and self.adapter.link_state().connected:
            if await asyncio.to_thread(self.store.queue_length) == 0:
                break
            await asyncio.sleep(0.02)


def _firmware_installer(config: Config, installer: Installer | None) -> Installer:
    """The installer ``[firmware] installer`` selects (``installer``: the tests' own)."""
    from chargepoint.firmware.installer import OsUpdaterInstaller, VenvInstaller

    if installer is not None:
        return installer
    fw = config.firmware
    if fw.installer == "command":
        return OsUpdaterInstaller(command=list(fw.install_command))
    return VenvInstaller()


def security_dir(config: Config) -> Path:
    """Where the security log, the installed CSMS roots and the station's keys live."""
    return Path(config.storage.path).resolve().parent / "security"


def island_options(config: Config, tick_s: float | None = None) -> IslandOptions:
    """What the island process needs besides the config (``[hardware.island]``)."""
    cfg = config.hardware.island
    sim_socket = None
    if config.hardware.simulate:  # abstract socket: no path length limit, nothing to clean up
        sim_socket = f"\0chargepoint-sim-{os.getpid()}-{id(config):x}-{time.monotonic_ns()}"
    return IslandOptions(
        tick_s=cfg.tick_ms / 1000.0 if tick_s is None else tick_s,
        idle_tick_s=cfg.idle_tick_ms / 1000.0,
        realtime_priority=cfg.priority(config.hardware.simulate),
        sim_socket=sim_socket,
        sim_pilot=cfg.sim_pilot,
        log_level=config.logging.level,
    )


async def _build_hardware(
    config: Config, store: Store, island: IslandLink
) -> tuple[StationHardware, SimClient | None]:
    """The station's devices: the island's proxies plus meters and reader of this process."""
    if config.hardware.simulate:  # only what this station runs on is imported
        from chargepoint.island.simclient import SimClient
        from hardware.sim.meter_rig import MeterRig
        from hardware.sim.reader import VirtualReader

        bench = SimClient(str(island.hello["sim"]), VirtualReader(), island.pid)
        meters: dict[int, EnergyMeter | None] = {}
        port = island.hello.get("meter_port")
        if port:
            units = list(range(1, config.station.connectors + 1))
            model = (await asyncio.to_thread(bench.describe))["meter"]["model"]
            meters.update(MeterRig.drivers(str(port), str(model), units)[1])
            for connector in units:
                last = await asyncio.to_thread(store.last_meter_reading, connector)
                if last is not None:
                    await asyncio.to_thread(bench.preset_meter, connector, last[0])
        return island.hardware(meters, bench.reader), bench
    from chargepoint.hardware_factory import build_meters, build_reader

    meters = await asyncio.to_thread(build_meters, config)
    reader = await asyncio.to_thread(build_reader, config)
    return island.hardware(meters, reader), None


def _commissioning_report(config: Config) -> dict[str, Any] | None:
    """The latest commissioning report, for a diagnostics bundle (the commission desk is
    imported only when a bundle is made)."""
    from chargepoint.commission.desk import latest_report

    return latest_report(config)


def _record_moved_aside(opened: Opened, directory: Path) -> None:
    """A damaged store was replaced: the security log says so (GetLog SecurityLog)."""
    if opened.moved_aside is None:
        return
    from chargepoint.security.seclog import SecurityLogFile

    at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    SecurityLogFile(directory).append(
        SECURITY_EVENT, f"damaged store moved aside to {opened.moved_aside}: {opened.damage}"[:255],
        at)


async def start_station(
    config: Config,
    *,
    control_socket: bool = True,
    tick_s: float = 0.01,
    idle_tick_s: float = 0.1,
    firmware_installer: Installer | None = None,
    island_tick_s: float | None = None,
) -> RunningStation:
    """Build and start a station from ``config``; returns once hardware and store are up
    (the CSMS connection is made in the background). ``firmware_installer`` replaces the
    one ``[firmware] installer`` selects (tests)."""
    protocol = package(config.ocpp.version)  # UnsupportedVersion (a ValueError) at once
    logs = LogBuffer.attach()
    try:
        opened = await asyncio.to_thread(open_store, config.storage.path)
    except (OSError, StoreError) as exc:
        logs.detach()
        raise StationStartError(f"store {config.storage.path}: {exc}") from exc
    # The island now: its interpreter starts and imports on the other CPU while this process
    # imports the station and sets the protocol up (start-up time); it is awaited after.
    try:
        island = await IslandLink.launch(config, island_options(config, island_tick_s),
                                         lease_s=config.hardware.island.lease_s)
    except BaseException as exc:
        await asyncio.to_thread(opened.store.close)
        logs.detach()
        if isinstance(exc, OSError):
            raise StationStartError(f"hardware: {exc}") from exc
        raise
    store = opened.store
    try:  # the station's modules: see the note on the imports above
        from chargepoint.control.server import ControlServer
        from chargepoint.core.settings import StationWiring, build_settings
        from chargepoint.core.station import Station
        from chargepoint.core.types import FaultKind
        from chargepoint.ports import StationServices
        from chargepoint.runtime import Controller
        from chargepoint.security.events import SecurityEvents
        from chargepoint.security.seclog import SecurityLogFile
        from chargepoint.site.setup import start_site
        from chargepoint.station_control import StationControl
        from chargepoint.storage_fault import StorageFault

        await asyncio.to_thread(_record_moved_aside, opened, security_dir(config))
        # reads the store (not on the loop); imports the protocol's adapter while the
        # island is still starting
        setup = await protocol.setup(config, store)
    except BaseException:
        await island.close()
        await asyncio.to_thread(store.close)
        logs.detach()
        raise
    try:
        await island.ready(config.station.connectors)
        hardware, bench = await _build_hardware(config, store, island)
    except BaseException as exc:
        await island.close()
        await asyncio.to_thread(store.close)
        logs.detach()
        if isinstance(exc, OSError | ValueError | IslandLost):  # absent device, bad pin ...
            raise StationStartError(f"hardware: {exc}") from exc
        raise
    settings = build_settings(setup.protocol_settings(), StationWiring(
        has_lock=config.hardware.has_lock, max_current_a=config.station.max_current_a,
        free_vend_id_tag=config.charging.free_vend_tag()))
    operative = await asyncio.to_thread(store.availability)
    latched = [
        (connector, FaultKind(kind))
        for connector, kind in await asyncio.to_thread(store.latched_faults)
        if kind in {k.value for k in FaultKind}
    ]
    station = Station(
        config.station.connectors,
        settings,
        now=time.monotonic(),
        operative=operative,
        latched_faults=latched,
    )
    polling = config.hardware.meter or MeterConfig()  # the simulated bench: the defaults
    controller = Controller(
        station=station,
        hardware=hardware,
        store=store,
        tick_s=tick_s,
        idle_tick_s=idle_tick_s,
        meter_interval_s=polling.poll_interval_s,
        idle_meter_interval_s=polling.idle_poll_interval_s,
        pushed=True,  # the island pushes pin and mains changes
    )

    def island_said(m: dict[str, Any]) -> None:
        if m["op"] == "state":
            controller.hardware_changed(int(m["c"]))
        elif m["op"] == "power":
            controller.wake()

    island.listeners.append(island_said)
    running: RunningStation | None = None

    async def selftest() -> dict[str, Any]:
        assert running is not None  # the adapter runs only after start_station returned
        return await StationControl(running).selftest()

    meter = next((c.meter for c in hardware.connectors if c.meter is not None), None)
    security_events = SecurityEvents(SecurityLogFile(security_dir(config)))
    adapter = await setup.build(controller, StationServices(
        meter_model=meter.model if meter is not None else None,
        firmware_installer=_firmware_installer(config, firmware_installer),
        selftest=selftest,
        config_dump=lambda: dataclasses.asdict(config),
        diagnostics_extras={"commissioning": lambda: _commissioning_report(config)},
        security_events=security_events,
        security_dir=security_dir(config),
    ))
    controller.attach(adapter)
    running = RunningStation(
        config=config,
        store=store,
        controller=controller,
        adapter=adapter,
        island=island,
        bench=bench,
        control=None,
        logs=logs,
        security_events=security_events,
    )
    running.storage_fault = StorageFault(store, controller.submit)
    running.tasks.append(asyncio.create_task(controller.run(), name="controller"))
    running.tasks.append(asyncio.create_task(running.storage_fault.run(), name="storage-fault"))
    running.tasks.append(asyncio.create_task(adapter.run(), name="ocpp"))
    running.site = await start_site(running)
    if control_socket:
        Path(config.control.socket).parent.mkdir(parents=True, exist_ok=True)
        running.control = ControlServer(
            config.control.socket, StationControl(running), group=config.control.group,
            technician_group=config.control.technician_group,
        )
        await running.control.start()
    return running


async def _serve(config: Config) -> str | None:
    """Run until a signal or a Reset; returns "soft"/"hard" when a restart was asked for."""
    running = await start_station(config)
    for warning in exposed_secrets(config):
        log.warning("%s", warning)
    systemd.ready(f"started {config.station.id}")
    log.info("station %s running (%d connector(s))", config.station.id,
             config.station.connectors)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    watchdog = asyncio.create_task(systemd.run_watchdog(running.healthy))
    status = asyncio.create_task(_status_loop(running))
    restart = asyncio.create_task(running.controller.restart_requested.wait())
    stopped = asyncio.create_task(stop.wait())
    island_lost = asyncio.create_task(running.island.lost.wait())
    await asyncio.wait({restart, stopped, island_lost}, return_when=asyncio.FIRST_COMPLETED)
    systemd.stopping()
    if island_lost.done() and not running.controller.restart:
        from chargepoint.core.events import StopRequested
        from chargepoint.core.types import StopReason

        # Nothing can switch the pins now; a fresh process starts a fresh island, whose
        # first act is to drive every output safe. Restart at once, not at the watchdog.
        log.critical("restarting: the safety island is gone")
        running.controller.submit(StopRequested(0, StopReason.OTHER))
        running.controller.restart = "hard"
    reason = running.controller.restart
    log.info("stopping (%s)", f"{reason} reset" if reason else "signal")
    await running.stop(hard=reason == "hard")
    for task in (watchdog, status, restart, stopped, island_lost):
        task.cancel()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.remove_signal_handler(sig)
    return reason


async def _status_loop(running: RunningStation) -> None:
    """systemd's STATUS= line, sent when it changed: looked at after every core event (the
    connector statuses) and every ``STATUS_REFRESH_S`` (the CSMS link and the queue, which no
    core event announces). Without a service manager nobody reads it: nothing runs."""
    if not systemd.notifying():
        return
    changed = asyncio.Event()
    stop = running.controller.observe(lambda _item: changed.set())
    last = ""
    try:
        while True:
            changed.clear()
            text = running.summary_line()
            if text != last:
                systemd.status(text)
                last = text
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), STATUS_REFRESH_S)
    finally:
        stop()


def run(config: Config) -> int:
    """``chargepoint run``: serve until SIGTERM; on an OCPP Reset, restart the process
    (under systemd by exiting so that ``Restart=always`` starts us again, in the foreground by
    re-executing ourselves)."""
    try:
        restart = asyncio.run(_serve(config))
    except StationStartError as exc:
        log.error("cannot start: %s", exc)  # one line for the journal, no traceback
        return 1
    if restart is None:
        return 0
    if systemd.under_systemd():
        return 0  # Restart=always starts a fresh process
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "chargepoint", *sys.argv[1:]])
