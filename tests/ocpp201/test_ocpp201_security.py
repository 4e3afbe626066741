"""OCPP 2.0.1 blocks A (security) and M (certificate management) against the loopback 2.0.1
CSMS, the full station on the simulated bench: security profiles 1-3 with real TLS on
127.0.0.1 (certificates made by ``tests.security.pki``), the SecurityCtrlr variables, A01
BasicAuthPassword, A02/A03 SignCertificate / CertificateSigned, A04 SecurityEventNotification,
M03 GetInstalledCertificateIds, M04 DeleteCertificate, M05 InstallCertificate."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from ocpp.v201 import call

from chargepoint.app import RunningStation, start_station
from chargepoint.config import config_from_toml
from chargepoint.ocpp201.adapter import Ocpp201Adapter
from chargepoint.ocpp201.security import SecurityHandlers
from chargepoint.ocppj.frames import redact
from chargepoint.security.certificates import hash_data
from chargepoint.security.events import SecurityEvent, SecurityEvents
from tests.ocpp201.conftest import toml201
from tests.ocpp201.csms import Csms201
from tests.security.pki import Ca, name, pem

PASSWORD = "pw-201-profile-0123"
STATION = "CP-201"
Start = Callable[..., Awaitable[RunningStation]]
Server = Callable[..., Awaitable[Csms201]]


@pytest.fixture
def ca() -> Ca:
    return Ca.make()


@pytest.fixture
async def start(tmp_path: Path) -> AsyncIterator[Start]:
    """``await start(url, ocpp="[ocpp] lines", **{"Component.Variable": value})``: the station
    (the same store on every call: a second call after ``stop()`` is a reboot)."""
    started: list[RunningStation] = []

    async def make(url: str, ocpp: str = "", **variables: Any) -> RunningStation:
        extra = f'[firmware]\nroots_dir = "{tmp_path / "fw-roots"}"\n'
        config = config_from_toml(toml201(url, tmp_path, 1, variables, extra, ocpp))
        running = await start_station(config)
        started.append(running)
        return running

    yield make
    for running in started:
        await running.stop()


@pytest.fixture
async def tls_server(tmp_path: Path) -> AsyncIterator[Server]:
    """``await tls_server(ca, client_ca=None, optional=True, port=0)``: a wss:// CSMS whose
    server certificate ``ca`` signed (client certificates checked against ``client_ca``)."""
    servers: list[Csms201] = []

    async def make(server_ca: Ca, client_ca: Ca | None = None, optional: bool = True,
                   port: int = 0) -> Csms201:
        directory = tmp_path / f"server-{len(servers)}"
        directory.mkdir()
        server = Csms201(ssl=server_ca.server_context(directory, client_ca=client_ca,
                                                      optional=optional), port=port)
        await server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        await server.stop()


def profile(number: int, tmp: Path, ca: Ca | None = None, *, password: bool = True,
            client: tuple[Path, Path] | None = None) -> str:
    """The [ocpp] lines of security profile ``number``."""
    lines = [f"security_profile = {number}"]
    if password:
        lines.append(f'password = "{PASSWORD}"')
    if ca is not None:
        lines.append(f'ca_file = "{ca.write(tmp / "csms-ca.pem")}"')
    if client is not None:
        lines += [f'cert_file = "{client[0]}"', f'key_file = "{client[1]}"']
    return "\n".join(lines)


def basic(password: str) -> str:
    return "Basic " + base64.b64encode(f"{STATION}:{password}".encode()).decode()


def security(cp: RunningStation) -> SecurityHandlers:
    assert isinstance(cp.adapter, Ocpp201Adapter)
    return next(h for h in cp.adapter.extra_handlers if isinstance(h, SecurityHandlers))


async def get(csms: Csms201, variable: str) -> dict[str, Any]:
    result = await csms.send(call.GetVariables(get_variable_data=[
        {"component": {"name": "SecurityCtrlr"}, "variable": {"name": variable}}]))
    item: dict[str, Any] = result.get_variable_result[0]
    return item


async def set_variable(csms: Csms201, variable: str, value: str) -> str:
    result = await csms.send(call.SetVariables(set_variable_data=[
        {"component": {"name": "SecurityCtrlr"}, "variable": {"name": variable},
         "attribute_value": value}]))
    return str(result.set_variable_result[0]["attribute_status"])


def event_types(csms: Csms201) -> list[str]:
    return [f.payload["type"] for f in csms.calls("SecurityEventNotification")]


async def wait_event(csms: Csms201, kind: str, timeout: float = 10) -> dict[str, Any]:
    """The first SecurityEventNotification of ``kind`` the CSMS received."""
    payload: dict[str, Any] = await csms.wait_until(lambda: next(
        (f.payload for f in csms.calls("SecurityEventNotification")
         if f.payload["type"] == kind), None), timeout)
    return payload


async def raised(events: SecurityEvents, kind: str, timeout: float = 10) -> None:
    """Until ``kind`` was raised on the station (when no CSMS can be told, e.g. TLS refused)."""
    seen = asyncio.Event()

    def listener(event: SecurityEvent) -> None:
        if event.kind == kind:
            seen.set()

    events.listeners.append(listener)
    try:
        if not any(e.kind == kind for e in events.raised):
            await asyncio.wait_for(seen.wait(), timeout)
    finally:
        events.listeners.remove(listener)


async def connections(csms: Csms201, count: int, timeout: float = 10) -> None:
    await csms.wait_until(lambda: len(csms.subprotocols) >= count and csms.peer, timeout)


# -- A00 / A01: security profiles and the password


async def test_a00_profile1_basic_auth_and_security_ctrlr_variables(
        csms201: Csms201, start: Start, tmp_path: Path) -> None:
    """Profile 1: HTTP Basic auth (station id : password) over ws://; SecurityProfile and
    Identity read-only, BasicAuthPassword never read back."""
    await start(csms201.url, profile(1, tmp_path))
    await csms201.wait_for("BootNotification")
    assert csms201.auth_headers == [basic(PASSWORD)]
    assert (await get(csms201, "SecurityProfile"))["attribute_value"] == "1"
    assert (await get(csms201, "Identity"))["attribute_value"] == STATION
    secret = await get(csms201, "BasicAuthPassword")
    assert secret["attribute_status"] == "Rejected" and "attribute_value" not in secret
    assert await set_variable(csms201, "SecurityProfile", "2") == "Rejected"
    assert await set_variable(csms201, "Identity", "other") == "Rejected"
    startup = await wait_event(csms201, "StartupOfTheDevice")
    assert startup["techInfo"] == "security profile 1"


async def test_a01_new_basic_auth_password_is_used_at_once(
        csms201: Csms201, start: Start, tmp_path: Path) -> None:
    """A01: SetVariables BasicAuthPassword is Accepted (16..40 characters, else Rejected), the
    station reconnects with it and reports ReconfigurationOfSecurityParameters; reports never
    carry its value."""
    await start(csms201.url, profile(1, tmp_path))
    await csms201.wait_for("BootNotification")
    assert await set_variable(csms201, "BasicAuthPassword", "too-short") == "Rejected"
    new = "new-201-password-456789"
    assert await set_variable(csms201, "BasicAuthPassword", new) == "Accepted"
    await connections(csms201, 2)
    assert csms201.auth_headers[-1] == basic(new)
    event = await wait_event(csms201, "ReconfigurationOfSecurityParameters")
    assert new not in str(event) and "BasicAuthPassword" in event["techInfo"]
    assert (await csms201.send(call.GetBaseReport(request_id=7, report_base="FullInventory"))
            ).status == "Accepted"
    await csms201.wait_until(lambda: any(not f.payload["tbc"]
                                         for f in csms201.calls("NotifyReport")))
    entries = [e for f in csms201.calls("NotifyReport") for e in f.payload["reportData"]
               if e["component"]["name"] == "SecurityCtrlr"]
    (secret,) = [e for e in entries if e["variable"]["name"] == "BasicAuthPassword"]
    (attribute,) = secret["variableAttribute"]
    assert attribute["mutability"] == "WriteOnly" and "value" not in attribute
    names = {e["variable"]["name"] for e in entries}
    assert {"SecurityProfile", "Identity", "OrganizationName", "CertSigningWaitMinimum",
            "CertSigningRepeatTimes"} <= names
    assert all(new not in str(f.payload) for f in csms201.frames if f.direction == "in")


def test_a01_basic_auth_password_never_reaches_the_frame_log() -> None:
    frame = json.dumps([2, "1", "SetVariables", {"setVariableData": [
        {"attributeValue": "secret-201-password-0", "component": {"name": "SecurityCtrlr"},
         "variable": {"name": "BasicAuthPassword"}},
        {"attributeValue": "300", "component": {"name": "OCPPCommCtrlr"},
         "variable": {"name": "HeartbeatInterval"}}]}])
    clean = redact(frame)
    assert "secret-201-password-0" not in clean and '"300"' in clean


async def test_a00_profile2_tls_with_the_server_certificate_checked(
        ca: Ca, tls_server: Server, start: Start, tmp_path: Path) -> None:
    """Profile 2: wss:// (the server certificate checked against the CSMS root of
    ``ca_file``) with Basic auth, no client certificate."""
    csms = await tls_server(ca)
    await start(csms.url, profile(2, tmp_path, ca))
    await csms.wait_for("BootNotification")
    assert csms.auth_headers == [basic(PASSWORD)]
    assert csms.peer_certs == [None]
    assert (await get(csms, "SecurityProfile"))["attribute_value"] == "2"


async def test_a00_profile2_untrusted_csms_certificate_is_refused_and_reported(
        ca: Ca, tls_server: Server, start: Start, tmp_path: Path) -> None:
    """A wss:// CSMS whose certificate no installed root signed is never talked to; the
    InvalidCsmsCertificate event waits in the durable queue (A04) and reaches the CSMS with
    its techInfo once a trusted one answers on the same address."""
    impostor = await tls_server(Ca.make("Impostor Root"))
    cp = await start(impostor.url, profile(2, tmp_path, ca))
    events = cp.security_events
    assert events is not None
    await raised(events, "InvalidCentralSystemCertificate")
    assert impostor.subprotocols == []  # never past TLS
    port = impostor.port
    await impostor.stop()
    csms = await tls_server(ca, port=port)
    event = await wait_event(csms, "InvalidCsmsCertificate")
    assert "server certificate" in event["techInfo"]
    assert event_types(csms).count("StartupOfTheDevice") == 1


async def test_a00_profile3_client_certificate(
        ca: Ca, tls_server: Server, start: Start, tmp_path: Path) -> None:
    """Profile 3: TLS with the station's client certificate (CN = station id), no Basic
    auth; the CSMS requires the certificate."""
    csms = await tls_server(ca, client_ca=ca, optional=False)
    client = ca.client_files(tmp_path, cn=STATION)
    await start(csms.url, profile(3, tmp_path, ca, password=False, client=client))
    await csms.wait_for("BootNotification")
    assert csms.auth_headers == [None]
    presented = x509.load_der_x509_certificate(csms.peer_certs[0] or b"")
    assert presented == x509.load_pem_x509_certificate(client[0].read_bytes())
    assert (await get(csms, "SecurityProfile"))["attribute_value"] == "3"


# -- A02 / A03: the station's certificate


async def test_a02_sign_certificate_then_certificate_signed_is_used_at_the_next_connection(
        ca: Ca, tls_server: Server, start: Start, tmp_path: Path) -> None:
    """A02 / A03 under profile 3: SignCertificate with a CSR (CN = station id, O =
    OrganizationName, ChargingStationCertificate); the signed chain is Accepted and the
    station reconnects presenting it."""
    csms = await tls_server(ca, client_ca=ca, optional=False)
    client = ca.client_files(tmp_path, cn=STATION)
    cp = await start(csms.url, profile(3, tmp_path, ca, password=False, client=client))
    await csms.wait_for("BootNotification")
    assert not security(cp).can_sign()
    assert await set_variable(csms, "OrganizationName", "Test CPO") == "Accepted"
    assert await security(cp).trigger_sign_certificate()
    (sign,) = await csms.wait_for("SignCertificate")
    assert sign.payload["certificateType"] == "ChargingStationCertificate"
    csr = x509.load_pem_x509_csr(sign.payload["csr"].encode())
    assert csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == STATION
    assert csr.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "Test CPO"
    signed = ca.sign_csr(sign.payload["csr"])
    result = await csms.send(call.CertificateSigned(certificate_chain=signed,
                                                    certificate_type="ChargingStationCertificate"))
    assert result.status == "Accepted"
    await connections(csms, 2)
    presented = x509.load_der_x509_certificate(csms.peer_certs[-1] or b"")
    assert presented == x509.load_pem_x509_certificate(signed.encode())
    await wait_event(csms, "ReconfigurationOfSecurityParameters")


async def test_a03_a_client_certificate_near_its_end_is_renewed(
        ca: Ca, tls_server: Server, start: Start, tmp_path: Path) -> None:
    """A03: a client certificate that ends within 30 days makes the station ask for a new one
    by itself (SignCertificate once registered)."""
    csms = await tls_server(ca, client_ca=ca, optional=False)
    client = ca.client_files(tmp_path, cn=STATION, days=10)
    await start(csms.url, profile(3, tmp_path, ca, password=False, client=client),
                **{"SecurityCtrlr.OrganizationName": "Test CPO"})
    (sign,) = await csms.wait_for("SignCertificate")
    assert sign.payload["certificateType"] == "ChargingStationCertificate"


async def test_a02_certificate_signed_rejected_unless_it_fits_the_csr(
        csms201: Csms201, ca: Ca, start: Start) -> None:
    """A02: a chain that does not lead to an installed CSMS root, or whose key is not the
    CSR's, is Rejected with InvalidChargingStationCertificate; the right one is Accepted."""
    cp = await start(csms201.url, **{"SecurityCtrlr.OrganizationName": "Test CPO"})
    await csms201.wait_for("BootNotification")
    assert (await csms201.send(call.InstallCertificate(
        certificate_type="CSMSRootCertificate", certificate=ca.pem))).status == "Accepted"
    assert await security(cp).trigger_sign_certificate()
    (sign,) = await csms201.wait_for("SignCertificate")
    foreign = Ca.make("Unknown Root").sign_csr(sign.payload["csr"])
    result = await csms201.send(call.CertificateSigned(certificate_chain=foreign))
    assert result.status == "Rejected"
    event = await wait_event(csms201, "InvalidChargingStationCertificate")
    assert "CSMS root" in event["techInfo"]
    other_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    wrong_key = ca.issue(name(STATION, "Test CPO"), other_key)
    result = await csms201.send(call.CertificateSigned(certificate_chain=pem(wrong_key)))
    assert result.status == "Rejected"
    result = await csms201.send(call.CertificateSigned(
        certificate_chain=ca.sign_csr(sign.payload["csr"]), certificate_type="V2GCertificate"))
    assert result.status == "Rejected"
    result = await csms201.send(call.CertificateSigned(
        certificate_chain=ca.sign_csr(sign.payload["csr"])))
    assert result.status == "Accepted"


async def test_a02_sign_certificate_repeated_per_cert_signing_wait_minimum(
        csms201: Csms201, start: Start) -> None:
    """A02: no CertificateSigned within CertSigningWaitMinimum: the same CSR again, the wait
    doubling, CertSigningRepeatTimes times at most; a Rejected SignCertificate is not
    repeated."""
    cp = await start(csms201.url, **{"SecurityCtrlr.OrganizationName": "Test CPO",
                                     "SecurityCtrlr.CertSigningWaitMinimum": 1,
                                     "SecurityCtrlr.CertSigningRepeatTimes": 2})
    await csms201.wait_for("BootNotification")
    loop = asyncio.get_running_loop()
    assert await security(cp).trigger_sign_certificate()
    times = [loop.time()]
    for count in (2, 3):
        await csms201.wait_for("SignCertificate", count, timeout=10)
        times.append(loop.time())
    signs = csms201.calls("SignCertificate")
    assert len({f.payload["csr"] for f in signs}) == 1
    assert times[1] - times[0] >= 0.8 and times[2] - times[1] >= 1.7  # 1 s, then 2 s

    csms201.sign_status = "Rejected"
    assert not await security(cp).trigger_sign_certificate()
    await csms201.wait_for("SignCertificate", 4)
    await asyncio.sleep(1.5)  # past CertSigningWaitMinimum: nothing follows a Rejected
    assert len(csms201.calls("SignCertificate")) == 4


# -- M05 / M03 / M04: certificate management


async def test_m05_install_certificate(csms201: Csms201, ca: Ca, start: Start,
                                       tmp_path: Path) -> None:
    """M05: CSMS and manufacturer roots are Accepted (a manufacturer root lands where the
    firmware check reads it); a leaf, garbage and V2G / MO roots are Rejected."""
    await start(csms201.url)
    await csms201.wait_for("BootNotification")
    maker = Ca.make("Maker Root")
    for kind, pem_text in (("CSMSRootCertificate", ca.pem),
                           ("ManufacturerRootCertificate", maker.pem)):
        result = await csms201.send(call.InstallCertificate(certificate_type=kind,
                                                            certificate=pem_text))
        assert result.status == "Accepted", kind
    assert len(list((tmp_path / "fw-roots").glob("*.pem"))) == 1
    leaf = ca.issue(name("leaf"), ec.generate_private_key(ec.SECP256R1()).public_key())
    for kind, pem_text in (("CSMSRootCertificate", pem(leaf)),
                           ("CSMSRootCertificate", "not a certificate"),
                           ("V2GRootCertificate", ca.pem), ("MORootCertificate", ca.pem)):
        result = await csms201.send(call.InstallCertificate(certificate_type=kind,
                                                            certificate=pem_text))
        assert result.status == "Rejected", kind
    await wait_event(csms201, "ReconfigurationOfSecurityParameters")


async def test_m03_get_installed_certificate_ids(csms201: Csms201, ca: Ca,
                                                 start: Start) -> None:
    """M03: the hash data of the installed roots, filtered by certificateType; NotFound
    when none matches."""
    await start(csms201.url)
    await csms201.wait_for("BootNotification")
    result = await csms201.send(call.GetInstalledCertificateIds())
    assert result.status == "NotFound"
    maker = Ca.make("Maker Root")
    await csms201.send(call.InstallCertificate(certificate_type="CSMSRootCertificate",
                                               certificate=ca.pem))
    await csms201.send(call.InstallCertificate(certificate_type="ManufacturerRootCertificate",
                                               certificate=maker.pem))
    result = await csms201.send(call.GetInstalledCertificateIds())
    assert result.status == "Accepted"
    assert sorted(c["certificate_type"] for c in result.certificate_hash_data_chain) == [
        "CSMSRootCertificate", "ManufacturerRootCertificate"]
    result = await csms201.send(call.GetInstalledCertificateIds(
        certificate_type=["CSMSRootCertificate"]))
    (entry,) = result.certificate_hash_data_chain
    expected = hash_data(ca.cert, ca.cert.public_key())
    data = entry["certificate_hash_data"]
    assert (data["hash_algorithm"], data["issuer_name_hash"], data["issuer_key_hash"],
            data["serial_number"]) == (expected.hash_algorithm, expected.issuer_name_hash,
                                       expected.issuer_key_hash, expected.serial_number)
    result = await csms201.send(call.GetInstalledCertificateIds(
        certificate_type=["V2GRootCertificate", "MORootCertificate"]))
    assert result.status == "NotFound"


def _hash_of(ca: Ca) -> dict[str, str]:
    found = hash_data(ca.cert, ca.cert.public_key())
    return {"hash_algorithm": found.hash_algorithm, "issuer_name_hash": found.issuer_name_hash,
            "issuer_key_hash": found.issuer_key_hash, "serial_number": found.serial_number}


async def test_m04_delete_certificate(ca: Ca, tls_server: Server, start: Start,
                                      tmp_path: Path) -> None:
    """M04: Accepted, then NotFound; the CSMS root that validated the connection in use
    (profile 2) is Failed."""
    csms = await tls_server(ca)
    await start(csms.url, profile(2, tmp_path, ca))
    await csms.wait_for("BootNotification")
    maker = Ca.make("Maker Root")
    for kind, root in (("CSMSRootCertificate", ca), ("ManufacturerRootCertificate", maker)):
        assert (await csms.send(call.InstallCertificate(certificate_type=kind,
                                                        certificate=root.pem))
                ).status == "Accepted"
    result = await csms.send(call.DeleteCertificate(certificate_hash_data=_hash_of(maker)))
    assert result.status == "Accepted"
    result = await csms.send(call.DeleteCertificate(certificate_hash_data=_hash_of(maker)))
    assert result.status == "NotFound"
    result = await csms.send(call.DeleteCertificate(certificate_hash_data=_hash_of(ca)))
    assert result.status == "Failed"
    result = await csms.send(call.GetInstalledCertificateIds(
        certificate_type=["CSMSRootCertificate"]))
    assert result.status == "Accepted"


# -- A04: security events


async def test_a04_security_events_survive_offline_and_a_restart(
        csms201: Csms201, start: Start) -> None:
    """A04: events raised while the CSMS cannot be reached are kept in the store's queue and
    sent, with their timestamp and techInfo, after a restart once registered."""
    await csms201.stop()  # the CSMS is down (its port is kept)
    cp = await start(csms201.url)
    events = cp.security_events
    assert events is not None
    await asyncio.to_thread(events.flush, 10)  # StartupOfTheDevice is in the store
    await cp.stop()
    await csms201.start()
    await start(csms201.url)
    await csms201.wait_until(lambda: event_types(csms201).count("StartupOfTheDevice") == 2)
    for frame in csms201.calls("SecurityEventNotification"):
        assert frame.payload["timestamp"].endswith("Z")
        assert frame.payload.get("techInfo")


async def test_f06_trigger_sign_charging_station_certificate(
        csms201: Csms201, start: Start) -> None:
    """TriggerMessage SignChargingStationCertificate (F06 / A02): Rejected while
    SecurityCtrlr.OrganizationName is not set, else Accepted and a SignCertificate follows."""
    cp = await start(csms201.url)
    await csms201.wait_for("BootNotification")
    refused = await csms201.send(call.TriggerMessage(
        requested_message="SignChargingStationCertificate"))
    assert refused.status == "Rejected"
    assert await set_variable(csms201, "OrganizationName", "Test CPO") == "Accepted"
    accepted = await csms201.send(call.TriggerMessage(
        requested_message="SignChargingStationCertificate"))
    assert accepted.status == "Accepted"
    (sign,) = await csms201.wait_for("SignCertificate")
    assert sign.payload["certificateType"] == "ChargingStationCertificate"
    assert security(cp).can_sign()
