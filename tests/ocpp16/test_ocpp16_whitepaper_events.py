"""Security events (whitepaper section 8, A04, N01) raised by the situation that causes each,
queued durably and sent after BootNotification Accepted; OCTT 078 (invalid CSMS certificate).
"""

from __future__ import annotations

import logging
import ssl
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from ocpp.v16 import call

from chargepoint.core.events import CsmsLinkChanged
from tests.ocpp16.csms import Csms
from tests.ocpp16.secure_harness import SecureFactory, event_types, wait_event
from tests.security.peers import tls_server, unauthorized_server
from tests.security.pki import Ca

PASSWORD = "pw-events-0123456"


async def test_a04_startup_event_is_sent_only_after_boot_accepted(
        csms: Csms, secure_station: SecureFactory) -> None:
    """A04.FR.01 StartupOfTheDevice (critical); known pitfall: never before the
    BootNotification is Accepted (Pending: nothing but answers)."""
    csms.boot_status, csms.interval = "Pending", 1
    station = await secure_station()
    await csms.wait_for("BootNotification")
    assert csms.calls("SecurityEventNotification") == []
    csms.boot_status = "Accepted"
    station.adapter.wake_boot()
    event = await wait_event(csms, "StartupOfTheDevice")
    accepted = max(i for i, f in enumerate(csms.frames)
                   if f.direction == "out" and f.kind == 3
                   and isinstance(f.payload, dict) and f.payload.get("status") == "Accepted")
    assert csms.frames.index(event) > accepted
    assert {"type", "timestamp"} <= set(event.payload)


async def test_078_a00_fr309_invalid_csms_certificate_is_queued_and_sent_after_a_restart(
        csms: Csms, tmp_path: Path, secure_station: SecureFactory) -> None:
    """OCTT 078 / A00.FR.309-310 / A04.FR.02: the server certificate is not from the CSMS
    root: the connection is refused, InvalidCentralSystemCertificate is in the security log
    and the durable queue; after a restart against the right CSMS it is delivered."""
    right, rogue = Ca.make("Right Root"), Ca.make("Rogue Root")
    ca_file = str(right.write(tmp_path / "ca.pem"))
    (tmp_path / "rogue").mkdir()
    with tls_server(rogue.server_context(tmp_path / "rogue")) as port:
        station = await secure_station(url=f"wss://127.0.0.1:{port}/ocpp", security_profile=2,
                                       password=PASSWORD, ca_file=ca_file)
        await station.raised("InvalidCentralSystemCertificate")
        assert "InvalidCentralSystemCertificate" in station.queued_events()
        await station.stop()
        station.security.events.close()
        station.store.close()
    logged = [e["type"] for e in station.security.events.log.events()]
    assert "InvalidCentralSystemCertificate" in logged and "StartupOfTheDevice" in logged

    await csms.stop()
    csms.ssl = right.server_context(tmp_path)
    await csms.start()
    await secure_station(url=csms.url, security_profile=2, password=PASSWORD, ca_file=ca_file)
    await wait_event(csms, "InvalidCentralSystemCertificate")
    await csms.wait_until(lambda: event_types(csms).count("StartupOfTheDevice") == 2)


def _old_tls(ctx: ssl.SSLContext) -> ssl.SSLContext:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    return ctx


def _cbc_only(ctx: ssl.SSLContext) -> ssl.SSLContext:
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers("ECDHE-ECDSA-AES128-SHA")  # not one of A00.FR.317's suites
    return ctx


@pytest.mark.parametrize(("kind", "server"), [
    ("InvalidTLSVersion", "tls-1.1"),  # A00.FR.315
    ("InvalidTLSCipherSuite", "cbc-suite"),  # A00.FR.322
    ("CentralSystemFailedToAuthentication", "wrong-host"),  # A00.FR.308
])
async def test_a00_tls_setup_failures_raise_their_event(
        kind: str, server: str, tmp_path: Path, secure_station: SecureFactory) -> None:
    """The station refuses the connection and records the event (log + durable queue)."""
    ca = Ca.make()
    ctx = ca.server_context(tmp_path, host_ip="127.0.0.2" if server == "wrong-host"
                            else "127.0.0.1")
    ctx = {"tls-1.1": _old_tls, "cbc-suite": _cbc_only}.get(server, lambda c: c)(ctx)
    with tls_server(ctx) as port:
        station = await secure_station(url=f"wss://127.0.0.1:{port}/ocpp", security_profile=2,
                                       password=PASSWORD,
                                       ca_file=str(ca.write(tmp_path / "ca.pem")))
        await station.raised(kind)
    assert kind in station.queued_events()
    assert kind in [e["type"] for e in station.security.events.log.events()]


async def test_failed_to_authenticate_at_central_system_on_http_401(
        secure_station: SecureFactory) -> None:
    """FailedToAuthenticationAtCentralSystem: the CSMS refused our basic auth (HTTP 401)."""
    async with unauthorized_server() as port:
        station = await secure_station(url=f"ws://127.0.0.1:{port}/ocpp", security_profile=1,
                                       password=PASSWORD)
        await station.raised("FailedToAuthenticationAtCentralSystem")
    assert "FailedToAuthenticationAtCentralSystem" in station.queued_events()


async def test_invalid_messages_event_for_a_frame_that_is_no_valid_ocpp(
        csms: Csms, secure_station: SecureFactory) -> None:
    """InvalidMessages: a schema-invalid CALL is answered with its CALLERROR and reported."""
    station = await secure_station()
    await station.port.wait_for(CsmsLinkChanged)
    answer = await csms.send_raw('[2,"bad-1","Reset",{"type":"Sideways"}]', "bad-1")
    assert answer.kind == 4
    event = await wait_event(csms, "InvalidMessages")
    assert "Reset" in event.payload["techInfo"]


async def test_attempted_replay_attacks_for_a_reused_call_id(
        csms: Csms, secure_station: SecureFactory) -> None:
    """AttemptedReplayAttacks: a CALL id used twice on one connection is refused with
    SecurityError and not acted upon."""
    station = await secure_station()
    await station.port.wait_for(CsmsLinkChanged)
    first = await csms.send_raw('[2,"same-1","ClearCache",{}]', "same-1")
    assert first.kind == 3
    csms.frames.remove(first)
    second = await csms.send_raw('[2,"same-1","ClearCache",{}]', "same-1")
    assert second.kind == 4 and second.payload[0] == "SecurityError"
    await wait_event(csms, "AttemptedReplayAttacks")


async def test_setting_system_time_event_when_the_csms_moves_the_clock(
        csms: Csms, secure_station: SecureFactory) -> None:
    """SettingSystemTime (critical): a CSMS time that moves the known clock by hours."""
    station = await secure_station()
    await station.port.wait_for(CsmsLinkChanged)
    later = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    csms.clock = lambda: later
    await csms.send(call.TriggerMessage(requested_message="Heartbeat"))
    event = await wait_event(csms, "SettingSystemTime")
    assert "moves the clock" in event.payload["techInfo"]


async def test_a01_fr11_new_authorization_key_is_a_reconfiguration_event_without_the_key(
        csms: Csms, secure_station: SecureFactory) -> None:
    """ReconfigurationOfSecurityParameters; A01.FR.11/12: logged, never with the key."""
    station = await secure_station(security_profile=1, password=PASSWORD)
    await station.port.wait_for(CsmsLinkChanged)
    await csms.send(call.ChangeConfiguration(key="AuthorizationKey", value="new-key-0123456789"))
    event = await wait_event(csms, "ReconfigurationOfSecurityParameters")
    assert "AuthorizationKey" in event.payload["techInfo"]
    assert "new-key" not in event.raw
    assert "new-key" not in station.security.events.log.path.read_text()


async def test_memory_exhaustion_event_when_free_space_runs_low(
        csms: Csms, secure_station: SecureFactory) -> None:
    """MemoryExhaustion (critical): the state directory's file system is below the bounds."""
    await secure_station(settings={"min_free_bytes": 2**62, "min_free_fraction": 1.0})
    event = await wait_event(csms, "MemoryExhaustion")
    assert "MiB free" in event.payload["techInfo"]


async def test_a00_fr201_profile_1_over_plain_ws_logs_a_warning(
        csms: Csms, secure_station: SecureFactory, caplog: pytest.LogCaptureFixture) -> None:
    """A00.FR.201: profile 1 sends the password without TLS: a warning in the log."""
    caplog.set_level(logging.WARNING, "chargepoint.security")
    station = await secure_station(security_profile=1, password=PASSWORD)
    await station.port.wait_for(CsmsLinkChanged)
    assert any("without TLS" in r.getMessage() for r in caplog.records)
