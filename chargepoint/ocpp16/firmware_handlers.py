"""OCPP 1.6 FirmwareManagement + security whitepaper handlers: UpdateFirmware, GetDiagnostics,
SignedUpdateFirmware, GetLog; the notifications they cause; the trial-boot health check.

Plug-in (no change to ``adapter.py`` needed)::

    fw = FirmwareManager(store, host, settings, installer)
    diag = DiagnosticsManager(host, sources, diag_settings)
    handlers = attach(adapter, fw, diag, host)  # in the running loop, before adapter.run()

where ``host = AdapterHost(adapter)`` is built first (the managers report through it).
``attach`` registers the ``@on`` handlers, points the adapter's TriggerMessage hooks
(``hooks.firmware_status`` / ``hooks.diagnostics_status``) at the managers, and starts two
tasks owned by the adapter: the ordered notification sender and the boot check
(``FirmwareManager.boot()`` now, ``registered()`` once BootNotification is Accepted:
that is the health check of a freshly installed release).

Follow-ups start in ``@after`` (the .conf must reach the CSMS before the first status
notification, and ``call()`` inside ``@on`` would deadlock the library).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from ocpp.v16 import call_result  # type: ignore[import-untyped]

from chargepoint.core.events import AvailabilityChanged
from chargepoint.diagnostics.bundle import BundleSources, SecurityLogSource
from chargepoint.diagnostics.manager import DiagnosticsManager, DiagnosticsSettings
from chargepoint.diagnostics.sources import SecurityLog, default_log_provider
from chargepoint.firmware.download import TransferPolicy
from chargepoint.firmware.installer import Installer, VenvInstaller
from chargepoint.firmware.manager import (
    FirmwareManager,
    FirmwareSettings,
    UpdateRequest,
    parse_time,
)
from chargepoint.ocpp16.client import CallFailed, after, on
from chargepoint.ocpp16.handlers_core import Hooks
from chargepoint.ocppj.bounds import clamp_transfer
from chargepoint.ocppj.timestamps import Clock
from chargepoint.ports import StationPort
from chargepoint.security.events import SecurityEvents
from chargepoint.store.api import StoreAPI
from chargepoint.store.writebehind import WriteBehind

LOG = logging.getLogger("chargepoint.ocpp")
_FLUSH_BEFORE_RESTART_S = 30.0
# FirmwareStatusNotification (1.6 core) knows fewer statuses than the signed variant.
_CORE_STATUS = {"DownloadScheduled": "Idle", "DownloadPaused": "Downloading",
                "SignatureVerified": "Downloaded", "InstallScheduled": "Downloaded",
                "InstallRebooting": "Installing", "InvalidSignature": "Idle",
                "InstallVerificationFailed": "InstallationFailed"}


class FirmwareServices(Protocol):
    """What the firmware handlers use of the adapter (``Ocpp16Adapter`` provides it)."""

    @property
    def store(self) -> StoreAPI: ...
    @property
    def port(self) -> StationPort: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def hooks(self) -> Hooks: ...
    @property
    def registered(self) -> asyncio.Event: ...
    @property
    def offline(self) -> asyncio.Event: ...

    async def request(self, action: str, payload: dict[str, Any]) -> dict[str, Any]: ...

    def add_handlers(self, *handlers: object) -> None: ...

    def supervise(self, name: str, factory: Callable[[], Awaitable[None]]) -> None: ...

    def spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]: ...


class AdapterHost:
    """``chargepoint.firmware.host.FirmwareHost`` over a running ``Ocpp16Adapter``.

    Notifications are kept in order in memory and sent once registered (a CALLERROR or a
    timeout drops one, a lost connection keeps it). Security events also go to the
    persistent ``SecurityLog`` (store kv) served by GetLog SecurityLog.
    """

    def __init__(self, adapter: FirmwareServices, security: SecurityEvents | None = None) -> None:
        self._adapter = adapter
        self.security = security  # None: the older store-kv log and an in-memory notification
        self.security_log: SecurityLogSource = security or SecurityLog(
            adapter.store, writer=WriteBehind("security-log"))
        self._queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        self._inoperative_before: set[int] | None = None

    def report(self, action: str, payload: dict[str, object]) -> None:
        self._queue.put_nowait((action, dict(payload)))

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
        return bool(self._adapter.store.open_transactions())

    def set_operative(self, operative: bool) -> None:
        port = self._adapter.port
        if not operative:
            # from the store's memory (never waits on its lock)
            self._inoperative_before = {c for c, ok in self._adapter.store.availability().items()
                                        if not ok}
            for connector in range(1, port.connector_count + 1):
                port.submit(AvailabilityChanged(connector, False))
            return
        keep = self._inoperative_before or set()
        self._inoperative_before = None
        for connector in range(1, port.connector_count + 1):
            if connector not in keep:
                port.submit(AvailabilityChanged(connector, True))

    async def restart(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), _FLUSH_BEFORE_RESTART_S)
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


def _epoch(text: str | None) -> float | None:
    try:
        return parse_time(text)
    except ValueError:
        return None


class FirmwareHandlers:
    def __init__(self, firmware: FirmwareManager, diagnostics: DiagnosticsManager) -> None:
        self.firmware = firmware
        self.diagnostics = diagnostics
        self.host: AdapterHost | None = None  # set by ``attach``

    # -- FirmwareManagement profile (1.6 sections 5.9 GetDiagnostics, 5.19 UpdateFirmware)
    # UpdateFirmware carries no signature: unless allow_unsigned, the manager refuses it
    # (the .conf has no status; the refusal is a FirmwareStatusNotification InstallationFailed).
    @on("UpdateFirmware")
    def on_update_firmware(self, location: str, retrieve_date: str, retries: int | None = None,
                           retry_interval: int | None = None,
                           **_: Any) -> call_result.UpdateFirmware:
        retrieve_at = _epoch(retrieve_date)
        attempts, interval = clamp_transfer("UpdateFirmware", retries, retry_interval)
        if retrieve_at is not None:
            self.firmware.start(UpdateRequest(location, retrieve_at, attempts, interval))
        else:
            LOG.error("UpdateFirmware with an unreadable retrieveDate %r", retrieve_date)
        return call_result.UpdateFirmware()

    @after("UpdateFirmware")
    def after_update_firmware(self, **_: Any) -> None:
        self.firmware.launch()

    @on("GetDiagnostics")
    def on_get_diagnostics(self, location: str, retries: int | None = None,
                           retry_interval: int | None = None, start_time: str | None = None,
                           stop_time: str | None = None,
                           **_: Any) -> call_result.GetDiagnostics:
        attempts, interval = clamp_transfer("GetDiagnostics", retries, retry_interval)
        name = self.diagnostics.get_diagnostics(location, attempts, interval,
                                                _epoch(start_time), _epoch(stop_time))
        return call_result.GetDiagnostics(file_name=name)

    @after("GetDiagnostics")
    def after_get_diagnostics(self, **_: Any) -> None:
        self.diagnostics.launch()

    # -- Security whitepaper: signed firmware (use case L01) and GetLog (N01)
    @on("SignedUpdateFirmware")
    def on_signed_update_firmware(self, request_id: int, firmware: dict[str, Any],
                                  retries: int | None = None, retry_interval: int | None = None,
                                  **_: Any) -> call_result.SignedUpdateFirmware:
        status = self.firmware.check_signing(firmware.get("signing_certificate", ""))
        if status != "Accepted":
            return call_result.SignedUpdateFirmware(status=status)
        retrieve_at = _epoch(firmware.get("retrieve_date_time"))
        if retrieve_at is None:
            return call_result.SignedUpdateFirmware(status="Rejected")
        attempts, interval = clamp_transfer("SignedUpdateFirmware", retries, retry_interval)
        status = self.firmware.start(UpdateRequest(
            firmware["location"], retrieve_at, attempts, interval, request_id,
            firmware["signing_certificate"], firmware["signature"],
            _epoch(firmware.get("install_date_time"))))
        return call_result.SignedUpdateFirmware(status=status)

    @after("SignedUpdateFirmware")
    def after_signed_update_firmware(self, **_: Any) -> None:
        self.firmware.launch()

    @on("GetLog")
    def on_get_log(self, log: dict[str, Any], log_type: str, request_id: int,
                   retries: int | None = None, retry_interval: int | None = None,
                   **_: Any) -> call_result.GetLog:
        attempts, interval = clamp_transfer("GetLog", retries, retry_interval)
        status, name = self.diagnostics.get_log(
            log_type, request_id, log.get("remote_location", ""), attempts, interval,
            _epoch(log.get("oldest_timestamp")), _epoch(log.get("latest_timestamp")))
        return call_result.GetLog(status=status, filename=name)

    @after("GetLog")
    def after_get_log(self, **_: Any) -> None:
        self.diagnostics.launch()

    # -- TriggerMessage hooks
    def firmware_status(self) -> str:
        return _CORE_STATUS.get(self.firmware.status, self.firmware.status)

    def diagnostics_status(self) -> str:
        return self.diagnostics.diagnostics_status


async def _boot_check(adapter: FirmwareServices, firmware: FirmwareManager) -> None:
    await firmware.boot()
    await adapter.registered.wait()
    await firmware.registered()


def setup_firmware(
    adapter: FirmwareServices,
    *,
    releases_dir: Path,
    work_dir: Path,
    roots_dir: Path,
    running_version: str,
    station_id: str,
    installer: Installer | None = None,
    log_file: str | None = None,
    config: Callable[[], dict[str, Any]] | None = None,
    selftest: Callable[[], Awaitable[dict[str, Any]]] | None = None,
    health_timeout_s: float = 600.0,
    policy: TransferPolicy | None = None,
    allow_unsigned: bool = False,
    security: SecurityEvents | None = None,
) -> FirmwareHandlers:
    """Build both managers with defaults and ``attach`` them: the one call ``app.py`` needs
    (right after constructing the adapter, before its ``run()`` task starts). ``installer``
    defaults to ``VenvInstaller()``; ``log_file`` None uses journald when available;
    ``allow_unsigned`` (lab setting) lets plain UpdateFirmware install releases; ``security``
    takes the security events (log, durable notifications) of ``chargepoint.security``."""
    host = AdapterHost(adapter, security)
    pol = policy or TransferPolicy()
    firmware = FirmwareManager(adapter.store, host, FirmwareSettings(
        releases_dir=releases_dir, work_dir=work_dir / "firmware", roots_dir=roots_dir,
        running_version=running_version, health_timeout_s=health_timeout_s, policy=pol,
        allow_unsigned=allow_unsigned),
        installer or VenvInstaller())
    sources = BundleSources(adapter.store, station_id, default_log_provider(log_file), config,
                            selftest, host.security_log)
    diagnostics = DiagnosticsManager(host, sources, DiagnosticsSettings(
        work_dir / "diagnostics", policy=pol))
    return attach(adapter, firmware, diagnostics, host)


def attach(adapter: FirmwareServices, firmware: FirmwareManager, diagnostics: DiagnosticsManager,
           host: AdapterHost) -> FirmwareHandlers:
    """Wire the handlers into ``adapter`` (see the module docstring). Call inside the loop."""
    handlers = FirmwareHandlers(firmware, diagnostics)
    handlers.host = host
    adapter.add_handlers(handlers)
    adapter.hooks.firmware_status = handlers.firmware_status
    adapter.hooks.diagnostics_status = handlers.diagnostics_status
    adapter.supervise("firmware notification sender", host.run_sender)
    adapter.spawn(_boot_check(adapter, firmware))
    adapter.clock.security_event = host.security_event  # SettingSystemTime (clock jumps)
    return handlers
