"""The firmware update job: UpdateFirmware and SignedUpdateFirmware (OCPP 1.6 section 6.52 /
4.x FirmwareManagement, security whitepaper "Secure firmware update").

Sequence (statuses as reported; signed-only ones marked *):
  [DownloadScheduled*] -> Downloading -> Downloaded | DownloadFailed
  -> SignatureVerified* | InvalidSignature* (+ security event InvalidFirmwareSignature)
  -> [InstallScheduled*] -> (connectors Unavailable, wait until no transaction runs)
  -> Installing -> InstallationFailed (release invalid / install error)
                   | [InstallRebooting*] -> restart into the new slot -> (``health``)
                     -> Installed  or  rollback -> InstallationFailed
Nothing downloaded is executed before it is verified: the signature (signed updates), then
the manifest's sha256 of every file (``release.unpack_release``). The sha256 proves integrity,
not origin: a request without a signature (1.6's plain UpdateFirmware) is refused unless
``FirmwareSettings.allow_unsigned`` (``[firmware] allow_unsigned``, a lab setting) is set;
refused means no download, a FirmwareStatusNotification InstallationFailed and a security
event InvalidFirmwareSignature.

Contract: ``FirmwareManager(store, host, settings, installer)``; ``await boot()`` once at
start-up; ``await registered()`` after every BootNotification Accepted; ``check_signing(...)``
answers SignedUpdateFirmware; ``start(request)`` launches the job and returns at once;
``status`` is what TriggerMessage(FirmwareStatusNotification) reports ("Idle" when no job),
``request_id`` the running job's requestId. The signature is checked when the request has
one (``UpdateRequest.signed``); 2.0.1 requests always carry a requestId, signed or not.
The signature check and the release archive (``signature``, ``release``) are imported by the
job that needs them, not with this module (start-up time).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from chargepoint.firmware import guard
from chargepoint.firmware.download import (
    TransferError,
    TransferPolicy,
    download,
    safe_url,
    with_retries,
)
from chargepoint.firmware.health import (
    BootGuard,
    Pending,
    load_pending,
    save_pending,
    status_action,
)
from chargepoint.firmware.host import FirmwareHost
from chargepoint.firmware.installer import Installer, InstallError
from chargepoint.firmware.slots import Slots
from chargepoint.store.api import StoreAPI

LOG = logging.getLogger("chargepoint.firmware")
DOWNLOAD_NAME = "firmware.bin"  # fixed: nothing of the URL becomes a path
KV_JOB = "firmware.job"
_MAX_RESUMES = 3


@dataclass
class FirmwareSettings:
    releases_dir: Path  # slots + ``current``
    work_dir: Path  # private download / staging directory
    roots_dir: Path  # manufacturer root certificates (PEM)
    running_version: str
    release_name: str = "chargepoint"
    health_timeout_s: float = 600.0  # new release must be Accepted within this
    idle_poll_s: float = 5.0  # how often to look for the end of running transactions
    default_attempts: int = 3  # when the request has no ``retries``
    default_retry_interval_s: float = 60.0
    policy: TransferPolicy = field(default_factory=TransferPolicy)
    allow_unsigned: bool = False  # lab setting: install releases that carry no signature


@dataclass(frozen=True, slots=True)
class UpdateRequest:
    location: str
    retrieve_at: float  # epoch s
    attempts: int | None = None  # OCPP ``retries``: total attempts (>= 1)
    retry_interval_s: float | None = None
    request_id: int | None = None  # signed only
    signing_certificate: str | None = None
    signature: str | None = None
    install_at: float | None = None  # signed only

    @property
    def signed(self) -> bool:
        return self.signature is not None


def parse_time(text: str | None) -> float | None:
    """ISO 8601 (``Z`` or offset) -> epoch seconds; None passes through; raises ValueError."""
    if text is None:
        return None
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def install_guard(releases_dir: Path) -> Path:
    """Copy ``guard.py`` (from this, the working release) to ``<releases_dir>/boot-guard.py``
    atomically; the service's ExecStartPre runs it (see ``chargepoint.firmware.guard``)."""
    target = releases_dir / "boot-guard.py"
    tmp = releases_dir / ".boot-guard.py.tmp"
    shutil.copyfile(Path(guard.__file__), tmp)
    os.replace(tmp, target)
    return target


class FirmwareManager:
    def __init__(self, store: StoreAPI, host: FirmwareHost, settings: FirmwareSettings,
                 installer: Installer, *, wall: Callable[[], float] = time.time,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._store = store
        self._host = host
        self.settings = settings
        self._installer = installer
        self._wall = wall
        self._sleep = sleep
        self.slots = Slots(settings.releases_dir)
        self.guard = BootGuard(store, host, self.slots, installer, settings.running_version,
                               wall=wall)
        self.status = "Idle"
        self.request_id: int | None = None  # requestId of the running job (None: none / 1.6)
        self._job: asyncio.Task[None] | None = None
        self._installing = False
        self._planned: UpdateRequest | None = None
        self._refused: UpdateRequest | None = None

    # -- lifecycle
    async def boot(self) -> None:
        """At start-up: the trial-boot check, then resume a job a restart interrupted (a
        retrieveDate still ahead, or a download/installation cut short: started again, at
        most ``_MAX_RESUMES`` times)."""
        await self.guard.boot()
        job = await asyncio.to_thread(self._store.kv_get, KV_JOB)
        if job is None:
            return
        try:
            data = json.loads(job)
            resumes = int(data.pop("resumes", 0)) + 1
            request = UpdateRequest(**data)
        except (ValueError, TypeError) as exc:
            LOG.error("unreadable %s (%s): dropped", KV_JOB, exc)
            await asyncio.to_thread(self._store.kv_set, KV_JOB, None)
            return
        if await asyncio.to_thread(load_pending, self._store) is not None:
            await asyncio.to_thread(self._store.kv_set, KV_JOB, None)  # the trial decides
            return
        if self._refuse_unsigned(request):
            await asyncio.to_thread(self._store.kv_set, KV_JOB, None)
            self._report_refusal(request)
            return
        if resumes > _MAX_RESUMES:
            LOG.error("firmware job for %s interrupted %d times: given up", request.location,
                      resumes - 1)
            await asyncio.to_thread(self._store.kv_set, KV_JOB, None)
            self._report(request, "InstallationFailed")
            self.status = "Idle"
            return
        LOG.warning("resuming the firmware job for %s after a restart", request.location)
        self._job = asyncio.ensure_future(self._run(request, resumes))

    async def registered(self) -> None:
        await self.guard.registered()

    async def close(self) -> None:
        await self.guard.close()
        if self._job is not None:
            self._job.cancel()
            with contextlib.suppress(BaseException):
                await self._job

    async def wait_idle(self) -> None:
        """Wait for the running job to end (tests, shutdown)."""
        if self._job is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._job

    # -- requests
    def check_signing(self, certificate_pem: str) -> str:
        """SignedUpdateFirmware.conf status for this signing certificate: "Accepted" or
        "InvalidCertificate" (then also a security event InvalidFirmwareSigningCertificate)."""
        from chargepoint.firmware.signature import (
            InvalidCertificate,
            load_roots,
            verify_signing_certificate,
        )

        roots = load_roots(self.settings.roots_dir)
        try:
            verify_signing_certificate(certificate_pem, roots, datetime.fromtimestamp(
                self._wall(), UTC))
        except InvalidCertificate as exc:
            LOG.error("firmware signing certificate rejected: %s", exc)
            self._host.security_event("InvalidFirmwareSigningCertificate", str(exc)[:255])
            return "InvalidCertificate"
        return "Accepted"

    def start(self, request: UpdateRequest, *, report_refusal: bool = True) -> str:
        """Accept a request; ``launch()`` runs it (call it once the .conf is sent, so that no
        notification overtakes it). Returns "Accepted", "AcceptedCanceled" (an earlier job
        that had not started installing is cancelled) or "Rejected" (installation under way,
        or a request without signature while ``allow_unsigned`` is off: ``launch()`` then
        reports the refusal unless ``report_refusal`` is False, and a running job goes on).
        """
        if self._refuse_unsigned(request):
            if report_refusal:
                self._refused = request
            return "Rejected"
        if self._installing:
            LOG.warning("update request ignored: an installation is under way")
            return "Rejected"
        answer = "Accepted"
        if self._job is not None and not self._job.done():
            self._job.cancel()
            answer = "AcceptedCanceled"
        self._planned = request
        return answer

    def launch(self) -> None:
        """Start the job accepted by the last ``start()`` (no-op if none)."""
        refused, self._refused = self._refused, None
        if refused is not None:
            self._report_refusal(refused)
        request, self._planned = self._planned, None
        if request is not None:
            self._job = asyncio.ensure_future(self._run(request))

    def _refuse_unsigned(self, request: UpdateRequest) -> bool:
        if request.signed or self.settings.allow_unsigned:
            return False
        LOG.error("unsigned firmware update refused (%s): only signed releases are installed; "
                  "[firmware] allow_unsigned = true allows unsigned ones (lab setting)",
                  safe_url(request.location))
        return True

    def _report_refusal(self, request: UpdateRequest) -> None:
        """Tell the CSMS: a status (1.6 UpdateFirmware.conf has none) and a security event.
        The status of a running job (TriggerMessage) is left as it is."""
        self._host.security_event("InvalidFirmwareSignature",
                                  "unsigned firmware update refused (allow_unsigned = false)")
        action, payload = status_action(request.request_id)
        self._host.report(action, {**payload, "status": "InstallationFailed"})

    # -- the job
    def _report(self, request: UpdateRequest, status: str) -> None:
        self.status = status
        action, payload = status_action(request.request_id)
        LOG.info("firmware status %s", status)
        self._host.report(action, {**payload, "status": status})

    async def _run(self, request: UpdateRequest, resumes: int = 0) -> None:
        # Persisted until the job ends, so that a restart does not lose it (see ``boot``).
        await asyncio.to_thread(self._store.kv_set, KV_JOB,
                                json.dumps({**asdict(request), "resumes": resumes}))
        self.request_id = request.request_id
        try:
            await self._steps(request)
        except asyncio.CancelledError:
            LOG.warning("firmware job for %s cancelled", request.location)
            raise
        except Exception:
            LOG.exception("firmware job failed unexpectedly")
            self._report(request, "InstallationFailed")
        finally:
            self._installing = False
            self.status = "Idle"
            self.request_id = None
        await asyncio.to_thread(self._store.kv_set, KV_JOB, None)

    async def _steps(self, r: UpdateRequest) -> None:
        s = self.settings
        delay = r.retrieve_at - self._wall()
        if delay > 0:
            if r.request_id is not None:
                self._report(r, "DownloadScheduled")
            await self._sleep(delay)
        s.work_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        file = s.work_dir / DOWNLOAD_NAME
        self._report(r, "Downloading")
        try:
            await with_retries(
                lambda: download(r.location, file, policy=s.policy),
                r.attempts if r.attempts is not None else s.default_attempts,
                r.retry_interval_s if r.retry_interval_s is not None
                else s.default_retry_interval_s)
        except TransferError as exc:
            LOG.error("firmware download failed: %s", exc)
            self._report(r, "DownloadFailed")
            return
        self._report(r, "Downloaded")
        if r.signed and not self._signature_ok(r, file):
            return
        if r.install_at is not None and r.install_at > self._wall():
            self._report(r, "InstallScheduled")
            await self._sleep(r.install_at - self._wall())
        self._installing = True
        try:
            await self._install(r, file)
        finally:
            shutil.rmtree(s.work_dir / "staging", ignore_errors=True)
            file.unlink(missing_ok=True)

    def _signature_ok(self, r: UpdateRequest, file: Path) -> bool:
        from chargepoint.firmware.signature import (
            InvalidCertificate,
            InvalidSignature,
            load_roots,
            verify_file_signature,
            verify_signing_certificate,
        )

        try:
            cert = verify_signing_certificate(
                r.signing_certificate or "", load_roots(self.settings.roots_dir),
                datetime.fromtimestamp(self._wall(), UTC))
            verify_file_signature(cert, file, r.signature or "")
        except (InvalidCertificate, InvalidSignature) as exc:
            LOG.error("firmware signature rejected: %s", exc)
            self._host.security_event("InvalidFirmwareSignature", str(exc)[:255])
            self._report(r, "InvalidSignature")
            return False
        self._report(r, "SignatureVerified")
        return True

    async def _wait_no_transaction(self) -> None:
        """Connectors go Unavailable (a running session is let finish by the core: its
        AvailabilityChanged answer is Scheduled) and we wait for the last one to end."""
        self._host.set_operative(False)
        while self._host.transactions_running():
            await self._sleep(self.settings.idle_poll_s)

    async def _install(self, r: UpdateRequest, file: Path) -> None:
        from chargepoint.firmware.release import ReleaseError, unpack_release

        s = self.settings
        release = None
        slot = None
        if self._installer.uses_slots:
            try:
                release = await asyncio.to_thread(
                    unpack_release, file, s.work_dir / "staging",
                    expected_name=s.release_name, max_bytes=s.policy.max_bytes * 4,
                    min_free_bytes=s.policy.min_free_bytes)
            except ReleaseError as exc:
                LOG.error("firmware rejected before installing: %s", exc)
                failed = "InstallVerificationFailed" if r.request_id is not None else None
                self._report(r, failed or "InstallationFailed")
                return
            if release.manifest.version == s.running_version:
                LOG.warning("release %s is already running", s.running_version)
                self._report(r, "Installing")
                self._report(r, "Installed")
                return
            slot = self.slots.slot(release.manifest.version)
        await self._wait_no_transaction()
        self._report(r, "Installing")
        try:
            if slot is not None and slot.exists():
                await asyncio.to_thread(shutil.rmtree, slot)  # an earlier failed try
            await self._installer.install(file, release, slot)
        except InstallError as exc:
            LOG.error("firmware installation failed: %s", exc)
            self._host.set_operative(True)
            self._report(r, "InstallationFailed")
            return
        previous = self.slots.current()
        version = release.manifest.version if release is not None else f"os-{int(self._wall())}"
        await asyncio.to_thread(save_pending, self._store, Pending(
            version, str(previous) if previous is not None else None,
            self._wall() + s.health_timeout_s, r.request_id,
            "slot" if slot is not None else "os"))
        await asyncio.to_thread(self._store.kv_set, KV_JOB, None)  # the trial takes over
        if slot is not None:
            await asyncio.to_thread(install_guard, s.releases_dir)
            self.slots.switch(slot)
        if r.request_id is not None:
            self._report(r, "InstallRebooting")
        LOG.warning("firmware %s installed: restarting into it", version)
        await self._host.restart()
