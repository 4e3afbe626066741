"""The security whitepaper wired into the whole station (``chargepoint.app``): the events of
a start and of a Reset reach the CSMS across the restart (A04.FR.02)."""

from __future__ import annotations

import asyncio
import io
import json
import tarfile
import time
from pathlib import Path

from ocpp.v16 import call

from tests.firmware.fw_helpers import http_peer, iso, make_cert
from tests.fullstack import CpMaker, make_cp, registered
from tests.ocpp16.csms import Csms
from tests.ocpp16.secure_harness import event_types, wait_event

__all__ = ["make_cp"]  # the fixture


async def test_reset_or_reboot_and_startup_events_survive_the_restart(
        csms: Csms, make_cp: CpMaker, tmp_path: Path) -> None:
    """ResetOrReboot (critical) is raised when a Reset restarts the station, kept in the
    store's queue over the restart and sent, like StartupOfTheDevice, once the new process is
    registered; both are in the security log next to the store."""
    cp = await make_cp()
    await registered(cp)
    await wait_event(csms, "StartupOfTheDevice")
    assert (await csms.send(call.Reset(type="Soft"))).status == "Accepted"
    await asyncio.wait_for(cp.controller.restart_requested.wait(), 10)
    await cp.stop()
    await make_cp()
    event = await wait_event(csms, "ResetOrReboot")
    assert event.payload["techInfo"] == "soft reset"
    await csms.wait_until(lambda: event_types(csms).count("StartupOfTheDevice") == 2)
    log = (tmp_path / "security" / "security.log").read_text()
    assert "ResetOrReboot" in log and log.count("StartupOfTheDevice") == 2


async def test_invalid_firmware_signing_certificate_event_is_durable(
        csms: Csms, make_cp: CpMaker) -> None:
    """L01.FR.02 through the whole station: SignedUpdateFirmware with a signing certificate
    from no manufacturer root: InvalidCertificate, and InvalidFirmwareSigningCertificate goes
    through the durable queue to the CSMS."""
    cp = await make_cp()
    await registered(cp)
    stranger = make_cert("fw", make_cert("Other", None, ca=True), ca=False)
    answer = await csms.send(call.SignedUpdateFirmware(request_id=3, firmware={
        "location": "http://127.0.0.1:9/fw.tar.gz", "retrieveDateTime": iso(time.time()),
        "signingCertificate": stranger.pem, "signature": stranger.sign(b"x")}))
    assert answer.status == "InvalidCertificate"
    await wait_event(csms, "InvalidFirmwareSigningCertificate")



async def test_079_n01_get_log_security_log_uploads_the_persistent_log(
        csms: Csms, make_cp: CpMaker) -> None:
    """OCTT 079 / N01.FR.01-09 through the whole station: GetLog SecurityLog uploads the
    rotated security log file (here: this start's StartupOfTheDevice) and reports Uploading,
    Uploaded with the request id."""
    cp = await make_cp()
    await registered(cp)
    await wait_event(csms, "StartupOfTheDevice")
    with http_peer() as http:
        answer = await csms.send(call.GetLog(log_type="SecurityLog", request_id=42, log={
            "remoteLocation": http.url("/logs/")}))
        assert answer.status == "Accepted" and answer.filename.startswith("security-")
        await csms.wait_for("LogStatusNotification", count=2)
    assert [f.payload for f in csms.calls("LogStatusNotification")] == [
        {"status": "Uploading", "requestId": 42}, {"status": "Uploaded", "requestId": 42}]
    (_, _, data, _) = http.uploads[0]
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        member = tar.extractfile("security.log")
        assert member is not None
        types = [json.loads(line)["type"] for line in member.read().decode().splitlines()]
    assert "StartupOfTheDevice" in types
