"""GetDiagnostics (OCPP 1.6 section 5.x, DiagnosticsStatusNotification) and GetLog (security
whitepaper, LogStatusNotification): build a bundle, upload it with retries, report.

Contract: ``DiagnosticsManager(host, sources, settings)``.
- ``get_diagnostics(location, attempts, retry_interval_s, since, until) -> str | None``:
  returns the file name for GetDiagnostics.conf at once (None: the location cannot be used,
  nothing will be uploaded); ``launch()`` (after the .conf went out) runs the job:
  Uploading -> Uploaded | UploadFailed.
- ``get_log(log_type, request_id, location, ...) -> (status, file name | None)``: status
  "Accepted", "AcceptedCanceled" (an earlier GetLog was cancelled) or "Rejected"; then
  LogStatusNotification Uploading -> Uploaded, or BadMessage (bad URL), NotSupportedOperation
  (scheme), PermissionDenied (401/403, FTP 530), UploadFailure.
- ``diagnostics_status``: what TriggerMessage(DiagnosticsStatusNotification) reports: "Idle"
  unless an upload runs (then "Uploading").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chargepoint.diagnostics.bundle import (
    BundleSources,
    build_bundle,
    build_security_log,
    bundle_name,
)
from chargepoint.firmware.download import (
    FailureKind,
    TransferError,
    TransferPolicy,
    parse_location,
    with_retries,
)
from chargepoint.firmware.host import FirmwareHost
from chargepoint.firmware.upload import upload

LOG = logging.getLogger("chargepoint.diagnostics")

_LOG_FAILURE = {FailureKind.BAD_URL: "BadMessage", FailureKind.UNSUPPORTED:
                "NotSupportedOperation", FailureKind.PERMISSION: "PermissionDenied"}


@dataclass
class DiagnosticsSettings:
    work_dir: Path  # private: bundles are written here and deleted after upload
    http_method: str = "PUT"  # or "POST" (multipart/form-data)
    default_attempts: int = 3
    default_retry_interval_s: float = 60.0
    policy: TransferPolicy = field(default_factory=TransferPolicy)


class DiagnosticsManager:
    def __init__(self, host: FirmwareHost, sources: BundleSources,
                 settings: DiagnosticsSettings, *, wall: Callable[[], float] = time.time) -> None:
        self._host = host
        self.sources = sources
        self.settings = settings
        self._wall = wall
        self._diag: asyncio.Task[None] | None = None
        self._log: asyncio.Task[None] | None = None
        self.diagnostics_status = "Idle"
        self._log_request: int | None = None  # GetLog requestId of the running upload
        self._planned_diag: Callable[[], Coroutine[Any, Any, None]] | None = None
        self._planned_log: Callable[[], Coroutine[Any, Any, None]] | None = None

    async def close(self) -> None:
        for task in (self._diag, self._log):
            if task is not None:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task

    async def wait_idle(self) -> None:
        for task in (self._diag, self._log):
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    # -- GetDiagnostics
    def get_diagnostics(self, location: str, attempts: int | None, retry_interval_s: float | None,
                        since: float | None, until: float | None) -> str | None:
        try:
            parse_location(location)
        except TransferError as exc:
            LOG.error("GetDiagnostics: unusable location (%s)", exc)
            return None
        if self._diag is not None and not self._diag.done():
            self._diag.cancel()
        name = bundle_name("diagnostics", self.sources.station_id, self._wall())
        self._planned_diag = lambda: self._diagnostics(
            location, name, attempts, retry_interval_s, since, until)
        return name

    def launch(self) -> None:
        """Start what the last ``get_diagnostics`` / ``get_log`` accepted (call it once the
        .conf was sent, so that no notification overtakes it)."""
        diag, self._planned_diag = self._planned_diag, None
        if diag is not None:
            self._diag = asyncio.ensure_future(diag())
        log, self._planned_log = self._planned_log, None
        if log is not None:
            self._log = asyncio.ensure_future(log())

    def _diag_report(self, status: str) -> None:
        self.diagnostics_status = "Uploading" if status == "Uploading" else "Idle"
        self._host.report("DiagnosticsStatusNotification", {"status": status})

    async def _diagnostics(self, location: str, name: str, attempts: int | None,
                           interval: float | None, since: float | None,
                           until: float | None) -> None:
        path = self.settings.work_dir / name
        self._diag_report("Uploading")
        try:
            await build_bundle(self.sources, path, since, until)
            await self._upload(location, path, attempts, interval)
        except TransferError as exc:
            LOG.error("diagnostics upload failed: %s", exc)
            self._diag_report("UploadFailed")
        except Exception:
            LOG.exception("diagnostics bundle failed")
            self._diag_report("UploadFailed")
        else:
            self._diag_report("Uploaded")
        finally:
            self.diagnostics_status = "Idle"
            path.unlink(missing_ok=True)

    async def _upload(self, location: str, path: Path, attempts: int | None,
                      interval: float | None) -> None:
        s = self.settings
        await with_retries(
            lambda: upload(location, path, policy=s.policy, method=s.http_method),
            attempts if attempts is not None else s.default_attempts,
            interval if interval is not None else s.default_retry_interval_s)

    # -- GetLog
    def log_upload(self) -> tuple[str, int | None]:
        """(status, requestId) for a triggered LogStatusNotification: ("Uploading", id)
        while a GetLog upload runs, else ("Idle", None) (whitepaper N01.FR.12)."""
        if self._log is not None and not self._log.done() and self._log_request is not None:
            return "Uploading", self._log_request
        return "Idle", None

    def get_log(self, log_type: str, request_id: int, location: str, attempts: int | None,
                retry_interval_s: float | None, since: float | None,
                until: float | None) -> tuple[str, str | None]:
        if log_type not in ("DiagnosticsLog", "SecurityLog"):
            return "Rejected", None
        answer = "Accepted"
        if self._log is not None and not self._log.done():
            self._log.cancel()
            answer = "AcceptedCanceled"
        prefix = "security" if log_type == "SecurityLog" else "diagnostics"
        name = bundle_name(prefix, self.sources.station_id, self._wall())
        build = build_security_log if log_type == "SecurityLog" else build_bundle
        self._planned_log = lambda: self._get_log(
            request_id, location, name, build, attempts, retry_interval_s, since, until)
        return answer, name

    async def _get_log(self, request_id: int, location: str, name: str,
                       build: Callable[[BundleSources, Path, float | None, float | None],
                                       Awaitable[Path]],
                       attempts: int | None, interval: float | None, since: float | None,
                       until: float | None) -> None:
        def report(status: str) -> None:
            self._host.report("LogStatusNotification", {"status": status, "requestId": request_id})

        self._log_request = request_id

        path = self.settings.work_dir / name
        try:
            parse_location(location)
        except TransferError as exc:
            LOG.error("GetLog %d: %s", request_id, exc)
            report(_LOG_FAILURE.get(exc.kind, "UploadFailure"))
            return
        report("Uploading")
        try:
            await build(self.sources, path, since, until)
            await self._upload(location, path, attempts, interval)
        except TransferError as exc:
            LOG.error("GetLog %d upload failed: %s", request_id, exc)
            report(_LOG_FAILURE.get(exc.kind, "UploadFailure"))
        except Exception:
            LOG.exception("GetLog %d failed", request_id)
            report("UploadFailure")
        else:
            report("Uploaded")
        finally:
            path.unlink(missing_ok=True)
