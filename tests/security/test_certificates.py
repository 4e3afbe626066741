"""Root certificate store (M03/M04/M05), station identity (A02) and TLS context (A00)."""

from __future__ import annotations

import datetime
import os
import ssl
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509 import ocsp

from chargepoint.security.certificates import CertificateHash, CertificateStore, CertUse
from chargepoint.security.identity import StationIdentity
from chargepoint.security.tls import TLS12_CIPHERS, client_context
from tests.security.pki import NOW, Ca, name, pem


def _rsa_root() -> x509.Certificate:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return (x509.CertificateBuilder().subject_name(name("RSA Root", "CPO"))
            .issuer_name(name("RSA Root", "CPO")).public_key(key.public_key())
            .serial_number(4095).not_valid_before(NOW - datetime.timedelta(days=1))
            .not_valid_after(NOW + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))


def _store(tmp_path: Path, configured: Path | None = None, limit: int = 20) -> CertificateStore:
    return CertificateStore(tmp_path / "csms", tmp_path / "maker", configured_csms=configured,
                            max_length=limit)


@pytest.mark.parametrize("algorithm", ["SHA256", "SHA384", "SHA512"])
def test_m03_hash_data_matches_an_independent_ocsp_cert_id(tmp_path: Path,
                                                          algorithm: str) -> None:
    """Edition 3 CertificateHashDataType = RFC 6960 CertID; RSA keys too; serial 4095 is
    "FFF" (no leading zeroes)."""
    store = _store(tmp_path)
    root = _rsa_root()
    assert store.install(CertUse.CSMS, pem(root)) == "Accepted"
    algo = {"SHA256": hashes.SHA256(), "SHA384": hashes.SHA384(),
            "SHA512": hashes.SHA512()}[algorithm]
    req = ocsp.OCSPRequestBuilder().add_certificate(root, root, algo).build()
    assert store.hashes(CertUse.CSMS, algorithm) == [CertificateHash(
        algorithm, req.issuer_name_hash.hex(), req.issuer_key_hash.hex(), "FFF")]


def test_m04_ca_file_roots_are_listed_but_not_deletable(tmp_path: Path) -> None:
    ca = Ca.make()
    store = _store(tmp_path, ca.write(tmp_path / "ca.pem"))
    (listed,) = store.hashes(CertUse.CSMS)
    upper = CertificateHash(listed.hash_algorithm, listed.issuer_name_hash.upper(),
                            listed.issuer_key_hash.upper(), listed.serial_number.lower())
    assert store.delete(upper) == "Failed"  # CiString: case does not matter
    assert store.csms_roots() == [ca.cert]


def test_m05_fr03_store_max_length(tmp_path: Path) -> None:
    store = _store(tmp_path, limit=2)
    assert [store.install(CertUse.MANUFACTURER, Ca.make(f"r{i}").pem) for i in range(3)] == [
        "Accepted", "Accepted", "Rejected"]


def test_m05_expired_root_rejected(tmp_path: Path) -> None:
    store = _store(tmp_path)
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=2000)
    assert store.install(CertUse.CSMS, Ca.make().pem, later) == "Rejected"


def test_a02_key_files_0600_and_chain_size_and_fallback(tmp_path: Path) -> None:
    """A02.FR.05 (0600), CertificateSignedMaxChainSize, A02.FR.10 fallback to the old pair."""
    ca = Ca.make()
    identity = StationIdentity(tmp_path / "id")
    first = ca.sign_csr(identity.new_csr("CP-1", "CPO"))
    assert identity.check_chain(first, [ca.cert], NOW, "CP-1", 10000) is None
    identity.install(first)
    second_csr = identity.new_csr("CP-1", "CPO")
    second = ca.sign_csr(second_csr)
    assert "CertificateSignedMaxChainSize" in (
        identity.check_chain(second, [ca.cert], NOW, "CP-1", 100) or "")
    assert "station id" in (identity.check_chain(
        ca.sign_csr(identity.new_csr("CP-2", "CPO")), [ca.cert], NOW, "CP-1", 10000) or "")
    third = ca.sign_csr(identity.new_csr("CP-1", "CPO"))
    identity.install(third)
    for path in identity.directory.glob("*.key"):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert identity.fall_back()
    pair = identity.client_pair()
    assert pair is not None and pair[0].read_text() == first


def test_a00_tls_context_pins_version_and_suites(tmp_path: Path) -> None:
    ctx = client_context(str(Ca.make().write(tmp_path / "ca.pem")))
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    tls12 = {c["name"] for c in ctx.get_ciphers() if c["protocol"] == "TLSv1.2"}
    assert tls12 == set(TLS12_CIPHERS.split(":"))
    assert ctx.options & ssl.OP_NO_COMPRESSION
    assert ctx.cert_store_stats()["x509_ca"] == 1  # only the given root, no system store
    with pytest.raises(ValueError, match="CentralSystemRootCertificate"):
        client_context(None)
