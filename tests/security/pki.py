"""A throw-away PKI built with ``cryptography`` for the security whitepaper tests: CAs that
issue server certificates for 127.0.0.1, sign CSRs and write PEM files."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

NOW = datetime.datetime.now(datetime.UTC)
DAY = datetime.timedelta(days=1)


def name(cn: str, org: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(attrs)


def pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


@dataclass
class Ca:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @classmethod
    def make(cls, cn: str = "Test CSMS Root", days: int = 800) -> Ca:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder().subject_name(name(cn, "Test CPO"))
                .issuer_name(name(cn, "Test CPO")).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(NOW - DAY).not_valid_after(NOW + days * DAY)
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .sign(key, hashes.SHA256()))
        return cls(key, cert)

    @property
    def pem(self) -> str:
        return pem(self.cert)

    def issue(self, subject: x509.Name, public_key: ec.EllipticCurvePublicKey, *,
              days: float = 365, server_ip: str | None = None, ca: bool = False,
              not_before: datetime.datetime | None = None) -> x509.Certificate:
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(self.cert.subject)
                   .public_key(public_key).serial_number(x509.random_serial_number())
                   .not_valid_before(not_before or NOW - DAY)
                   .not_valid_after(NOW + datetime.timedelta(days=days)))
        if server_ip:
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(server_ip))]), critical=False)
        if ca:
            builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None),
                                            critical=True)
        return builder.sign(self.key, hashes.SHA256())

    def sign_csr(self, csr_pem: str, days: float = 365) -> str:
        csr = x509.load_pem_x509_csr(csr_pem.encode())
        assert csr.is_signature_valid
        public = csr.public_key()
        assert isinstance(public, ec.EllipticCurvePublicKey)
        return pem(self.issue(csr.subject, public, days=days))

    def write(self, path: Path) -> Path:
        path.write_text(self.pem)
        return path

    def server_context(self, directory: Path, *, host_ip: str = "127.0.0.1",
                       client_ca: Ca | None = None, optional: bool = False) -> ssl.SSLContext:
        """A TLS server context with a certificate for ``host_ip`` (client certificates
        checked against ``client_ca``: required, or ``optional``)."""
        key = ec.generate_private_key(ec.SECP256R1())
        cert = self.issue(name("127.0.0.1", "Test CPO"), key.public_key(), server_ip=host_ip)
        cert_path, key_path = directory / "server.pem", directory / "server.key"
        cert_path.write_text(pem(cert))
        key_path.write_bytes(key_pem(key))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert_path, key_path)
        if client_ca is not None:
            ctx.verify_mode = ssl.CERT_OPTIONAL if optional else ssl.CERT_REQUIRED
            ctx.load_verify_locations(cadata=client_ca.pem)
        return ctx

    def client_files(self, directory: Path, cn: str = "CP-1",
                     days: float = 365) -> tuple[Path, Path]:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = self.issue(name(cn, "Test CPO"), key.public_key(), days=days)
        cert_path, key_path = directory / f"{cn}.pem", directory / f"{cn}.key"
        cert_path.write_text(pem(cert))
        key_path.write_bytes(key_pem(key))
        return cert_path, key_path
