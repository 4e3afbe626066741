"""The certificate work of both OCPP versions; each version keeps only its thin ``@on`` wrappers.

``CertificateRequests(settings, events, certificates, identity, link, now=..., cert_file=...)``:
- ``refresh()``: re-read the CSMS roots (``csms_roots``) and rewrite the TLS bundle
  (``link.roots_bundle``) the connection trusts; ``roots_of_issuer(name)`` for the link.
- ``installed(uses)`` (M03): (use, hash) of every installed root of ``uses``.
- ``names_own_certificate(certificate_hash_data)``: whether it is the station's client
  certificate (2.0.1 answers Failed for it).
- ``install(use, pem, label)`` (M05) and ``delete(certificate_hash_data)`` (M04): the status;
  Accepted refreshes the roots and raises ReconfigurationOfSecurityParameters. Delete is Failed
  for the CSMS root that validated this connection and for the last one while TLS is in use.
- ``new_csr(station_id, organization)`` (A02): a new key pair and its CSR; remembers when the
  renewal was asked.
- ``install_signed(chain, station_id, max_chars)`` (A02): checks and installs a
  CertificateSigned chain; the problem (None: installed), raising
  InvalidChargePointCertificate.
- ``watch(registered, renew)``: every ``watch_interval_s`` MemoryExhaustion on low free space
  and, once the client certificate ends within ``renew_before_s``, ``renew(why)`` once
  registered (A03; one attempt a day at most).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chargepoint.security import events as ev
from chargepoint.security.certificates import (
    HASH_ALGORITHMS,
    CertificateHash,
    CertificateStore,
    CertUse,
    hash_data,
)
from chargepoint.security.events import SecurityEvents
from chargepoint.security.guards import MemoryWatch
from chargepoint.security.identity import StationIdentity, certificate_not_after
from chargepoint.security.link import SecurityLink
from chargepoint.security.settings import SecuritySettings

if TYPE_CHECKING:
    from cryptography import x509

LOG = logging.getLogger("chargepoint.security")
RENEW_AGAIN_S = 86400.0  # A03: one renewal attempt a day at most


def hash_fields(found: CertificateHash) -> dict[str, str]:
    """CertificateHashDataType as the ``ocpp`` library's snake_case payload."""
    return {"hash_algorithm": found.hash_algorithm, "issuer_name_hash": found.issuer_name_hash,
            "issuer_key_hash": found.issuer_key_hash, "serial_number": found.serial_number}


class CertificateRequests:
    def __init__(self, settings: SecuritySettings, events: SecurityEvents,
                 certificates: CertificateStore, identity: StationIdentity, link: SecurityLink,
                 *, now: Callable[[], datetime], cert_file: str | None) -> None:
        self.settings = settings
        self.events = events
        self.certificates = certificates
        self.identity = identity
        self.link = link
        self.now = now
        self.cert_file = cert_file
        self.csms_roots: list[x509.Certificate] = []
        self.memory = MemoryWatch(settings.min_free_bytes, settings.min_free_fraction)
        self._renewal_asked: float | None = None

    # -- the roots
    async def refresh(self) -> None:
        """Re-read the CSMS roots and rewrite the TLS bundle the connection trusts."""
        def work() -> list[x509.Certificate]:
            roots = self.certificates.csms_roots()
            bundle = self.link.roots_bundle
            bundle.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            tmp = bundle.with_suffix(".tmp")
            tmp.write_text(self.certificates.csms_bundle())
            tmp.replace(bundle)
            return roots

        self.csms_roots = await asyncio.to_thread(work)

    def roots_of_issuer(self, issuer: x509.Name) -> set[str]:
        return {format(r.serial_number, "X") for r in self.csms_roots if r.subject == issuer}

    # -- M03 / M05 / M04
    async def installed(self, uses: Iterable[CertUse]) -> list[tuple[CertUse, CertificateHash]]:
        wanted = list(uses)

        def work() -> list[tuple[CertUse, CertificateHash]]:
            return [(use, found) for use in wanted for found in self.certificates.hashes(use)]

        return await asyncio.to_thread(work)

    async def install(self, use: CertUse, certificate: str, label: str) -> str:
        status = await asyncio.to_thread(self.certificates.install, use, certificate,
                                         self.now())
        if status == "Accepted":
            await self.refresh()
            self.events.raise_event(ev.RECONFIGURATION_OF_SECURITY_PARAMETERS,
                                    f"{label} installed")
        return status

    async def delete(self, certificate_hash_data: dict[str, Any]) -> str:
        wanted = CertificateHash(certificate_hash_data["hash_algorithm"],
                                 certificate_hash_data["issuer_name_hash"],
                                 certificate_hash_data["issuer_key_hash"],
                                 certificate_hash_data["serial_number"])
        in_use = set(self.link.roots_in_use)
        if self.link.link.effective >= 2 and len(self.csms_roots) <= 1:
            # Never the last CSMS root while TLS needs one (M04.FR.06 in spirit).
            in_use |= {format(r.serial_number, "X") for r in self.csms_roots}
        status = await asyncio.to_thread(self.certificates.delete, wanted, in_use)
        if status == "Accepted":
            await self.refresh()
            self.events.raise_event(ev.RECONFIGURATION_OF_SECURITY_PARAMETERS,
                                    f"certificate {wanted.serial_number} deleted")
        return status

    async def names_own_certificate(self, certificate_hash_data: dict[str, Any]) -> bool:
        """Whether the hash data names the station's own client certificate (the one
        CertificateSigned installed, or ``cert_file``): issuer name hash and serial number
        name a certificate, its issuer's key need not be at hand. OCPP 2.0.1 answers Failed
        for it (OCTT M23); ``delete`` itself only knows the roots."""
        wanted = CertificateHash(certificate_hash_data["hash_algorithm"],
                                 certificate_hash_data["issuer_name_hash"],
                                 certificate_hash_data["issuer_key_hash"],
                                 certificate_hash_data["serial_number"])
        if wanted.hash_algorithm not in HASH_ALGORITHMS:
            return False

        def work() -> bool:
            from cryptography import x509

            pair = self.identity.client_pair()
            paths = [pair[0]] if pair is not None else []
            if self.cert_file:
                paths.append(Path(self.cert_file))
            for path in paths:
                try:
                    leaf = x509.load_pem_x509_certificates(path.read_bytes())[0]
                except (OSError, ValueError, IndexError):
                    continue
                own = hash_data(leaf, leaf.public_key(), wanted.hash_algorithm)
                if own.issuer_name_hash.lower() == wanted.issuer_name_hash.lower() and \
                        own.serial_number.lower().lstrip("0") == \
                        wanted.serial_number.lower().lstrip("0"):
                    return True
            return False

        return await asyncio.to_thread(work)

    # -- A02 / A03: the station's certificate
    async def new_csr(self, station_id: str, organization: str) -> str:
        csr = await asyncio.to_thread(self.identity.new_csr, station_id, organization)
        self._renewal_asked = time.monotonic()
        return csr

    async def install_signed(self, certificate_chain: str, station_id: str,
                             max_chars: int) -> str | None:
        def check_and_install() -> str | None:
            problem = self.identity.check_chain(
                certificate_chain, self.certificates.csms_roots(), self.now(), station_id,
                max_chars)
            if problem is None:
                self.identity.install(certificate_chain)
            return problem

        problem = await asyncio.to_thread(check_and_install)
        if problem is not None:
            LOG.error("CertificateSigned refused: %s", problem)
            self.events.raise_event(ev.INVALID_CHARGE_POINT_CERTIFICATE, problem)  # A02.FR.07
        return problem

    # -- the watch task: certificate expiry (A03.FR.02) and free space (MemoryExhaustion)
    async def watch(self, registered: asyncio.Event,
                    renew: Callable[[str], Awaitable[object]]) -> None:
        while True:
            await self.check_once(registered, renew)
            await asyncio.sleep(self.settings.watch_interval_s)

    async def check_once(self, registered: asyncio.Event,
                         renew: Callable[[str], Awaitable[object]]) -> None:
        usage = await asyncio.to_thread(shutil.disk_usage, self.settings.directory)
        if self.memory.check(usage.free, usage.total):
            self.events.raise_event(ev.MEMORY_EXHAUSTION,
                                    f"{usage.free // 2**20} MiB free of {usage.total // 2**20}")
        end = await asyncio.to_thread(self._client_not_after)
        if end is None or (end - self.now()).total_seconds() > self.settings.renew_before_s:
            return
        if self._renewal_asked is not None and \
                time.monotonic() - self._renewal_asked < RENEW_AGAIN_S:
            return  # asked already today (A03 error handling: no fast retries)
        await registered.wait()
        await renew(f"certificate ends {end:%Y-%m-%d}")

    def _client_not_after(self) -> datetime | None:
        end = self.identity.not_after()
        if end is None and self.cert_file:
            end = certificate_not_after(Path(self.cert_file))
        return end
