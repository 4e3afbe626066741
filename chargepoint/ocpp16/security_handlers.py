"""OCPP 1.6 security whitepaper (edition 3) handlers over ``chargepoint.security``.

CSMS requests: InstallCertificate, GetInstalledCertificateIds, DeleteCertificate (M03-M05),
ExtendedTriggerMessage (every MessageTrigger, SignChargePointCertificate -> A02),
CertificateSigned (A02.FR.06-08). Station requests: SignCertificate (A02/A03, also when the
client certificate nears its end: ``renew_before_s``), SecurityEventNotification (A04, through
the durable queue: ``chargepoint.security.durable``). The connection side is
``security_link.SecurityLink``.

Plug-in: ``security = await setup_security(adapter, settings, firmware=..., diagnostics=...)``
after the adapter is built and before its ``run()`` task starts. It raises StartupOfTheDevice,
sets the adapter's ``link_security``, the configuration's SecurityProfile check and value, and
starts the watch task (client certificate expiry, free space: MemoryExhaustion). GetLog
SecurityLog uploads ``security.events`` (wired by ``firmware_handlers.setup_firmware``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ocpp.v16 import call_result  # type: ignore[import-untyped]

from chargepoint.ocpp16.client import CallFailed, after, on
from chargepoint.ocpp16.security_link import SecurityLink
from chargepoint.ocpp16.triggers import known_statuses, send_shared
from chargepoint.security import events as ev
from chargepoint.security.certificate_requests import CertificateRequests, hash_fields
from chargepoint.security.certificates import CertificateStore, CertUse
from chargepoint.security.events import SecurityEvents
from chargepoint.security.identity import StationIdentity
from chargepoint.security.parts import open_parts
from chargepoint.security.profile import upgrade_problem
from chargepoint.security.settings import SecuritySettings

if TYPE_CHECKING:
    from cryptography import x509

    from chargepoint.ocpp16.adapter import Ocpp16Adapter

LOG = logging.getLogger("chargepoint.security")
_TRIGGERS = ("BootNotification", "FirmwareStatusNotification", "Heartbeat",
             "LogStatusNotification", "MeterValues", "SignChargePointCertificate",
             "StatusNotification")
_ROOTS_BUNDLE = "csms-roots.pem"


class SecurityHandlers:
    def __init__(self, adapter: Ocpp16Adapter, settings: SecuritySettings,
                 events: SecurityEvents, certificates: CertificateStore,
                 identity: StationIdentity, link: SecurityLink, *,
                 firmware_status: Callable[[], str] | None = None,
                 log_upload: Callable[[], tuple[str, int | None]] | None = None) -> None:
        self._a = adapter
        self.settings = settings
        self.events = events
        self.certificates = certificates
        self.identity = identity
        self.link = link
        self.firmware_status = firmware_status or (lambda: "Idle")
        self.log_upload = log_upload or (lambda: ("Idle", None))
        self.certs = CertificateRequests(settings, events, certificates, identity, link,
                                         now=self._now, cert_file=adapter.options.cert_file)
        self.has_client_certificate = False

    # -- state kept in memory for the checks on the loop
    async def refresh(self) -> None:
        """Re-read the roots (and rewrite the TLS bundle) and the client certificate."""
        await self.certs.refresh()

        def client() -> bool:
            return self.identity.client_pair() is not None or bool(self._a.options.cert_file)

        self.has_client_certificate = await asyncio.to_thread(client)

    def roots_of_issuer(self, issuer: x509.Name) -> set[str]:
        return self.certs.roots_of_issuer(issuer)

    def profile_allowed(self, new: int) -> bool:
        """The Configuration's SecurityProfile check (A05.FR.01-04)."""
        try:
            key = self._a.config.value("AuthorizationKey")
        except KeyError:
            key = None
        problem = upgrade_problem(
            new, self.link.link.active,
            has_authorization_key=bool(key or self._a.options.password),
            csms_roots=len(self.certs.csms_roots),
            has_client_certificate=self.has_client_certificate)
        if problem is not None:
            LOG.warning("ChangeConfiguration SecurityProfile=%d rejected: %s", new, problem)
        return problem is None

    def config_changed(self, key: str, value: str) -> None:
        if key == "SecurityProfile":
            self.link.upgrade(int(value))
        elif key in ("AuthorizationKey", "CpoName"):
            # A01.FR.11/12: logged, never with the value.
            self.events.raise_event(ev.RECONFIGURATION_OF_SECURITY_PARAMETERS, f"{key} changed")

    # -- M05 / M03 / M04
    @on("InstallCertificate")
    async def on_install_certificate(self, certificate_type: str, certificate: str,
                                     **_: Any) -> call_result.InstallCertificate:
        status = await self.certs.install(CertUse(certificate_type), certificate,
                                          certificate_type)
        return call_result.InstallCertificate(status=status)

    @on("GetInstalledCertificateIds")
    async def on_get_installed(self, certificate_type: str,
                               **_: Any) -> call_result.GetInstalledCertificateIds:
        hashes = await self.certs.installed([CertUse(certificate_type)])
        if not hashes:
            return call_result.GetInstalledCertificateIds(status="NotFound")
        return call_result.GetInstalledCertificateIds(
            status="Accepted", certificate_hash_data=[hash_fields(h) for _use, h in hashes])

    @on("DeleteCertificate")
    async def on_delete_certificate(self, certificate_hash_data: dict[str, Any],
                                    **_: Any) -> call_result.DeleteCertificate:
        return call_result.DeleteCertificate(
            status=await self.certs.delete(certificate_hash_data))

    # -- ExtendedTriggerMessage
    @on("ExtendedTriggerMessage")
    def on_extended_trigger(self, requested_message: str, connector_id: int | None = None,
                            **_: Any) -> call_result.ExtendedTriggerMessage:
        a = self._a
        if requested_message not in _TRIGGERS:
            return call_result.ExtendedTriggerMessage(status="NotImplemented")
        if connector_id is not None and not 0 <= connector_id <= a.port.connector_count:
            return call_result.ExtendedTriggerMessage(status="Rejected")
        if requested_message == "MeterValues" and not a.sampler.can_trigger(connector_id):
            return call_result.ExtendedTriggerMessage(status="Rejected")
        statuses = a.transactions.statuses
        if requested_message == "StatusNotification" and not known_statuses(statuses,
                                                                            connector_id):
            return call_result.ExtendedTriggerMessage(status="Rejected")
        if requested_message == "SignChargePointCertificate" and not self._cpo_name():
            LOG.warning("SignChargePointCertificate rejected: CpoName is not set (A02)")
            return call_result.ExtendedTriggerMessage(status="Rejected")
        return call_result.ExtendedTriggerMessage(status="Accepted")

    @after("ExtendedTriggerMessage")
    async def after_extended_trigger(self, requested_message: str,
                                     connector_id: int | None = None, **_: Any) -> None:
        await self._a.triggers.run(  # coalesced with TriggerMessage's (ocpp16/triggers.py)
            (requested_message, connector_id),
            lambda: self._send_triggered(requested_message, connector_id))

    async def _send_triggered(self, requested_message: str, connector_id: int | None) -> None:
        a = self._a
        if await send_shared(a, a.transactions.statuses, requested_message, connector_id):
            return
        if requested_message == "FirmwareStatusNotification":
            await a.send_when_registered("SignedFirmwareStatusNotification",
                                         {"status": self.firmware_status()})
        elif requested_message == "LogStatusNotification":
            status, request_id = self.log_upload()
            payload: dict[str, Any] = {"status": status}
            if request_id is not None:
                payload["requestId"] = request_id
            await a.send_when_registered("LogStatusNotification", payload)
        elif requested_message == "SignChargePointCertificate":
            await self.request_certificate("ExtendedTriggerMessage")

    # -- A02 / A03: the station's certificate
    def _cpo_name(self) -> str | None:
        try:
            return self._a.config.value("CpoName") or None
        except KeyError:
            return None

    async def request_certificate(self, why: str) -> bool:
        """A new key pair and SignCertificate.req with its CSR; True when Accepted."""
        cpo = self._cpo_name()
        if cpo is None:
            LOG.warning("no SignCertificate (%s): CpoName is not set", why)
            return False
        csr = await self.certs.new_csr(self._a.options.station_id, cpo)
        try:
            result = await self._a.request("SignCertificate", {"csr": csr})
        except (ConnectionError, CallFailed, TimeoutError) as exc:
            LOG.warning("SignCertificate (%s) not answered: %s", why, exc)
            return False
        LOG.info("SignCertificate (%s): %s", why, result.get("status"))
        return result.get("status") == "Accepted"

    @on("CertificateSigned")
    async def on_certificate_signed(self, certificate_chain: str,
                                    **_: Any) -> call_result.CertificateSigned:
        problem = await self.certs.install_signed(  # A02.FR.07
            certificate_chain, self._a.options.station_id,
            self._a.config.get_int("CertificateSignedMaxChainSize"))
        if problem is not None:
            return call_result.CertificateSigned(status="Rejected")
        await self.refresh()
        self.events.raise_event(ev.RECONFIGURATION_OF_SECURITY_PARAMETERS,
                                "charge point certificate installed")
        return call_result.CertificateSigned(status="Accepted")

    @after("CertificateSigned")
    def after_certificate_signed(self, **_: Any) -> None:
        self.link.use_new_certificate()

    # -- the watch task: certificate expiry (A03.FR.02) and free space (MemoryExhaustion)
    async def watch(self) -> None:
        await self.certs.watch(self._a.registered, self.request_certificate)

    def _now(self) -> datetime:
        return self._a.clock.wall_now() or datetime.now(UTC)


async def setup_security(adapter: Ocpp16Adapter, settings: SecuritySettings, *,
                         firmware_status: Callable[[], str] | None = None,
                         log_upload: Callable[[], tuple[str, int | None]] | None = None,
                         events: SecurityEvents | None = None) -> SecurityHandlers:
    """Build and attach everything (see the module docstring); call inside the loop."""
    o = adapter.options
    parts = await open_parts(settings, adapter.store, adapter.clock, adapter.outbox.wake,
                             security_profile=o.security_profile, ca_file=o.ca_file,
                             events=events,
                             max_length=adapter.config.get_int("CertificateStoreMaxLength"))
    events, profile = parts.events, parts.profile
    handlers: SecurityHandlers | None = None

    def roots_of_issuer(name: x509.Name) -> set[str]:
        return handlers.roots_of_issuer(name) if handlers is not None else set()

    link = SecurityLink(adapter, events, profile, parts.identity,
                        settings.directory / _ROOTS_BUNDLE, tls_url=settings.tls_url,
                        roots_of_issuer=roots_of_issuer)
    handlers = SecurityHandlers(adapter, settings, events, parts.certificates, parts.identity,
                                link, firmware_status=firmware_status, log_upload=log_upload)
    await handlers.refresh()
    adapter.add_handlers(handlers)
    adapter.link_security = link
    adapter.config.provide("SecurityProfile", lambda: str(profile.active))
    adapter.config.check_security_profile(handlers.profile_allowed)
    adapter.config.on_change(handlers.config_changed)
    adapter.clock.security_event = events.raise_event  # SettingSystemTime (clock jumps)
    adapter.supervise("security watch", handlers.watch)
    events.raise_event(ev.STARTUP_OF_THE_DEVICE, f"security profile {profile.active}")
    return handlers
