"""Signed firmware checks (OCPP 1.6 security whitepaper, "Secure firmware update").

Contract:
- ``load_roots(directory)`` reads every ``*.pem`` / ``*.crt`` there (the installed
  ManufacturerRootCertificates); unreadable files are skipped with a warning.
- ``verify_signing_certificate(pem, roots, at)`` returns the signing certificate when the PEM
  (leaf first, optional intermediates after it) chains up to one of ``roots``, every link
  signed by the next, every certificate valid at ``at``, every issuer a CA; else raises
  ``InvalidCertificate``. A manual check, written out so its rules can be read: the
  ``cryptography.x509.verification`` verifiers are built for TLS server/client policies.
- ``verify_file_signature(cert, path, signature_b64)``: the base64 signature over the file's
  bytes with SHA-256, RSA PKCS#1 v1.5 or ECDSA by the certificate's key type; raises
  ``InvalidSignature``.

``cryptography`` is imported on the first check, not with this module (a station that never
gets a signed update does not load it).
"""

from __future__ import annotations

import base64
import binascii
import itertools
import logging
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography import x509

LOG = logging.getLogger("chargepoint.firmware")
_MAX_CHAIN = 5


class InvalidCertificate(Exception):
    """The signing certificate is not trusted (SecurityEvent InvalidFirmwareSigningCertificate)."""


class InvalidSignature(Exception):
    """The firmware signature does not verify (SecurityEvent InvalidFirmwareSignature)."""


def load_roots(directory: Path) -> list[x509.Certificate]:
    from cryptography import x509

    roots: list[x509.Certificate] = []
    if not directory.is_dir():
        return roots
    for path in sorted(directory.iterdir()):
        if path.suffix.lower() not in (".pem", ".crt"):
            continue
        try:
            roots.extend(x509.load_pem_x509_certificates(path.read_bytes()))
        except (ValueError, OSError) as exc:
            LOG.warning("skipping unreadable root certificate %s: %s", path.name, exc)
    return roots


def _valid_at(cert: x509.Certificate, at: datetime) -> bool:
    return cert.not_valid_before_utc <= at <= cert.not_valid_after_utc


def _is_ca(cert: x509.Certificate) -> bool:
    from cryptography import x509

    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _signed_by(child: x509.Certificate, issuer: x509.Certificate) -> bool:
    from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature

    if child.issuer != issuer.subject:
        return False
    try:
        child.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, _CryptoInvalidSignature):
        return False
    return True


def verify_signing_certificate(pem: str, roots: list[x509.Certificate],
                               at: datetime) -> x509.Certificate:
    """See the module docstring. ``at`` must be timezone-aware (UTC)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    try:
        chain = x509.load_pem_x509_certificates(pem.encode())
    except ValueError as exc:
        raise InvalidCertificate(f"unreadable signing certificate: {exc}") from None
    if not chain or len(chain) > _MAX_CHAIN:
        raise InvalidCertificate("signing certificate chain empty or too long")
    if not roots:
        raise InvalidCertificate("no manufacturer root certificate installed")
    for cert in chain:
        if not _valid_at(cert, at):
            raise InvalidCertificate(f"certificate {cert.subject.rfc4514_string()} "
                                     "is expired or not yet valid")
    for child, parent in itertools.pairwise(chain):
        if not (_is_ca(parent) and _signed_by(child, parent)):
            raise InvalidCertificate("certificate chain is broken")
    top = chain[-1]
    for root in roots:
        if root.fingerprint(hashes.SHA256()) == top.fingerprint(hashes.SHA256()) and _is_ca(
                root) and _valid_at(root, at):
            return chain[0]  # the chain ends in an installed root itself
        if _is_ca(root) and _valid_at(root, at) and _signed_by(top, root):
            return chain[0]
    raise InvalidCertificate("signing certificate does not chain to an installed root")


def verify_file_signature(cert: x509.Certificate, path: Path, signature_b64: str) -> None:
    """See the module docstring."""
    from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidSignature("signature is not valid base64") from None
    digest = hashes.Hash(hashes.SHA256())  # streamed: firmware files can be large
    with path.open("rb") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
    data = digest.finalize()
    prehashed = utils.Prehashed(hashes.SHA256())
    key = cert.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), prehashed)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(prehashed))
        else:
            raise InvalidSignature(f"unsupported key type {type(key).__name__}")
    except _CryptoInvalidSignature:
        raise InvalidSignature("signature does not match the firmware file") from None
