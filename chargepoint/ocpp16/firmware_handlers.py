"""OCPP 1.6 FirmwareManagement + security whitepaper handlers: UpdateFirmware, GetDiagnostics,
SignedUpdateFirmware, GetLog; the notifications they cause; the trial-boot health check.

Plug-in (no change to ``adapter.py`` needed)::

    fw = FirmwareManager(store, host, settings, installer)
    diag = DiagnosticsManager(host, sources, diag_settings)
    handlers = attach(adapter, fw, diag, host)  # in the running loop, before adapter.run()

where ``host = AdapterHost(adapter)`` is built first (the managers report through it;
``AdapterHost``, the boot check and the managers' defaults are version-neutral and live in
``chargepoint.ocppj.firmware_host``, shared with 2.0.1).
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
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, Unpack

from ocpp.v16 import call_result  # type: ignore[import-untyped]

from chargepoint.diagnostics.manager import DiagnosticsManager
from chargepoint.firmware.manager import FirmwareManager, UpdateRequest
from chargepoint.ocpp16.client import after, on
from chargepoint.ocpp16.handlers_core import Hooks
from chargepoint.ocppj.bounds import clamp_transfer
from chargepoint.ocppj.firmware_host import AdapterHost as AdapterHost  # also for importers
from chargepoint.ocppj.firmware_host import ManagerOptions, boot_check, build_managers
from chargepoint.ocppj.firmware_host import epoch as _epoch
from chargepoint.ocppj.timestamps import Clock
from chargepoint.ports import StationPort
from chargepoint.security.events import SecurityEvents
from chargepoint.store.api import StoreAPI

LOG = logging.getLogger("chargepoint.ocpp")
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


def setup_firmware(adapter: FirmwareServices, *, security: SecurityEvents | None = None,
                   **options: Unpack[ManagerOptions]) -> FirmwareHandlers:
    """Build both managers with defaults (``build_managers``) and ``attach`` them; ``security``
    takes the security events (log, durable notifications) of ``chargepoint.security``."""
    host = AdapterHost(adapter, security)
    firmware, diagnostics = build_managers(adapter.store, host, **options)
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
    adapter.spawn(boot_check(adapter.registered, firmware))
    adapter.clock.security_event = host.security_event  # SettingSystemTime (clock jumps)
    return handlers
