"""The firmware and diagnostics services over a running OCPP adapter, for either version.

``AdapterHost(adapter, security)`` is ``chargepoint.firmware.host.FirmwareHost`` over an
adapter (``HostLink``): notifications are kept in order in memory and sent once registered
(``run_sender``, a task the adapter supervises); a CALLERROR or a timeout drops one, a lost
connection keeps it. A version renames on the wire by overriding ``wire(action, payload)``;
it says what a restart means by overriding ``restart``.

``build_managers(store, host, ...)`` makes the ``FirmwareManager`` and the
``DiagnosticsManager`` with the station's defaults (``ManagerOptions``);
``managers_from_config(store, host, config, services)`` builds them from ``[firmware]``,
``[station]``, ``[logging]`` and the station's services; ``firmware_dirs(config)`` gives the
directories of ``[firmware]``. ``boot_check(registered, firmware)`` is the trial-boot task
(``FirmwareManager.boot()`` now, ``registered()`` after the first BootNotification Accepted).
``epoch(text)`` reads a CSMS timestamp (None when absent or unreadable).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NotRequired, Protocol, TypedDict, Unpack

from chargepoint.core.events import AvailabilityChanged
from chargepoint.diagnostics.bundle import BundleSources, SecurityLogSource
from chargepoint.diagnostics.manager import DiagnosticsManager, DiagnosticsSettings
from chargepoint.diagnostics.sources import SecurityLog, default_log_provider
from chargepoint.firmware.download import TransferPolicy
from chargepoint.firmware.installer import Installer, VenvInstaller
from chargepoint.firmware.manager import FirmwareManager, FirmwareSettings, parse_time
from chargepoint.ocppj.rpc_errors import CallFailed
from chargepoint.ocppj.timestamps import Clock
from chargepoint.ports import StationPort, StationServices
from chargepoint.security.events import SecurityEvents
from chargepoint.store.api import StoreAPI
from chargepoint.store.writebehind import WriteBehind

if TYPE_CHECKING:
    from chargepoint.config.model import Config

LOG = logging.getLogger("chargepoint.ocpp")
FLUSH_BEFORE_RESTART_S = 30.0


class HostLink(Protocol):
    """What the host uses of the adapter (both versions' adapters provide it)."""

    @property
    def port(self) -> StationPort: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def registered(self) -> asyncio.Event: ...
    @property
    def offline(self) -> asyncio.Event: ...

    async def request(self, action: str, payload: dict[str, Any]) -> dict[str, Any]: ...


class AdapterHost:
    """``FirmwareHost`` over a running adapter (see the module docstring). Security events go
    to ``security`` (``chargepoint.security``, durable) when given, else to the older store-kv
    ``SecurityLog`` and a SecurityEventNotification of this queue."""

    def __init__(self, adapter: HostLink, security: SecurityEvents | None = None) -> None:
        self._adapter = adapter
        self.security = security
        self.security_log: SecurityLogSource = security or SecurityLog(
            adapter.port.store, writer=WriteBehind("security-log"))
        self._queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        self._inoperative_before: set[int] | None = None

    def wire(self, action: str, payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The message as this version sends it (the managers speak the 1.6 whitepaper)."""
        return action, payload

    def report(self, action: str, payload: dict[str, object]) -> None:
        self._queue.put_nowait(self.wire(action, dict(payload)))

    def _now_iso(self) -> str:
        now = self._adapter.clock.wall_now() or datetime.now(UTC)
        return now.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    def security_event(self, kind: str, tech_info: str) -> None:
        if self.security is not None:  # durable (chargepoint.security)
            self.security.raise_event(kind, tech_info)
            return
        at = self._now_iso()
        assert isinstance(self.security_log, SecurityLog)
        self.security_log.append(kind, tech_info, at)
        self.report("SecurityEventNotification",
                    {"type": kind, "timestamp": at, "techInfo": tech_info[:255]})

    def transactions_running(self) -> bool:
        return bool(self._adapter.port.store.open_transactions())  # from memory

    def set_operative(self, operative: bool) -> None:
        port = self._adapter.port
        if not operative:
            # from the store's memory (never waits on its lock)
            self._inoperative_before = {c for c, ok in port.store.availability().items()
                                        if not ok}
            for connector in range(1, port.connector_count + 1):
                port.submit(AvailabilityChanged(connector, False))
            return
        keep = self._inoperative_before or set()
        self._inoperative_before = None
        for connector in range(1, port.connector_count + 1):
            if connector not in keep:
                port.submit(AvailabilityChanged(connector, True))

    async def flush(self, timeout_s: float = FLUSH_BEFORE_RESTART_S) -> None:
        """Returns once every queued notification was sent or dropped (at most ``timeout_s``)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), timeout_s)

    async def restart(self) -> None:
        await self.flush()
        self._adapter.port.request_restart(False)

    async def run_sender(self) -> None:
        """The notification sender task (one CALL at a time, in order)."""
        while True:
            action, payload = await self._queue.get()
            try:
                await self._send(action, payload)
            finally:
                self._queue.task_done()

    async def _send(self, action: str, payload: dict[str, Any]) -> None:
        while True:
            await self._adapter.registered.wait()
            try:
                await self._adapter.request(action, payload)
                return
            except ConnectionError:
                await self._adapter.offline.wait()
            except (CallFailed, TimeoutError) as exc:
                LOG.warning("%s %s not confirmed: %s", action, payload.get("status"), exc)
                return


def epoch(text: str | None) -> float | None:
    """A CSMS timestamp as epoch seconds; None when absent or unreadable."""
    try:
        return parse_time(text)
    except ValueError:
        return None


async def boot_check(registered: asyncio.Event, firmware: FirmwareManager) -> None:
    """The trial-boot task: ``boot()`` now, ``registered()`` once BootNotification is
    Accepted (the health check of a freshly installed release)."""
    await firmware.boot()
    await registered.wait()
    await firmware.registered()


def firmware_dirs(config: Config) -> tuple[Path, Path, Path]:
    """(releases, work, roots) directories of ``[firmware]``; releases and work default to
    beside the ``[storage]`` database."""
    fw = config.firmware
    state_dir = Path(config.storage.path).resolve().parent
    return (Path(fw.releases_dir) if fw.releases_dir else state_dir / "releases",
            Path(fw.work_dir) if fw.work_dir else state_dir / "work",
            Path(fw.roots_dir))


class ManagerOptions(TypedDict):
    """``build_managers``'s options (the keyword arguments of the versions' set-ups too)."""

    releases_dir: Path
    work_dir: Path
    roots_dir: Path
    running_version: str
    station_id: str
    installer: NotRequired[Installer | None]
    log_file: NotRequired[str | None]
    config: NotRequired[Callable[[], dict[str, Any]] | None]
    selftest: NotRequired[Callable[[], Awaitable[dict[str, Any]]] | None]
    health_timeout_s: NotRequired[float]
    policy: NotRequired[TransferPolicy | None]
    allow_unsigned: NotRequired[bool]


def build_managers(store: StoreAPI, host: AdapterHost,
                   **options: Unpack[ManagerOptions]) -> tuple[FirmwareManager, DiagnosticsManager]:
    """Both managers with defaults: ``installer`` defaults to ``VenvInstaller()``;
    ``log_file`` None uses journald when available; ``allow_unsigned`` (lab setting) lets
    requests without signature install releases; ``health_timeout_s`` 600 s; the security
    log is ``host.security_log``."""
    o = options
    policy = o.get("policy")
    pol = policy or TransferPolicy()
    firmware = FirmwareManager(store, host, FirmwareSettings(
        releases_dir=o["releases_dir"], work_dir=o["work_dir"] / "firmware",
        roots_dir=o["roots_dir"], running_version=o["running_version"],
        health_timeout_s=o.get("health_timeout_s", 600.0), policy=pol,
        allow_unsigned=o.get("allow_unsigned", False)),
        o.get("installer") or VenvInstaller())
    sources = BundleSources(store, o["station_id"], default_log_provider(o.get("log_file")),
                            o.get("config"), o.get("selftest"), host.security_log)
    diagnostics = DiagnosticsManager(host, sources, DiagnosticsSettings(
        o["work_dir"] / "diagnostics", policy=pol))
    return firmware, diagnostics


def managers_from_config(store: StoreAPI, host: AdapterHost, config: Config,
                         services: StationServices) -> tuple[FirmwareManager, DiagnosticsManager]:
    """``build_managers`` from ``[firmware]``, ``[station]``, ``[logging]`` and the station's
    services (installer, configuration dump, self-test, diagnostics extras)."""
    releases_dir, work_dir, roots_dir = firmware_dirs(config)
    fw = config.firmware
    firmware, diagnostics = build_managers(
        store, host, releases_dir=releases_dir, work_dir=work_dir, roots_dir=roots_dir,
        running_version=config.station.firmware_version, station_id=config.station.id,
        installer=services.firmware_installer, log_file=config.logging.file,
        config=services.config_dump, selftest=services.selftest,
        health_timeout_s=fw.health_timeout_s, allow_unsigned=fw.allow_unsigned)
    diagnostics.sources.extra.update(services.diagnostics_extras)
    return firmware, diagnostics
