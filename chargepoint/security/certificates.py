"""Root certificates of the station (whitepaper M03 list, M04 delete, M05 install).

``CertificateStore(csms_dir, manufacturer_dir, *, configured_csms=None, max_length=20)``:
- ``CSMS`` roots (CentralSystemRootCertificate) live in ``csms_dir``; the roots of the
  ``[ocpp] ca_file`` (``configured_csms``) count as installed too, are listed, but cannot be
  deleted over OCPP (the file belongs to the installer).
- ``MANUFACTURER`` roots (ManufacturerRootCertificate) live in ``manufacturer_dir`` (the
  ``[firmware] roots_dir`` the firmware signature check reads).
- ``install(use, pem) -> "Accepted" | "Rejected" | "Failed"`` (M05.FR.02/03/04/06): one
  self-signed CA certificate, valid now; Rejected when ``max_length`` certificates are
  installed already (CertificateStoreMaxLength counts both kinds).
- ``hashes(use) -> list[CertificateHash]`` (M03.FR.04); ``delete(hash, in_use=...) ->
  "Accepted" | "Failed" | "NotFound"`` (M04.FR.02..06: a CSMS root that validates the current
  connection is Failed).
- ``csms_roots()`` / ``csms_bundle()``: what the TLS client trusts.

``hash_data(cert, issuer_public_key, algorithm)``: CertificateHashDataType as edition 3
clarified it (RFC 6960 CertID): the hash of the DER issuer name, the hash of the issuer's
public key BIT STRING value, the serial number in hex without leading zeroes.
Blocking file I/O: call from a worker thread. ``cryptography`` is imported when a certificate
is read or installed, not with this module (no roots installed: never).
"""

from __future__ import annotations

import enum
import hashlib
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes

LOG = logging.getLogger("chargepoint.security")
HASH_ALGORITHMS = {"SHA256": hashlib.sha256, "SHA384": hashlib.sha384,
                   "SHA512": hashlib.sha512}


class CertUse(enum.Enum):
    CSMS = "CentralSystemRootCertificate"
    MANUFACTURER = "ManufacturerRootCertificate"


@dataclass(frozen=True, slots=True)
class CertificateHash:
    """CertificateHashDataType (hex strings compare case-insensitively: CiString)."""

    hash_algorithm: str
    issuer_name_hash: str
    issuer_key_hash: str
    serial_number: str

    def matches(self, other: CertificateHash) -> bool:
        return (self.hash_algorithm == other.hash_algorithm
                and self.issuer_name_hash.lower() == other.issuer_name_hash.lower()
                and self.issuer_key_hash.lower() == other.issuer_key_hash.lower()
                and self.serial_number.lower().lstrip("0") == other.serial_number.lower()
                .lstrip("0"))


def public_key_bits(key: CertificatePublicKeyTypes) -> bytes:
    """The value of the subjectPublicKey BIT STRING (no tag, length, unused-bits octet)."""
    from cryptography.hazmat.primitives import serialization

    der = key.public_bytes(serialization.Encoding.DER,
                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return _bit_string_value(der)


def _read_tlv(data: bytes, at: int) -> tuple[int, int, int]:
    """(tag, start of value, end of value) of the DER element at ``at``."""
    tag = data[at]
    length = data[at + 1]
    pos = at + 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    return tag, pos, pos + length


def _bit_string_value(spki: bytes) -> bytes:
    # SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier,
    #                                     subjectPublicKey BIT STRING }
    _, start, _ = _read_tlv(spki, 0)
    _, _, algorithm_end = _read_tlv(spki, start)
    tag, value_start, value_end = _read_tlv(spki, algorithm_end)
    if tag != 0x03:
        raise ValueError("SubjectPublicKeyInfo without a BIT STRING")
    return spki[value_start + 1:value_end]  # skip the unused-bits octet


def hash_data(cert: x509.Certificate, issuer_key: CertificatePublicKeyTypes,
              algorithm: str = "SHA256") -> CertificateHash:
    digest = HASH_ALGORITHMS[algorithm]
    return CertificateHash(
        algorithm,
        digest(cert.issuer.public_bytes()).hexdigest(),
        digest(public_key_bits(issuer_key)).hexdigest(),
        format(cert.serial_number, "X"),
    )


def _self_signed(cert: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(cert)
    except Exception:  # ValueError, TypeError, InvalidSignature
        return False
    return True


def _is_ca(cert: x509.Certificate) -> bool:
    from cryptography import x509

    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _file_name(cert: x509.Certificate) -> str:
    from cryptography.hazmat.primitives import serialization

    return f"{hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()[:32]}.pem"


def read_pem_certificates(path: Path) -> list[x509.Certificate]:
    from cryptography import x509

    try:
        return x509.load_pem_x509_certificates(path.read_bytes())
    except (OSError, ValueError) as exc:
        LOG.warning("unreadable certificate file %s: %s", path, exc)
        return []


class CertificateStore:
    def __init__(self, csms_dir: Path, manufacturer_dir: Path, *,
                 configured_csms: Path | None = None, max_length: int = 20) -> None:
        self._dirs = {CertUse.CSMS: csms_dir, CertUse.MANUFACTURER: manufacturer_dir}
        self._configured = configured_csms
        self.max_length = max_length

    # -- reading
    def _installed(self, use: CertUse) -> list[tuple[Path, x509.Certificate]]:
        directory = self._dirs[use]
        if not directory.is_dir():
            return []
        found: list[tuple[Path, x509.Certificate]] = []
        for path in sorted(directory.iterdir()):
            if path.suffix.lower() in (".pem", ".crt") and path.is_file():
                found.extend((path, c) for c in read_pem_certificates(path))
        return found

    def _configured_roots(self) -> list[x509.Certificate]:
        return read_pem_certificates(self._configured) if self._configured else []

    def certificates(self, use: CertUse) -> list[x509.Certificate]:
        """Every certificate of ``use`` (for CSMS: the ``ca_file`` ones first)."""
        configured = self._configured_roots() if use is CertUse.CSMS else []
        return configured + [c for _, c in self._installed(use)]

    def csms_roots(self) -> list[x509.Certificate]:
        return self.certificates(CertUse.CSMS)

    def csms_bundle(self) -> str:
        """The CSMS roots as one PEM text (for ``ssl.SSLContext.load_verify_locations``)."""
        roots = self.csms_roots()
        if not roots:
            return ""
        from cryptography.hazmat.primitives import serialization

        return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in roots)

    def count(self) -> int:
        return sum(len(self._installed(use)) for use in CertUse)

    def hashes(self, use: CertUse, algorithm: str = "SHA256") -> list[CertificateHash]:
        """M03: the hash data of every certificate of ``use`` (roots: issuer = itself)."""
        return [hash_data(c, c.public_key(), algorithm) for c in self.certificates(use)]

    # -- changing
    def install(self, use: CertUse, pem: str, now: datetime | None = None) -> str:
        """M05: see the module docstring."""
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        try:
            certs = x509.load_pem_x509_certificates(pem.encode())
        except ValueError as exc:
            LOG.warning("InstallCertificate %s refused: not a PEM certificate (%s)", use.value, exc)
            return "Rejected"
        at = now or datetime.now(UTC)
        if len(certs) != 1:
            LOG.warning("InstallCertificate %s refused: %d certificates", use.value, len(certs))
            return "Rejected"
        cert = certs[0]
        if not (_is_ca(cert) and _self_signed(cert)
                and cert.not_valid_before_utc <= at <= cert.not_valid_after_utc):
            LOG.warning("InstallCertificate %s refused: not a valid self-signed CA certificate",
                        use.value)
            return "Rejected"
        directory = self._dirs[use]
        target = directory / _file_name(cert)
        if target.exists():
            return "Accepted"  # the same certificate again: nothing to do
        if self.count() >= self.max_length:
            LOG.warning("InstallCertificate %s refused: %d certificates installed (max %d)",
                        use.value, self.count(), self.max_length)
            return "Rejected"  # M05.FR.03
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            tmp = target.with_suffix(".tmp")
            tmp.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
            os.replace(tmp, target)
        except OSError as exc:
            LOG.error("InstallCertificate %s failed: %s", use.value, exc)
            return "Failed"  # M05.FR.04
        return "Accepted"

    def delete(self, wanted: CertificateHash, in_use: set[str] | None = None) -> str:
        """M04: ``in_use`` = serial numbers (hex) of CSMS roots validating the connection."""
        if wanted.hash_algorithm not in HASH_ALGORITHMS:
            return "NotFound"
        for use in CertUse:
            for path, cert in self._installed(use):
                if not hash_data(cert, cert.public_key(), wanted.hash_algorithm).matches(wanted):
                    continue
                if use is CertUse.CSMS and format(cert.serial_number, "X") in (in_use or set()):
                    LOG.warning("DeleteCertificate refused: the CSMS root %s is in use",
                                cert.subject.rfc4514_string())
                    return "Failed"  # M04.FR.06
                try:
                    path.unlink()
                except OSError as exc:
                    LOG.error("DeleteCertificate failed: %s", exc)
                    return "Failed"  # M04.FR.03
                return "Accepted"
        for cert in self._configured_roots():
            if hash_data(cert, cert.public_key(), wanted.hash_algorithm).matches(wanted):
                LOG.warning("DeleteCertificate refused: the root comes from [ocpp] ca_file")
                return "Failed"
        return "NotFound"
