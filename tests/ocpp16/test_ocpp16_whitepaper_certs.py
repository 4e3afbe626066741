"""Security whitepaper certificate management against the loopback CSMS, with real TLS and
certificates made in the tests: M03/M04/M05 root certificates (OCTT 075, 076), A02 key pair,
CSR and CertificateSigned (OCTT 074, 077)."""

from __future__ import annotations

import hashlib
import os
import stat
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID
from ocpp.v16 import call

from chargepoint.core.events import CsmsLinkChanged
from tests.firmware.fw_helpers import iso, make_cert, refused_port
from tests.ocpp16.csms import Csms
from tests.ocpp16.secure_harness import SecureFactory, wait_event
from tests.security.pki import Ca, name, pem


def independent_hash(cert: x509.Certificate, algorithm: str = "SHA256") -> dict[str, str]:
    """CertificateHashDataType computed by the OCSP request builder (RFC 6960 CertID)."""
    algo = {"SHA256": hashes.SHA256(), "SHA384": hashes.SHA384(),
            "SHA512": hashes.SHA512()}[algorithm]
    req = ocsp.OCSPRequestBuilder().add_certificate(cert, cert, algo).build()
    return {"hashAlgorithm": algorithm, "issuerNameHash": req.issuer_name_hash.hex(),
            "issuerKeyHash": req.issuer_key_hash.hex(),
            "serialNumber": format(req.serial_number, "X")}


def snake(data: dict[str, str]) -> dict[str, str]:
    return {"hash_algorithm": data["hashAlgorithm"], "issuer_name_hash": data["issuerNameHash"],
            "issuer_key_hash": data["issuerKeyHash"], "serial_number": data["serialNumber"]}


async def test_m05_m03_m04_install_list_delete_roots_with_whitepaper_hashes(
        csms: Csms, secure_station: SecureFactory) -> None:
    """OCTT 075/076: M05.FR.02 install, M03.FR.03/04 list with hash data (edition 3: the
    DER issuer name, the issuer key BIT STRING, serial in hex), M04.FR.02/04 delete."""
    station = await secure_station()
    await station.port.wait_for(CsmsLinkChanged)
    csms_root, maker_root = Ca.make("CSMS Root"), Ca.make("Maker Root")
    for kind, ca in (("CentralSystemRootCertificate", csms_root),
                     ("ManufacturerRootCertificate", maker_root)):
        result = await csms.send(call.InstallCertificate(certificate_type=kind,
                                                         certificate=ca.pem))
        assert result.status == "Accepted"
    listed = await csms.send(call.GetInstalledCertificateIds(
        certificate_type="CentralSystemRootCertificate"))
    assert listed.status == "Accepted"
    on_wire = [f for f in csms.frames if f.direction == "in" and f.kind == 3][-1].payload
    assert on_wire["certificateHashData"] == [independent_hash(csms_root.cert)]
    # hand-computed too: SHA-256 of the issuer DN's DER and of the public key point
    point = csms_root.cert.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    assert on_wire["certificateHashData"][0]["issuerKeyHash"] == hashlib.sha256(
        point).hexdigest()
    assert on_wire["certificateHashData"][0]["issuerNameHash"] == hashlib.sha256(
        csms_root.cert.subject.public_bytes()).hexdigest()
    maker = await csms.send(call.GetInstalledCertificateIds(
        certificate_type="ManufacturerRootCertificate"))
    assert maker.certificate_hash_data == [snake(independent_hash(maker_root.cert))]
    assert (station.security.settings.manufacturer_roots).is_dir()  # firmware checks read it

    deleted = await csms.send(call.DeleteCertificate(
        certificate_hash_data=snake(independent_hash(maker_root.cert, "SHA384"))))
    assert deleted.status == "Accepted"
    again = await csms.send(call.DeleteCertificate(
        certificate_hash_data=snake(independent_hash(maker_root.cert))))
    assert again.status == "NotFound"  # M04.FR.04
    gone = await csms.send(call.GetInstalledCertificateIds(
        certificate_type="ManufacturerRootCertificate"))
    assert gone.status == "NotFound"  # M03.FR.02


async def test_m05_fr03_fr06_store_limit_and_invalid_certificates_rejected(
        csms: Csms, secure_station: SecureFactory) -> None:
    """M05.FR.03: CertificateStoreMaxLength (20) honoured; M05.FR.06: not a CA / not PEM."""
    station = await secure_station()
    await station.port.wait_for(CsmsLinkChanged)
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = pem(Ca.make().issue(name("not a CA"), leaf_key.public_key()))
    for bad in (leaf, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"):
        result = await csms.send(call.InstallCertificate(
            certificate_type="CentralSystemRootCertificate", certificate=bad))
        assert result.status == "Rejected"
    for i in range(20):
        result = await csms.send(call.InstallCertificate(
            certificate_type="ManufacturerRootCertificate", certificate=Ca.make(f"R{i}").pem))
        assert result.status == "Accepted"
    full = await csms.send(call.InstallCertificate(
        certificate_type="CentralSystemRootCertificate", certificate=Ca.make("one more").pem))
    assert full.status == "Rejected"


async def test_m04_fr06_the_csms_root_in_use_is_not_deleted(
        csms: Csms, tmp_path: Path, secure_station: SecureFactory) -> None:
    """M04.FR.06: the root that validated the TLS connection (here installed over OCPP as well
    as in ``ca_file``) cannot be deleted: Failed."""
    ca = Ca.make()
    await csms.stop()
    csms.ssl = ca.server_context(tmp_path)
    await csms.start()
    station = await secure_station(security_profile=2, password="pw-2-0123456789ab",
                                   ca_file=str(ca.write(tmp_path / "ca.pem")))
    await station.port.wait_for(CsmsLinkChanged)
    assert (await csms.send(call.InstallCertificate(
        certificate_type="CentralSystemRootCertificate", certificate=ca.pem))).status == "Accepted"
    result = await csms.send(call.DeleteCertificate(
        certificate_hash_data=snake(independent_hash(ca.cert))))
    assert result.status == "Failed"


def _client_ca_csms(csms: Csms, server_ca: Ca, client_ca: Ca, directory: Path) -> None:
    csms.ssl = server_ca.server_context(directory, client_ca=client_ca)


async def _profile3_station(csms: Csms, tmp_path: Path, secure_station: SecureFactory,
                            ca: Ca) -> object:
    await csms.stop()
    _client_ca_csms(csms, ca, ca, tmp_path)
    await csms.start()
    cert, key = ca.client_files(tmp_path)
    station = await secure_station(security_profile=3, ca_file=str(ca.write(tmp_path / "ca.pem")),
                                   cert_file=str(cert), key_file=str(key),
                                   config={"CpoName": "Test CPO"})
    await station.port.wait_for(CsmsLinkChanged)
    return station


async def test_a02_csr_certificate_signed_and_reconnect_with_the_new_client_certificate(
        csms: Csms, tmp_path: Path, secure_station: SecureFactory) -> None:
    """OCTT 074 / A02: ExtendedTriggerMessage SignChargePointCertificate -> key pair on the
    station (A02.FR.02, 0600, A02.FR.05), CSR with O = CpoName and CN = station id
    (A02.FR.03/13) -> CertificateSigned Accepted -> the next TLS connection presents it."""
    ca = Ca.make()
    station = await _profile3_station(csms, tmp_path, secure_station, ca)
    result = await csms.send(call.ExtendedTriggerMessage(
        requested_message="SignChargePointCertificate"))
    assert result.status == "Accepted"
    (sign,) = await csms.wait_for("SignCertificate")
    csr = x509.load_pem_x509_csr(sign.payload["csr"].encode())
    assert csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "CP-1"
    assert csr.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "Test CPO"
    pending = station.security.identity.directory / "pending.key"
    assert stat.S_IMODE(os.stat(pending).st_mode) == 0o600
    assert "PRIVATE KEY" not in "".join(f.raw for f in csms.frames)  # A02.FR.05

    signed = ca.sign_csr(sign.payload["csr"])
    answer = await csms.send(call.CertificateSigned(certificate_chain=signed))
    assert answer.status == "Accepted"
    await csms.wait_until(lambda: len(csms.peer_certs) >= 2)
    presented = x509.load_der_x509_certificate(csms.peer_certs[-1] or b"")
    assert presented == x509.load_pem_x509_certificate(signed.encode())
    key_file = station.security.identity.directory / "current.key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600


@pytest.mark.parametrize("problem", ["other CA", "key mismatch", "expired"])
async def test_a02_fr07_wrong_chain_or_key_refused_with_invalid_charge_point_certificate(
        problem: str, csms: Csms, tmp_path: Path, secure_station: SecureFactory) -> None:
    """OCTT 077 / A02.FR.06/07: a chain not from the CSMS root hierarchy, a certificate for
    another key, an expired one: Rejected, discarded, and an
    InvalidChargePointCertificate security event reaches the CSMS."""
    ca = Ca.make()
    station = await _profile3_station(csms, tmp_path, secure_station, ca)
    await csms.send(call.ExtendedTriggerMessage(requested_message="SignChargePointCertificate"))
    (sign,) = await csms.wait_for("SignCertificate")
    if problem == "other CA":
        chain = Ca.make("Rogue").sign_csr(sign.payload["csr"])
    elif problem == "key mismatch":
        chain = pem(ca.issue(name("CP-1", "Test CPO"),
                             ec.generate_private_key(ec.SECP256R1()).public_key()))
    else:
        chain = ca.sign_csr(sign.payload["csr"], days=-0.5)  # ended twelve hours ago
    answer = await csms.send(call.CertificateSigned(certificate_chain=chain))
    assert answer.status == "Rejected"
    await wait_event(csms, "InvalidChargePointCertificate")
    assert station.security.identity.client_pair() is None  # nothing installed


async def test_a03_fr02_a_certificate_ending_within_a_month_is_renewed_by_the_station(
        csms: Csms, tmp_path: Path, secure_station: SecureFactory) -> None:
    """A03.FR.02/03: the station notices its client certificate ends in under a month and
    sends SignCertificate with a fresh CSR by itself."""
    ca = Ca.make()
    await csms.stop()
    _client_ca_csms(csms, ca, ca, tmp_path)
    await csms.start()
    cert, key = ca.client_files(tmp_path, days=20)
    await secure_station(security_profile=3, ca_file=str(ca.write(tmp_path / "ca.pem")),
                         cert_file=str(cert), key_file=str(key),
                         config={"CpoName": "Test CPO"})
    (sign,) = await csms.wait_for("SignCertificate")
    csr = x509.load_pem_x509_csr(sign.payload["csr"].encode())
    assert csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "CP-1"
    assert not csms.calls("ExtendedTriggerMessage")


async def test_m05_an_installed_manufacturer_root_is_what_signed_firmware_is_checked_against(
        csms: Csms, secure_station: SecureFactory) -> None:
    """M05 + L01.FR.12: before InstallCertificate(ManufacturerRootCertificate) a signing
    certificate of that manufacturer is InvalidCertificate (and InvalidFirmwareSigning-
    Certificate is reported), after it the request is Accepted."""
    station = await secure_station(firmware=True)
    await station.port.wait_for(CsmsLinkChanged)
    root = make_cert("Maker Root", None, ca=True)
    signer = make_cert("Maker Firmware Signing", root, ca=False)

    def request() -> call.SignedUpdateFirmware:
        return call.SignedUpdateFirmware(request_id=5, firmware={
            "location": f"http://127.0.0.1:{refused_port()}/fw.tar.gz",
            "retrieveDateTime": iso(time.time() + 3600),
            "signingCertificate": signer.pem, "signature": signer.sign(b"x")})

    assert (await csms.send(request())).status == "InvalidCertificate"
    await wait_event(csms, "InvalidFirmwareSigningCertificate")
    assert (await csms.send(call.InstallCertificate(
        certificate_type="ManufacturerRootCertificate", certificate=root.pem))).status == (
        "Accepted")
    assert (await csms.send(request())).status == "Accepted"
