"""The station's own key pair and client certificate (whitepaper A02/A03, profile 3).

``StationIdentity(directory)`` keeps, in ``directory`` (mode 0700):
- ``pending.key``: the private key of the last CSR, waiting for its certificate;
- ``current.pem`` / ``current.key``: the chain and key in use for TLS client authentication;
- ``previous.pem`` / ``previous.key``: the pair before it, the fallback (A02.FR.10).
Private key files are created with mode 0600 and never leave the station (A02.FR.05): no
method returns key material, only paths for the TLS context.

- ``new_csr(common_name, organization) -> str``: a new EC P-256 key pair (A02.FR.02,
  A00.FR.503) and its PEM CSR with CN = the station id and O = CpoName (A02.FR.03/13).
- ``check_chain(pem, roots, now, common_name, max_chars) -> str | None``: why a
  CertificateSigned chain is refused (A02.FR.06), None when it is good.
- ``install(pem)``: the checked chain becomes ``current`` with the pending key; the pair in use
  before becomes ``previous``. ``fall_back()`` restores ``previous`` (the new one did not work).
- ``client_pair() -> (cert, key) | None``; ``not_after() -> datetime | None``.
Blocking file I/O and key generation: call from a worker thread. ``cryptography`` is imported
when a key or certificate is used, not with this module (a station without a client
certificate never loads it: about 8 MiB and 40 ms of start-up).
"""

from __future__ import annotations

import itertools
import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography import x509

_PENDING_KEY = "pending.key"


def _spki(key: object) -> bytes:
    from cryptography.hazmat.primitives import serialization

    assert hasattr(key, "public_bytes")
    der: bytes = key.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    return der


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` with mode 0600 from the first byte on (atomic replace)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


class StationIdentity:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, name: str) -> Path:
        return self.directory / name

    def _ensure_dir(self) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    # -- A02.FR.02/03: key pair and CSR
    def new_csr(self, common_name: str, organization: str) -> str:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        self._ensure_dir()
        key = ec.generate_private_key(ec.SECP256R1())
        write_private(self._path(_PENDING_KEY), key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                             x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization)])
        csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(
            key, hashes.SHA256())
        return csr.public_bytes(serialization.Encoding.PEM).decode()

    def has_pending_key(self) -> bool:
        return self._path(_PENDING_KEY).is_file()

    # -- A02.FR.06: checking the signed chain
    def check_chain(self, pem: str, roots: list[x509.Certificate], now: datetime,
                    common_name: str, max_chars: int) -> str | None:
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization
        from cryptography.x509.oid import NameOID

        if len(pem) > max_chars:
            return f"chain of {len(pem)} characters exceeds CertificateSignedMaxChainSize"
        try:
            chain = x509.load_pem_x509_certificates(pem.encode())
        except ValueError as exc:
            return f"not a PEM certificate chain ({exc})"
        if not self.has_pending_key():
            return "no key pair is waiting for a certificate (no CSR sent)"
        pending = serialization.load_pem_private_key(
            self._path(_PENDING_KEY).read_bytes(), password=None)
        leaf = chain[0]
        if _spki(leaf.public_key()) != _spki(pending.public_key()):
            return "the certificate does not belong to the key of the last CSR"
        names = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        if not names or names[0].value != common_name:
            return f"subject CN is not the station id {common_name!r}"
        for cert in chain:
            if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
                return f"{cert.subject.rfc4514_string()} is not valid now"
        for child, parent in itertools.pairwise(chain):
            if not _issued_by(child, parent):
                return f"{child.subject.rfc4514_string()} is not signed by the next certificate"
        top = chain[-1]
        if not any(_issued_by(top, root) for root in roots):
            return "the chain does not lead to an installed CSMS root certificate"
        return None

    # -- installing and falling back
    def install(self, pem: str) -> None:
        """Make the checked chain ``current`` (see the module docstring)."""
        self._ensure_dir()
        if self._path("current.pem").exists():
            os.replace(self._path("current.pem"), self._path("previous.pem"))
            os.replace(self._path("current.key"), self._path("previous.key"))
        write_private(self._path("current.key"), self._path(_PENDING_KEY).read_bytes())
        tmp = self._path("current.pem.tmp")
        tmp.write_text(pem)
        os.replace(tmp, self._path("current.pem"))
        self._path(_PENDING_KEY).unlink()

    def fall_back(self) -> bool:
        """Restore the previous pair; False when there is none."""
        if not self._path("previous.pem").exists():
            return False
        os.replace(self._path("previous.pem"), self._path("current.pem"))
        os.replace(self._path("previous.key"), self._path("current.key"))
        return True

    def client_pair(self) -> tuple[Path, Path] | None:
        cert, key = self._path("current.pem"), self._path("current.key")
        return (cert, key) if cert.is_file() and key.is_file() else None

    def not_after(self) -> datetime | None:
        pair = self.client_pair()
        if pair is None:
            return None
        from cryptography import x509

        try:
            return x509.load_pem_x509_certificates(pair[0].read_bytes())[0].not_valid_after_utc
        except (OSError, ValueError):
            return None


def _issued_by(child: x509.Certificate, parent: x509.Certificate) -> bool:
    try:
        child.verify_directly_issued_by(parent)
    except Exception:  # ValueError, TypeError, InvalidSignature: not its issuer
        return False
    return True


def certificate_not_after(path: Path) -> datetime | None:
    """The end of validity of the first certificate in a PEM file (None: unreadable)."""
    from cryptography import x509

    try:
        return x509.load_pem_x509_certificates(path.read_bytes())[0].not_valid_after_utc
    except (OSError, ValueError, IndexError):
        return None
