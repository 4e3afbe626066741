"""OCPP 2.0.1 blocks A (security) and M (certificate management) over ``chargepoint.security``.

Connection (A00, security profiles 1-3): ``chargepoint.security.link.SecurityLink`` is the
adapter's ``link_security``: profile 1 Basic auth over ws://, 2 TLS (server certificate checked
against the CSMS roots: ``[ocpp] ca_file`` plus the installed ones) with Basic auth, 3 TLS with
the client certificate (the one A02 installed, else ``[ocpp] cert_file``). The Basic auth
password is ``SecurityCtrlr.BasicAuthPassword`` once the CSMS set one, else ``[ocpp] password``.
The profile is never changed over OCPP here (no SetNetworkProfile yet).

Device model (``SecurityCtrlr``): SecurityProfile and Identity read-only (set here at start),
BasicAuthPassword write-only (A01: a new one raises ReconfigurationOfSecurityParameters and
the station reconnects with it at once under profile 1 or 2), OrganizationName (the CSR's O),
CertSigningWaitMinimum, CertSigningRepeatTimes, MaxCertificateChainSize.

CSMS requests:
- GetInstalledCertificateIds (M03): CSMSRootCertificate and ManufacturerRootCertificate (no
  filter: both); NotFound when none matches. V2G / MO kinds are never installed.
- InstallCertificate (M05): CSMSRootCertificate, ManufacturerRootCertificate
  (``CertificateStore.install``); V2GRootCertificate, MORootCertificate: Rejected.
- DeleteCertificate (M04): Accepted / NotFound / Failed; the CSMS root that validated this
  connection, the last one while TLS is in use, the ``[ocpp] ca_file`` roots and the
  station's own ChargingStationCertificate (the one CertificateSigned installed, or
  ``[ocpp] cert_file``; matched by issuer name hash and serial number) are Failed.
- CertificateSigned (A02/A03): the chain is checked (``StationIdentity.check_chain``: the key
  of the last CSR, CN = the station id, valid now, leading to a CSMS root, at most
  MaxCertificateChainSize characters); Accepted installs it (the previous pair is kept) and,
  under profile 3, the station reconnects with it; a bad one is Rejected with
  InvalidChargingStationCertificate. ``certificateType`` V2GCertificate: Rejected.

Station requests:
- ``trigger_sign_certificate()`` (TriggerMessage SignChargingStationCertificate, and A03 when
  the client certificate nears its end: ``SecuritySettings.renew_before_s``): a new key pair and
  SignCertificate with its CSR (``certificateType`` ChargingStationCertificate). Unless
  Rejected, the same CSR is sent again when no CertificateSigned came within
  CertSigningWaitMinimum seconds, the wait doubling each time, at most CertSigningRepeatTimes
  times.
- SecurityEventNotification (A04): every security event (``chargepoint.security.events``),
  with its techInfo, through the store's outbound queue (``chargepoint.security.durable``):
  kept offline and across restarts, sent once registered. Names as 2.0.1 spells them
  (``EVENT_NAMES``).

Plug-in: ``await setup_security(adapter, settings, events=...)`` after the adapter is built,
before ``run()``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from ocpp.v201 import call_result  # type: ignore[import-untyped]

from chargepoint.ocpp201.client import on
from chargepoint.ocpp201.handlers import after
from chargepoint.ocpp201.services import AdapterServices
from chargepoint.ocpp201.triggers import TriggerHooks
from chargepoint.ocppj.connection import Endpoint
from chargepoint.ocppj.outbox import Outbox
from chargepoint.ocppj.rpc_errors import CallFailed
from chargepoint.security import events as ev
from chargepoint.security.certificate_requests import CertificateRequests, hash_fields
from chargepoint.security.certificates import CertificateHash, CertificateStore, CertUse
from chargepoint.security.events import SecurityEvents
from chargepoint.security.identity import StationIdentity
from chargepoint.security.link import SecurityLink
from chargepoint.security.parts import open_parts
from chargepoint.security.settings import SecuritySettings

if TYPE_CHECKING:
    from cryptography import x509

LOG = logging.getLogger("chargepoint.security")

# The security events' 2.0.1 names where they differ from the 1.6 whitepaper's.
EVENT_NAMES = {
    ev.FAILED_TO_AUTHENTICATE_AT_CSMS: "FailedToAuthenticateAtCsms",
    ev.CSMS_FAILED_TO_AUTHENTICATE: "CsmsFailedToAuthenticate",
    ev.INVALID_CSMS_CERTIFICATE: "InvalidCsmsCertificate",
    ev.INVALID_CHARGE_POINT_CERTIFICATE: "InvalidChargingStationCertificate",
}
# InstallCertificateUseEnumType / GetCertificateIdUseEnumType values the station keeps.
USES = {"CSMSRootCertificate": CertUse.CSMS, "ManufacturerRootCertificate": CertUse.MANUFACTURER}
WIRE_USE = {use: name for name, use in USES.items()}

PROFILE = "SecurityCtrlr.SecurityProfile"
IDENTITY = "SecurityCtrlr.Identity"
PASSWORD = "SecurityCtrlr.BasicAuthPassword"
ORGANIZATION = "SecurityCtrlr.OrganizationName"
WAIT_MINIMUM = "SecurityCtrlr.CertSigningWaitMinimum"
REPEAT_TIMES = "SecurityCtrlr.CertSigningRepeatTimes"
MAX_CHAIN = "SecurityCtrlr.MaxCertificateChainSize"
_ROOTS_BUNDLE = "csms-roots.pem"


class SecurityServices(AdapterServices, Protocol):
    """The 2.0.1 adapter as the security functions see it."""

    @property
    def options(self) -> Endpoint: ...
    @property
    def outbox(self) -> Outbox: ...

    def supervise(self, name: str, factory: Callable[[], Awaitable[None]]) -> None: ...

    async def reconnect(self) -> None: ...


def _hash_entry(use: CertUse, found: CertificateHash) -> dict[str, Any]:
    return {"certificate_type": WIRE_USE[use], "certificate_hash_data": hash_fields(found)}


def _info(reason: str, detail: str) -> dict[str, str]:
    return {"reason_code": reason, "additional_info": detail[:512]}


class SecurityHandlers:
    def __init__(self, services: SecurityServices, settings: SecuritySettings,
                 events: SecurityEvents, certificates: CertificateStore,
                 identity: StationIdentity, link: SecurityLink) -> None:
        self._s = services
        self.settings = settings
        self.events = events
        self.certificates = certificates
        self.identity = identity
        self.link = link
        self.certs = CertificateRequests(settings, events, certificates, identity, link,
                                         now=self._now, cert_file=services.options.cert_file)
        self._resending: asyncio.Task[None] | None = None
        self._new_certificate = False  # CertificateSigned just installed one

    # -- what the checks on the loop use
    async def refresh(self) -> None:
        """Re-read the CSMS roots and rewrite the TLS bundle the connection trusts."""
        await self.certs.refresh()

    def roots_of_issuer(self, issuer: x509.Name) -> set[str]:
        return self.certs.roots_of_issuer(issuer)

    def password(self) -> str | None:
        """The Basic auth password the CSMS set (A01), None: the configured one."""
        return self._s.model.value(PASSWORD) or None

    def variable_changed(self, key: str, value: str) -> None:
        if key == PASSWORD:
            # A01: logged without the value; used from the next connection, which is now.
            self.events.raise_event(ev.RECONFIGURATION_OF_SECURITY_PARAMETERS,
                                    "BasicAuthPassword changed")
            if self.link.link.effective in (1, 2):
                self.link.reconnect_after_answer()
        elif key == ORGANIZATION:
            self.events.raise_event(ev.RECONFIGURATION_OF_SECURITY_PARAMETERS,
                                    "OrganizationName changed")

    # -- M03 / M05 / M04
    @on("GetInstalledCertificateIds")
    async def on_get_installed(self, certificate_type: list[str] | None = None,
                               **_: Any) -> call_result.GetInstalledCertificateIds:
        wanted = [USES[t] for t in certificate_type if t in USES] if certificate_type \
            else list(CertUse)
        chain = [_hash_entry(use, found) for use, found in await self.certs.installed(wanted)]
        if not chain:
            return call_result.GetInstalledCertificateIds(status="NotFound")
        return call_result.GetInstalledCertificateIds(status="Accepted",
                                                      certificate_hash_data_chain=chain)

    @on("InstallCertificate")
    async def on_install_certificate(self, certificate_type: str, certificate: str,
                                     **_: Any) -> call_result.InstallCertificate:
        use = USES.get(certificate_type)
        if use is None:
            return call_result.InstallCertificate(
                status="Rejected", status_info=_info("NotSupported", certificate_type))
        status = await self.certs.install(use, certificate, certificate_type)
        return call_result.InstallCertificate(status=status)

    @on("DeleteCertificate")
    async def on_delete_certificate(self, certificate_hash_data: dict[str, Any],
                                    **_: Any) -> call_result.DeleteCertificate:
        if await self.certs.names_own_certificate(certificate_hash_data):
            LOG.warning("DeleteCertificate refused: the ChargingStationCertificate")
            return call_result.DeleteCertificate(status="Failed")
        return call_result.DeleteCertificate(
            status=await self.certs.delete(certificate_hash_data))

    # -- A02 / A03: the station's certificate
    def _organization(self) -> str | None:
        return self._s.model.value(ORGANIZATION) or None

    def can_sign(self) -> bool:
        """A CSR can be made (OrganizationName is set): TriggerMessage answers Rejected if not."""
        return self._organization() is not None

    async def trigger_sign_certificate(self, why: str = "TriggerMessage") -> bool:
        """A new key pair and SignCertificate with its CSR; True when the CSMS Accepted it.
        Unless Rejected, resent while no CertificateSigned comes (module docstring)."""
        organization = self._organization()
        if organization is None:
            LOG.warning("no SignCertificate (%s): SecurityCtrlr.OrganizationName is not set", why)
            return False
        self._stop_resending()
        csr = await self.certs.new_csr(self._s.options.station_id, organization)
        status = await self._sign(csr, why)
        if status != "Rejected":
            self._resending = self._s.spawn(self._resend(csr))
        return status == "Accepted"

    async def _sign(self, csr: str, why: str) -> str | None:
        try:
            result = await self._s.request("SignCertificate", {
                "csr": csr, "certificateType": "ChargingStationCertificate"})
        except (ConnectionError, CallFailed, TimeoutError) as exc:
            LOG.warning("SignCertificate (%s) not answered: %s", why, exc)
            return None
        status = str(result.get("status"))
        LOG.info("SignCertificate (%s): %s", why, status)
        return status

    async def _resend(self, csr: str) -> None:
        wait = float(self._s.model.get_int(WAIT_MINIMUM))
        for attempt in range(1, self._s.model.get_int(REPEAT_TIMES) + 1):
            await asyncio.sleep(wait)
            await self._s.registered.wait()
            if await self._sign(csr, f"no CertificateSigned within {wait:.0f} s, "
                                     f"repeat {attempt}") == "Rejected":
                return
            wait *= 2

    def _stop_resending(self) -> None:
        if self._resending is not None:
            self._resending.cancel()
            self._resending = None

    @on("CertificateSigned")
    async def on_certificate_signed(self, certificate_chain: str,
                                    certificate_type: str | None = None,
                                    **_: Any) -> call_result.CertificateSigned:
        self._stop_resending()  # the CSMS answered the CSR
        self._new_certificate = False
        if certificate_type not in (None, "ChargingStationCertificate"):
            return call_result.CertificateSigned(
                status="Rejected", status_info=_info("NotSupported", str(certificate_type)))
        problem = await self.certs.install_signed(
            certificate_chain, self._s.options.station_id, self._s.model.get_int(MAX_CHAIN))
        if problem is not None:
            return call_result.CertificateSigned(status="Rejected",
                                                 status_info=_info("InvalidCertificate", problem))
        self._new_certificate = True
        self.events.raise_event(ev.RECONFIGURATION_OF_SECURITY_PARAMETERS,
                                "charging station certificate installed")
        return call_result.CertificateSigned(status="Accepted")

    @after("CertificateSigned")
    def after_certificate_signed(self, **_: Any) -> None:
        if self._new_certificate:
            self._new_certificate = False
            self.link.use_new_certificate()  # profile 3: reconnect with it (fallback: A02)

    # -- the watch task: certificate expiry (A03) and free space (MemoryExhaustion)
    async def watch(self) -> None:
        await self.certs.watch(self._s.registered, self.trigger_sign_certificate)

    def _now(self) -> datetime:
        return self._s.clock.wall_now() or datetime.now(UTC)


class SecurityHost(SecurityServices, Protocol):
    """``setup_security``'s view: the services plus the slots it fills."""

    link_security: SecurityLink | None

    @property
    def trigger_hooks(self) -> TriggerHooks: ...

    def add_handlers(self, *handlers: object) -> None: ...


async def setup_security(adapter: SecurityHost, settings: SecuritySettings, *,
                         events: SecurityEvents | None = None) -> SecurityHandlers:
    """Build and attach everything (module docstring); call inside the loop before ``run()``.
    ``events``: the station's ``SecurityEvents`` (its log); made here when None."""
    o = adapter.options
    parts = await open_parts(settings, adapter.port.store, adapter.clock, adapter.outbox.wake,
                             security_profile=o.security_profile, ca_file=o.ca_file,
                             events=events, names=EVENT_NAMES)
    events, profile = parts.events, parts.profile
    handlers: SecurityHandlers | None = None

    def roots_of_issuer(name: x509.Name) -> set[str]:
        return handlers.roots_of_issuer(name) if handlers is not None else set()

    def password() -> str | None:
        return handlers.password() if handlers is not None else None

    link = SecurityLink(adapter, events, profile, parts.identity,
                        settings.directory / _ROOTS_BUNDLE, authorization_key=password,
                        tls_url=settings.tls_url, roots_of_issuer=roots_of_issuer)
    handlers = SecurityHandlers(adapter, settings, events, parts.certificates, parts.identity,
                                link)
    await handlers.refresh()
    adapter.add_handlers(handlers)
    adapter.link_security = link

    async def sign() -> None:
        await handlers.trigger_sign_certificate()

    adapter.trigger_hooks.register("SignChargingStationCertificate", sign,
                                   lambda _evse: handlers.can_sign())
    adapter.model.apply(PROFILE, str(profile.active))
    adapter.model.apply(IDENTITY, o.station_id)
    adapter.model.on_change(handlers.variable_changed)
    adapter.clock.security_event = events.raise_event  # SettingSystemTime (clock jumps)
    adapter.supervise("security watch", handlers.watch)
    events.raise_event(ev.STARTUP_OF_THE_DEVICE, f"security profile {profile.active}")
    return handlers
