"""OCPP 2.0.1 network connection profiles against loopback CSMSs, the full station on the
simulated bench: B09 SetNetworkProfile, OCPPCommCtrlr.NetworkConfigurationPriority and
NetworkProfileConnectionAttempts, B10 fallback over the slots to the configured url (two test
CSMSs on different ports), A05 security profile upgrade with real TLS on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from ocpp.v201 import call

from chargepoint.app import RunningStation
from chargepoint.ocpp201.network_profiles import KV_PREFIX
from chargepoint.security.profile import KV_PROFILE
from tests.fullstack import until
from tests.ocpp201 import test_ocpp201_security as security_tests
from tests.ocpp201.csms import Csms201
from tests.ocpp201.test_ocpp201_security import (
    PASSWORD,
    Server,
    Start,
    basic,
    connections,
    profile,
    wait_event,
)
from tests.security.pki import Ca

# the fixtures of the security tests: a CA, the station starter, wss:// CSMSs
ca = security_tests.ca
start = security_tests.start
tls_server = security_tests.tls_server

COMM = "OCPPCommCtrlr"


def network_profile(slot: int, url: str, security_profile: int,
                    **more: Any) -> call.SetNetworkProfile:
    data = {"ocpp_version": "OCPP20", "ocpp_transport": "JSON", "ocpp_csms_url": url,
            "message_timeout": 30, "security_profile": security_profile,
            "ocpp_interface": "Wired0", **more}
    return call.SetNetworkProfile(configuration_slot=slot, connection_data=data)


async def set_comm(csms: Csms201, variable: str, value: str) -> str:
    result = await csms.send(call.SetVariables(set_variable_data=[
        {"component": {"name": COMM}, "variable": {"name": variable},
         "attribute_value": value}]))
    return str(result.set_variable_result[0]["attribute_status"])


async def get_variable(csms: Csms201, component: str, variable: str) -> str:
    result = await csms.send(call.GetVariables(get_variable_data=[
        {"component": {"name": component}, "variable": {"name": variable}}]))
    return str(result.get_variable_result[0]["attribute_value"])


def kv(cp: RunningStation, key: str) -> str | None:
    return cp.adapter.port.store.kv_get(key)  # type: ignore[attr-defined, no-any-return]


@pytest.fixture
async def other_csms() -> AsyncIterator[Csms201]:
    """A second plain CSMS on its own port."""
    server = Csms201()
    await server.start()
    yield server
    await server.stop()


async def dead_url() -> str:
    """The URL of a port nobody listens on any more."""
    gone = Csms201()
    await gone.start()
    url = gone.url
    await gone.stop()
    return url


async def reboot(cp: RunningStation, start: Start, url: str, ocpp: str = "",
                 **variables: Any) -> RunningStation:
    await cp.stop()
    return await start(url, ocpp, **variables)


# -- B09


async def test_b09_set_network_profile_accepted_and_stored_or_rejected(
        csms201: Csms201, ca: Ca, start: Start, tmp_path: Path) -> None:
    """B09: a valid profile is Accepted and stored in its slot; Rejected (nothing stored) for
    a slot outside NetworkConfigurationPriority's valuesList, ocppVersion other than OCPP20,
    SOAP, a non-WebSocket URL, a VPN, a securityProfile below the one in use (no downgrade)
    and a higher one without its prerequisites (CSMS root for 2, client certificate for 3)."""
    cp = await start(csms201.url, profile(1, tmp_path))
    await csms201.wait_for("BootNotification")
    assert (await csms201.send(network_profile(1, csms201.url, 1))).status == "Accepted"
    stored = await asyncio.to_thread(kv, cp, KV_PREFIX + "1")
    assert stored is not None and csms201.url in stored
    refused = [
        (network_profile(4, csms201.url, 1), "InvalidConfSlot"),
        (network_profile(0, csms201.url, 1), "InvalidConfSlot"),
        (network_profile(2, csms201.url, 1, ocpp_version="OCPP16"), "InvalidNetworkConf"),
        (network_profile(2, csms201.url, 1, ocpp_transport="SOAP"), "InvalidNetworkConf"),
        (network_profile(2, "http://127.0.0.1:1/ocpp", 1), "InvalidNetworkConf"),
        (network_profile(2, csms201.url, 1, vpn={
            "server": "vpn", "user": "u", "password": "p", "key": "k", "type": "IPSec"}),
         "UnsupportedParam"),
        (network_profile(2, csms201.url, 0), "NoSecurityDowngrade"),
        (network_profile(2, csms201.url, 2), "InvalidNetworkConf"),  # no CSMS root
    ]
    for request, reason in refused:
        result = await csms201.send(request)
        assert result.status == "Rejected", request
        assert result.status_info["reason_code"] == reason, request
    assert await asyncio.to_thread(kv, cp, KV_PREFIX + "2") is None
    assert (await csms201.send(call.InstallCertificate(
        certificate_type="CSMSRootCertificate", certificate=ca.pem))).status == "Accepted"
    assert (await csms201.send(network_profile(2, csms201.url, 2))).status == "Accepted"
    no_client = await csms201.send(network_profile(3, csms201.url, 3))
    assert no_client.status == "Rejected"
    assert "certificate" in no_client.status_info["additional_info"]


async def test_b09_network_configuration_priority_is_reboot_required(
        csms201: Csms201, start: Start, tmp_path: Path) -> None:
    """NetworkConfigurationPriority: a list of slots 1-3 that hold a profile, each once,
    answered RebootRequired and kept; NetworkProfileConnectionAttempts at least 1."""
    cp = await start(csms201.url)
    await csms201.wait_for("BootNotification")
    assert await set_comm(csms201, "NetworkConfigurationPriority", "4") == "Rejected"
    assert await set_comm(csms201, "NetworkConfigurationPriority", "2,1") == "Rejected"  # empty
    for slot in (1, 2):
        assert (await csms201.send(network_profile(slot, csms201.url, 0))).status == "Accepted"
    assert await set_comm(csms201, "NetworkConfigurationPriority", "1,1") == "Rejected"
    assert await set_comm(csms201, "NetworkConfigurationPriority", "2,1") == "RebootRequired"
    assert await get_variable(csms201, COMM, "NetworkConfigurationPriority") == "2,1"
    assert await set_comm(csms201, "NetworkProfileConnectionAttempts", "0") == "Rejected"
    assert await set_comm(csms201, "NetworkProfileConnectionAttempts", "2") == "Accepted"
    await reboot(cp, start, csms201.url)
    await csms201.wait_for("BootNotification", 2)  # through slot 2, the same CSMS
    assert await get_variable(csms201, COMM, "NetworkConfigurationPriority") == "2,1"


# -- B10


async def test_b10_falls_back_over_the_slots_to_the_configured_url(
        csms201: Csms201, other_csms: Csms201, start: Start) -> None:
    """B10: after a reboot the station connects with the highest-priority slot that works
    (slot 1 unreachable, NetworkProfileConnectionAttempts = 2: slot 2); when that one goes
    away too it falls back to the configured [ocpp] url and registers there again with a
    BootNotification (B10.FR.10)."""
    cp = await start(csms201.url, **{f"{COMM}.NetworkProfileConnectionAttempts": 2})
    await csms201.wait_for("BootNotification")
    assert (await csms201.send(network_profile(1, await dead_url(), 0))).status == "Accepted"
    assert (await csms201.send(network_profile(2, other_csms.url, 0))).status == "Accepted"
    assert await set_comm(csms201, "NetworkConfigurationPriority", "1,2") == "RebootRequired"
    await reboot(cp, start, csms201.url)
    boot = (await other_csms.wait_for("BootNotification"))[0]
    assert boot.payload["reason"] == "PowerUp"
    assert len(csms201.subprotocols) == 1  # only before the reboot
    await other_csms.stop()
    await connections(csms201, 2)
    boots = await csms201.wait_for("BootNotification", 2)
    assert boots[1].payload["reason"] == "PowerUp"  # the reason of this run's boot


# -- A05


async def test_a05_upgrade_security_profile_with_network_profile_and_reset(
        csms201: Csms201, ca: Ca, tls_server: Server, start: Start, tmp_path: Path) -> None:
    """A05: with a CSMS root installed, SetNetworkProfile for profile 2 on a wss:// CSMS,
    NetworkConfigurationPriority and Reset: the station comes back over TLS with Basic auth,
    SecurityProfile 2 (kept: ReconfigurationOfSecurityParameters, A05.FR.07); from then on a
    priority listing a profile-1 slot (A05.FR.10) and a profile-1 SetNetworkProfile (B09.FR.04)
    are Rejected."""
    tls = await tls_server(ca)
    cp = await start(csms201.url, profile(1, tmp_path))
    await csms201.wait_for("BootNotification")
    assert (await csms201.send(call.InstallCertificate(
        certificate_type="CSMSRootCertificate", certificate=ca.pem))).status == "Accepted"
    assert (await csms201.send(network_profile(1, tls.url, 2))).status == "Accepted"
    assert (await csms201.send(network_profile(2, csms201.url, 1))).status == "Accepted"
    assert await set_comm(csms201, "NetworkConfigurationPriority", "1,2") == "RebootRequired"
    assert (await csms201.send(call.Reset(type="OnIdle"))).status == "Accepted"
    await until(lambda: cp.controller.restart is not None)
    cp = await reboot(cp, start, csms201.url, profile(1, tmp_path))
    boot = (await tls.wait_for("BootNotification"))[0]
    assert boot.payload["reason"] == "RemoteReset"
    assert tls.auth_headers == [basic(PASSWORD)]
    assert await get_variable(tls, "SecurityCtrlr", "SecurityProfile") == "2"
    await until(lambda: kv(cp, KV_PROFILE) == "2")
    event = await wait_event(tls, "ReconfigurationOfSecurityParameters")
    assert "1 -> 2" in event["techInfo"]
    # no downgrade afterwards (A00.FR.005)
    assert await set_comm(tls, "NetworkConfigurationPriority", "1,2") == "Rejected"
    assert await set_comm(tls, "NetworkConfigurationPriority", "1") == "RebootRequired"
    result = await tls.send(network_profile(3, csms201.url, 1))
    assert result.status == "Rejected"
    assert result.status_info["reason_code"] == "NoSecurityDowngrade"


async def test_a05_failed_upgrade_falls_back_to_the_previous_profile(
        csms201: Csms201, ca: Ca, tls_server: Server, start: Start, tmp_path: Path) -> None:
    """A05.FR.08 / B10: the profile-2 CSMS cannot be trusted (its certificate is not signed
    by the installed root): after NetworkProfileConnectionAttempts the station falls back to
    the configured url under profile 1 and reports ReconfigurationOfSecurityParameters."""
    impostor = await tls_server(Ca.make("Impostor Root"))
    cp = await start(csms201.url, profile(1, tmp_path),
                     **{f"{COMM}.NetworkProfileConnectionAttempts": 1})
    await csms201.wait_for("BootNotification")
    assert (await csms201.send(call.InstallCertificate(
        certificate_type="CSMSRootCertificate", certificate=ca.pem))).status == "Accepted"
    assert (await csms201.send(network_profile(1, impostor.url, 2))).status == "Accepted"
    assert await set_comm(csms201, "NetworkConfigurationPriority", "1") == "RebootRequired"
    cp = await reboot(cp, start, csms201.url, profile(1, tmp_path))
    await csms201.wait_for("BootNotification", 2)
    assert impostor.subprotocols == []  # never past TLS
    assert csms201.auth_headers[-1] == basic(PASSWORD)
    assert await get_variable(csms201, "SecurityCtrlr", "SecurityProfile") == "1"
    event = await csms201.wait_until(lambda: next(
        (f.payload for f in csms201.calls("SecurityEventNotification")
         if "did not connect" in f.payload.get("techInfo", "")), None))
    assert "back to 1" in event["techInfo"]
    assert await asyncio.to_thread(kv, cp, KV_PROFILE) in (None, "1")
