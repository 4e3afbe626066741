"""OCTT 1.6 security cases with the whitepaper wired in: 073 (new basic auth password), 085
(profile 1), 086 (profile 2), 087 (profile 3), and ExtendedTriggerMessage with every
MessageTrigger (whitepaper 5.x, N01.FR.12 for LogStatusNotification)."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

import pytest
from ocpp.v16 import call

from chargepoint.core.events import CsmsLinkChanged
from hardware.interfaces import MeterReading
from tests.ocpp16.csms import Csms
from tests.ocpp16.secure_harness import SecureFactory
from tests.security.pki import Ca

PASSWORD = "pw-octt-0123456789"


def basic(password: str) -> str:
    return "Basic " + base64.b64encode(f"CP-1:{password}".encode()).decode()


async def test_073_085_profile_1_basic_auth_and_a_new_password(
        csms: Csms, secure_station: SecureFactory) -> None:
    """085 / A00.FR.202-205: basic auth as CP-1:AuthorizationKey; 073 / A01: a new
    AuthorizationKey is Accepted and the station reconnects with it."""
    station = await secure_station(security_profile=1, password=PASSWORD)
    await station.port.wait_for(CsmsLinkChanged)
    assert csms.auth_headers == [basic(PASSWORD)]
    result = await csms.send(call.ChangeConfiguration(key="AuthorizationKey",
                                                      value="0123456789abcdef0123"))
    assert result.status == "Accepted"
    await csms.wait_until(lambda: len(csms.auth_headers) >= 2)
    assert csms.auth_headers[-1] == basic("0123456789abcdef0123")


@pytest.mark.parametrize("profile", [2, 3])
async def test_086_087_profiles_2_and_3_over_tls(
        profile: int, csms: Csms, tmp_path: Path, secure_station: SecureFactory) -> None:
    """086 / A00.FR.3xx: TLS, server certificate checked, basic auth; 087 / A00.FR.4xx: the
    client certificate authenticates, no password."""
    ca = Ca.make()
    await csms.stop()
    csms.ssl = ca.server_context(tmp_path, client_ca=ca if profile == 3 else None)
    await csms.start()
    extra: dict[str, str] = {"password": PASSWORD}
    if profile == 3:
        cert, key = ca.client_files(tmp_path)
        extra = {"cert_file": str(cert), "key_file": str(key)}
    station = await secure_station(url=csms.url, security_profile=profile,
                                   ca_file=str(ca.write(tmp_path / "ca.pem")), **extra)
    await station.port.wait_for(CsmsLinkChanged)
    assert csms.auth_headers == [basic(PASSWORD) if profile == 2 else None]
    assert (csms.peer_certs[0] is None) == (profile == 2)


async def test_extended_trigger_message_every_type(
        csms: Csms, secure_station: SecureFactory) -> None:
    station = await secure_station(config={"CpoName": "Test CPO"})
    await station.port.wait_for(CsmsLinkChanged)
    expected = {"BootNotification": "BootNotification", "Heartbeat": "Heartbeat",
                "FirmwareStatusNotification": "SignedFirmwareStatusNotification",
                "LogStatusNotification": "LogStatusNotification",
                "SignChargePointCertificate": "SignCertificate"}
    for trigger, action in expected.items():
        result = await csms.send(call.ExtendedTriggerMessage(requested_message=trigger))
        assert result.status == "Accepted", trigger
        await csms.wait_for(action, count=2 if action == "BootNotification" else 1)
    assert csms.calls("LogStatusNotification")[0].payload == {"status": "Idle"}  # N01.FR.12
    assert csms.calls("SignedFirmwareStatusNotification")[0].payload == {"status": "Idle"}
    rejected = await csms.send(call.ExtendedTriggerMessage(
        requested_message="StatusNotification", connector_id=7))
    assert rejected.status == "Rejected"
    meter = await csms.send(call.ExtendedTriggerMessage(requested_message="MeterValues",
                                                        connector_id=1))
    assert meter.status == "Rejected"  # no meter reading yet
    station.port.readings[1] = MeterReading(energy_import_wh=1234.0)
    meter = await csms.send(call.ExtendedTriggerMessage(requested_message="MeterValues",
                                                        connector_id=1))
    assert meter.status == "Accepted"
    (values,) = await csms.wait_for("MeterValues")
    assert values.payload["connectorId"] == 1


async def test_sign_charge_point_certificate_needs_cpo_name(
        csms: Csms, secure_station: SecureFactory) -> None:
    """A02 prerequisite: CpoName must be set, else the trigger is Rejected."""
    station = await secure_station()
    await station.port.wait_for(CsmsLinkChanged)
    result = await csms.send(call.ExtendedTriggerMessage(
        requested_message="SignChargePointCertificate"))
    assert result.status == "Rejected"


async def test_trigger_and_extended_trigger_storms_share_one_coalescing(
        csms: Csms, secure_station: SecureFactory) -> None:
    """Both trigger requests go through the adapter's one ``TriggerFollowUps``: 200 of them,
    mixed, are all Accepted and send a few Heartbeats, not 200 (a CSMS could otherwise bury
    a driver's Authorize under ExtendedTriggerMessage instead, docs/security.md)."""
    station = await secure_station()
    await station.port.wait_for(CsmsLinkChanged)
    peer = await csms.connected()
    before = len(csms.calls("Heartbeat"))
    for n in range(200):
        action = "TriggerMessage" if n % 2 else "ExtendedTriggerMessage"
        await peer.ws.send(json.dumps([2, f"s{n}", action, {"requestedMessage": "Heartbeat"}]))
    answers = await csms.wait_until(lambda: (a := [
        f for f in csms.frames if f.direction == "in" and f.kind == 3
        and f.unique_id.startswith("s")]) and len(a) == 200 and a)
    assert {f.payload["status"] for f in answers} == {"Accepted"}
    await csms.wait_for("Heartbeat", before + 1)
    sent = -1
    while sent != len(csms.calls("Heartbeat")) or not station.adapter.triggers.idle():
        sent = len(csms.calls("Heartbeat"))  # until no more come (no frame says "done")
        await asyncio.sleep(0.3)
    assert 1 <= sent - before <= 20, sent - before
