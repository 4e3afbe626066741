"""Security whitepaper A05 (upgrade the security profile) with real TLS on loopback: a plain
ws:// CSMS and a wss:// one on another port (A00.FR.006), certificates made in the tests.
OCTT 083 (upgrade), 084 (downgrade rejected), 085/086/087 (profiles 1, 2, 3 in use)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography import x509
from ocpp.v16 import call

from chargepoint.core.events import CsmsLinkChanged
from chargepoint.store import writebehind
from tests.ocpp16.csms import Csms
from tests.ocpp16.secure_harness import SecureFactory, SecureStation, wait_event
from tests.security.pki import Ca

PASSWORD = "pw-profile-0123456"


@pytest.fixture
def ca() -> Ca:
    return Ca.make()


@pytest.fixture
async def tls_csms(ca: Ca, tmp_path: Path) -> AsyncIterator[Csms]:
    """A wss:// CSMS whose server certificate ``ca`` signed; client certificates of ``ca``
    are checked when presented (profile 3) and not required (profile 2)."""
    server = Csms(ssl=ca.server_context(tmp_path, client_ca=ca, optional=True))
    await server.start()
    yield server
    await server.stop()


async def _profile_value(csms: Csms) -> str:
    result = await csms.send(call.GetConfiguration(key=["SecurityProfile"]))
    return str(result.configuration_key[0]["value"])


async def _profile1(secure_station: SecureFactory, tls_url: str) -> SecureStation:
    station = await secure_station(security_profile=1, password=PASSWORD,
                                   settings={"tls_url": tls_url},
                                   config={"CpoName": "Test CPO"})
    await station.port.wait_for(CsmsLinkChanged)
    return station


async def test_a05_upgrade_profile_1_to_2_to_3_reconnects_each_time(
        csms: Csms, tls_csms: Csms, ca: Ca, secure_station: SecureFactory) -> None:
    """OCTT 083 / A05.FR.05-07: with the prerequisites installed each upgrade is Accepted, the
    station disconnects and connects with the new profile: 2 = TLS + basic auth, 3 = TLS +
    the client certificate it got through A02 (no password any more)."""
    await _profile1(secure_station, tls_csms.url)
    assert csms.auth_headers[0] is not None  # profile 1: basic auth over ws://
    assert (await csms.send(call.InstallCertificate(
        certificate_type="CentralSystemRootCertificate", certificate=ca.pem))).status == "Accepted"
    result = await csms.send(call.ChangeConfiguration(key="SecurityProfile", value="2"))
    assert result.status == "Accepted"
    await tls_csms.connected()
    assert tls_csms.auth_headers == [csms.auth_headers[0]]
    assert tls_csms.peer_certs == [None]
    assert await _profile_value(tls_csms) == "2"

    await tls_csms.send(call.ExtendedTriggerMessage(
        requested_message="SignChargePointCertificate"))
    (sign,) = await tls_csms.wait_for("SignCertificate")
    signed = ca.sign_csr(sign.payload["csr"])
    assert (await tls_csms.send(call.CertificateSigned(
        certificate_chain=signed))).status == "Accepted"
    result = await tls_csms.send(call.ChangeConfiguration(key="SecurityProfile", value="3"))
    assert result.status == "Accepted"
    await tls_csms.wait_until(lambda: len(tls_csms.peer_certs) >= 2 and tls_csms.peer)
    assert tls_csms.auth_headers[-1] is None
    presented = x509.load_der_x509_certificate(tls_csms.peer_certs[-1] or b"")
    assert presented == x509.load_pem_x509_certificate(signed.encode())
    assert await _profile_value(tls_csms) == "3"
    await wait_event(tls_csms, "ReconfigurationOfSecurityParameters")


async def test_a05_fr01_lower_or_equal_profile_rejected(
        csms: Csms, tls_csms: Csms, secure_station: SecureFactory) -> None:
    """OCTT 084 / A05.FR.01 (and A00.FR.005): a lower or equal value is Rejected, nothing
    changes and the station stays connected."""
    await _profile1(secure_station, tls_csms.url)
    for value in ("1", "0"):
        result = await csms.send(call.ChangeConfiguration(key="SecurityProfile", value=value))
        assert result.status == "Rejected"
    assert await _profile_value(csms) == "1"
    assert len(csms.paths) == 1 and tls_csms.paths == []


async def test_a05_fr03_fr04_upgrade_without_prerequisites_rejected(
        csms: Csms, tls_csms: Csms, ca: Ca, secure_station: SecureFactory) -> None:
    """A05.FR.03: 2 without a CentralSystemRootCertificate; A05.FR.04: 3 without a charge
    point certificate: Rejected."""
    await _profile1(secure_station, tls_csms.url)
    result = await csms.send(call.ChangeConfiguration(key="SecurityProfile", value="2"))
    assert result.status == "Rejected"
    await csms.send(call.InstallCertificate(certificate_type="CentralSystemRootCertificate",
                                            certificate=ca.pem))
    result = await csms.send(call.ChangeConfiguration(key="SecurityProfile", value="3"))
    assert result.status == "Rejected"
    assert await _profile_value(csms) == "1"
    assert tls_csms.paths == []


async def test_a05_fr08_failed_upgrade_falls_back_with_a_security_event(
        csms: Csms, tls_csms: Csms, secure_station: SecureFactory) -> None:
    """A05.FR.08: the new profile cannot connect (the wss:// server's certificate is not from
    the root installed: InvalidCentralSystemCertificate, A00.FR.309/310); after the trial
    attempts the station connects with profile 1 again and reports it."""
    await _profile1(secure_station, tls_csms.url)
    other = Ca.make("Another CSMS Root")
    await csms.send(call.InstallCertificate(certificate_type="CentralSystemRootCertificate",
                                            certificate=other.pem))
    result = await csms.send(call.ChangeConfiguration(key="SecurityProfile", value="2"))
    assert result.status == "Accepted"
    frame = await wait_event(csms, "ReconfigurationOfSecurityParameters", timeout=20)
    await csms.wait_until(lambda: any(
        "did not connect" in f.payload.get("techInfo", "")
        for f in csms.calls("SecurityEventNotification")), timeout=20)
    assert frame is not None
    await wait_event(csms, "InvalidCentralSystemCertificate")
    assert tls_csms.paths == []  # never got past TLS
    assert await _profile_value(csms) == "1"


async def test_a05_fr09_the_profile_reached_survives_a_restart(
        csms: Csms, tls_csms: Csms, ca: Ca, secure_station: SecureFactory) -> None:
    """A05.FR.09 from the station's side: once profile 2 connected, a restart with
    ``security_profile = 1`` in the config still connects with profile 2 (never lowered)."""
    station = await _profile1(secure_station, tls_csms.url)
    await csms.send(call.InstallCertificate(certificate_type="CentralSystemRootCertificate",
                                            certificate=ca.pem))
    assert (await csms.send(call.ChangeConfiguration(key="SecurityProfile",
                                                     value="2"))).status == "Accepted"
    assert await _profile_value(tls_csms) == "2"  # connected over TLS: committed
    await station.stop()
    writebehind.flush_all(10)  # what the app's stop does before closing the store
    station.security.events.close()
    station.store.close()
    plain_before = len(csms.paths)
    restarted = await _profile1_again(secure_station, tls_csms.url)
    await tls_csms.wait_until(lambda: len(tls_csms.paths) >= 2)
    assert len(csms.paths) == plain_before
    assert restarted.security.link.link.active == 2


async def _profile1_again(secure_station: SecureFactory, tls_url: str) -> SecureStation:
    return await secure_station(security_profile=1, password=PASSWORD,
                                settings={"tls_url": tls_url}, config={"CpoName": "Test CPO"})
