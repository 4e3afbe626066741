"""OCPP 2.0.1 blocks L (firmware management: L01 secure, L02 non-secure update) and N01
(retrieve log information) on the version-neutral managers of ``chargepoint.firmware`` and
``chargepoint.diagnostics`` (the same jobs as 1.6's SignedUpdateFirmware and GetLog).

Wiring: ``setup_firmware(adapter, config, services)`` (in ``factory.py``, before the adapter
runs) builds ``Ocpp201FirmwareHost`` and both managers and ``attach``es them: the handler
object joins the adapter's handler list, the ordered notification sender and the trial-boot
check (``ocppj.firmware_host.boot_check``) become the adapter's tasks; the managers are closed
with the adapter.

UpdateFirmware (L01, L02):
- A request with ``signature``: the ``signingCertificate`` must chain to a root of
  ``[firmware] roots_dir`` and be valid now, else InvalidCertificate (L01.FR.02, security
  event InvalidFirmwareSigningCertificate). A request without ``signature`` (L02) is Rejected
  unless ``[firmware] allow_unsigned = true``; nothing is then downloaded or notified.
- Accepted, or AcceptedCanceled when an earlier update had not started installing (it is
  cancelled, L01.FR.24); Rejected while an installation runs or for an unreadable
  ``retrieveDateTime``. ``retries`` means retries: ``retries + 1`` attempts,
  ``retryInterval`` s apart (both within ``ocppj.bounds``).
- FirmwareStatusNotification with the ``requestId``: [DownloadScheduled] -> Downloading ->
  Downloaded | DownloadFailed -> SignatureVerified | InvalidSignature (signed only, security
  event InvalidFirmwareSignature) -> [InstallScheduled] -> (EVSEs Unavailable, waits for the
  running transactions to end, L01.FR.06/07) -> Installing -> InstallVerificationFailed |
  InstallationFailed | InstallRebooting -> restart. The next BootNotification says
  FirmwareUpdate; Installed follows once it is Accepted (the trial boot's health check), or
  InstallationFailed after a rollback.

GetLog (N01): DiagnosticsLog (the diagnostics bundle) or SecurityLog, uploaded over FTP(S) or
HTTP(S) PUT to ``log.remoteLocation``; Accepted / AcceptedCanceled (an upload under way is
cancelled) with the ``filename``; LogStatusNotification with the ``requestId``: Uploading ->
Uploaded | UploadFailure, or BadMessage (unusable URL), NotSupportedOperation (scheme),
PermissionDenied (401/403, FTP 530).

TriggerMessage hooks (registered in the adapter's ``trigger_hooks``):
``send_firmware_status()`` / ``send_log_status()`` queue the current status (Idle, without
``requestId``, when nothing runs) behind the notifications queued before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from ocpp.v201 import call_result  # type: ignore[import-untyped]

from chargepoint.diagnostics.manager import DiagnosticsManager
from chargepoint.firmware.manager import FirmwareManager, UpdateRequest
from chargepoint.ocpp201.adapter import BOOT_REASON_KEY
from chargepoint.ocpp201.client import on
from chargepoint.ocpp201.handlers import after
from chargepoint.ocpp201.triggers import TriggerHooks
from chargepoint.ocppj.bounds import clamp_transfer
from chargepoint.ocppj.firmware_host import (
    AdapterHost,
    HostLink,
    boot_check,
    epoch,
    managers_from_config,
)
from chargepoint.ports import StationServices
from chargepoint.security.events import SecurityEvents

if TYPE_CHECKING:
    from chargepoint.config.model import Config

LOG = logging.getLogger("chargepoint.ocpp")
# The managers speak the 1.6 whitepaper; 2.0.1 has one FirmwareStatusNotification.
_WIRE_ACTION = {"SignedFirmwareStatusNotification": "FirmwareStatusNotification"}


class FirmwareLink(HostLink, Protocol):
    """What ``attach`` uses of the adapter (``Ocpp201Adapter`` provides it)."""

    def add_handlers(self, *handlers: object) -> None: ...

    def supervise(self, name: str, factory: Callable[[], Awaitable[None]]) -> None: ...

    def spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]: ...

    @property
    def trigger_hooks(self) -> TriggerHooks: ...


class Ocpp201FirmwareHost(AdapterHost):
    """The 2.0.1 names on the wire; a restart (install, rollback) boots with the reason
    FirmwareUpdate."""

    def __init__(self, adapter: HostLink, security: SecurityEvents | None = None) -> None:
        super().__init__(adapter, security)
        self._store = adapter.port.store

    def wire(self, action: str, payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return _WIRE_ACTION.get(action, action), payload

    async def restart(self) -> None:
        await asyncio.to_thread(self._store.kv_set, BOOT_REASON_KEY, "FirmwareUpdate")
        await super().restart()


def _attempts(action: str, retries: int | None,
              retry_interval: int | None) -> tuple[int | None, float | None]:
    """2.0.1 ``retries`` counts the tries after the first (the managers count attempts)."""
    clamped, interval = clamp_transfer(action, retries, retry_interval)
    return (clamped + 1 if clamped is not None else None), interval


class FirmwareHandlers:
    """UpdateFirmware and GetLog (see the module docstring); the TriggerMessage hooks."""

    def __init__(self, firmware: FirmwareManager, diagnostics: DiagnosticsManager,
                 host: AdapterHost) -> None:
        self.firmware = firmware
        self.diagnostics = diagnostics
        self.host = host

    # -- L01, L02
    @on("UpdateFirmware")
    def on_update_firmware(self, request_id: int, firmware: dict[str, Any],
                           retries: int | None = None, retry_interval: int | None = None,
                           **_: Any) -> call_result.UpdateFirmware:
        signature = firmware.get("signature")
        certificate = firmware.get("signing_certificate")
        if signature is not None:
            status = self.firmware.check_signing(certificate or "")
            if status != "Accepted":
                return call_result.UpdateFirmware(status=status)
        retrieve_at = epoch(firmware.get("retrieve_date_time"))
        if retrieve_at is None:
            LOG.error("UpdateFirmware %d: unreadable retrieveDateTime", request_id)
            return call_result.UpdateFirmware(status="Rejected")
        attempts, interval = _attempts("UpdateFirmware", retries, retry_interval)
        status = self.firmware.start(UpdateRequest(
            firmware["location"], retrieve_at, attempts, interval, request_id,
            certificate if signature is not None else None, signature,
            epoch(firmware.get("install_date_time"))), report_refusal=False)
        return call_result.UpdateFirmware(status=status)

    @after("UpdateFirmware")
    def after_update_firmware(self, **_: Any) -> None:
        self.firmware.launch()  # the response went out first: no notification overtakes it

    # -- N01
    @on("GetLog")
    def on_get_log(self, log: dict[str, Any], log_type: str, request_id: int,
                   retries: int | None = None, retry_interval: int | None = None,
                   **_: Any) -> call_result.GetLog:
        attempts, interval = _attempts("GetLog", retries, retry_interval)
        status, name = self.diagnostics.get_log(
            log_type, request_id, log.get("remote_location", ""), attempts, interval,
            epoch(log.get("oldest_timestamp")), epoch(log.get("latest_timestamp")))
        return call_result.GetLog(status=status, filename=name)

    @after("GetLog")
    def after_get_log(self, **_: Any) -> None:
        self.diagnostics.launch()

    # -- TriggerMessage hooks
    async def send_firmware_status(self) -> None:
        """Queue a FirmwareStatusNotification of the current status (``requestId`` of the
        running update; Idle without one when none runs)."""
        payload: dict[str, object] = {"status": self.firmware.status}
        if self.firmware.status != "Idle" and self.firmware.request_id is not None:
            payload["requestId"] = self.firmware.request_id
        self.host.report("FirmwareStatusNotification", payload)

    async def send_log_status(self) -> None:
        """Queue a LogStatusNotification: Uploading with the ``requestId`` while a GetLog
        upload runs, else Idle without one."""
        status, request_id = self.diagnostics.log_upload()
        payload: dict[str, object] = {"status": status}
        if request_id is not None:
            payload["requestId"] = request_id
        self.host.report("LogStatusNotification", payload)

    async def close(self) -> None:
        await self.firmware.close()
        await self.diagnostics.close()


async def _close_with_adapter(handlers: FirmwareHandlers) -> None:
    """An adapter task: waits until the adapter cancels it, then closes the managers."""
    try:
        await asyncio.Event().wait()
    finally:
        with contextlib.suppress(Exception):
            await handlers.close()


def attach(adapter: FirmwareLink, firmware: FirmwareManager, diagnostics: DiagnosticsManager,
           host: AdapterHost) -> FirmwareHandlers:
    """Wire the handlers into ``adapter`` (see the module docstring). Call inside the loop,
    before the adapter runs."""
    handlers = FirmwareHandlers(firmware, diagnostics, host)
    adapter.add_handlers(handlers)
    adapter.trigger_hooks.register("FirmwareStatusNotification", handlers.send_firmware_status)
    adapter.trigger_hooks.register("LogStatusNotification", handlers.send_log_status)
    adapter.supervise("firmware notification sender", host.run_sender)
    adapter.spawn(boot_check(adapter.registered, firmware))
    adapter.spawn(_close_with_adapter(handlers))
    return handlers


def setup_firmware(adapter: FirmwareLink, config: Config,
                   services: StationServices) -> FirmwareHandlers:
    """Both managers from ``[firmware]``, ``[station]`` and the station's services, attached."""
    host = Ocpp201FirmwareHost(adapter, services.security_events)
    firmware, diagnostics = managers_from_config(adapter.port.store, host, config, services)
    return attach(adapter, firmware, diagnostics, host)
