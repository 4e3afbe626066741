"""Security profiles 1-3 (OCPP 1.6 security whitepaper; OCTT 085 basic auth, 086 TLS server
certificate, 087 client certificate) against the loopback CSMS."""

from __future__ import annotations

import base64
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from ocpp.v16 import call

from chargepoint.core.events import CsmsLinkChanged
from tests.ocpp16.certs import Pki, make_pki
from tests.ocpp16.conftest import StationFactory
from tests.ocpp16.csms import Csms


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path, "CP-1")


def server_context(pki: Pki, client_cert: bool) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki.server_cert, pki.server_key)
    if client_cert:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(pki.ca)
    return ctx


@pytest.fixture
async def tls_csms(csms: Csms, pki: Pki, request: pytest.FixtureRequest) -> AsyncIterator[Csms]:
    await csms.stop()
    csms.ssl = server_context(pki, client_cert=getattr(request, "param", False))
    await csms.start()
    yield csms


async def test_profile_1_sends_basic_auth(csms: Csms, make_station: StationFactory) -> None:
    station = await make_station(security_profile=1, password="s3cret-pass")
    await station.port.wait_for(CsmsLinkChanged)
    expected = "Basic " + base64.b64encode(b"CP-1:s3cret-pass").decode()
    assert csms.auth_headers == [expected]


async def test_profile_2_tls_with_basic_auth(tls_csms: Csms, pki: Pki,
                                             make_station: StationFactory) -> None:
    station = await make_station(url=tls_csms.url, security_profile=2, password="pw-2",
                                 ca_file=str(pki.ca))
    await station.port.wait_for(CsmsLinkChanged)
    assert tls_csms.auth_headers[0] == "Basic " + base64.b64encode(b"CP-1:pw-2").decode()


async def test_profile_2_refuses_an_untrusted_server(tls_csms: Csms, tmp_path: Path,
                                                     make_station: StationFactory) -> None:
    (tmp_path / "other").mkdir()
    other = make_pki(tmp_path / "other", "CP-1")  # a CA that did not sign the server
    station = await make_station(url=tls_csms.url, security_profile=2, password="pw",
                                 ca_file=str(other.ca))
    with pytest.raises(TimeoutError):
        await station.port.wait_for(CsmsLinkChanged, timeout=1.0)
    assert tls_csms.paths == []  # the TLS handshake failed: no WebSocket was opened


@pytest.mark.parametrize("tls_csms", [True], indirect=True)
async def test_profile_3_client_certificate(tls_csms: Csms, pki: Pki,
                                            make_station: StationFactory) -> None:
    station = await make_station(url=tls_csms.url, security_profile=3, ca_file=str(pki.ca),
                                 cert_file=str(pki.client_cert), key_file=str(pki.client_key))
    await station.port.wait_for(CsmsLinkChanged)
    assert tls_csms.auth_headers == [None]  # the certificate authenticates, no password


async def test_new_authorization_key_reconnects_with_it(
        csms: Csms, make_station: StationFactory) -> None:
    station = await make_station(security_profile=1, password="first-password-16")
    await station.port.wait_for(CsmsLinkChanged)
    result = await csms.send(call.ChangeConfiguration(key="AuthorizationKey",
                                                      value="second-password-16"))
    assert result.status == "Accepted"
    await csms.wait_until(lambda: len(csms.auth_headers) >= 2)
    assert csms.auth_headers[-1] == "Basic " + base64.b64encode(
        b"CP-1:second-password-16").decode()
