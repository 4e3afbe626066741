"""OCTT-shaped cases through the real OCPP 1.6 adapter: a loopback CSMS (WebSocket, port 0)
sends the request, the handlers answer, the notifications arrive at the CSMS in order.

Uses the ocpp16 test CSMS and station harness (``tests.ocpp16``): the real ``Ocpp16Adapter``
over the real sqlite store with a recording ``StationPort``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ocpp.v16 import call  # type: ignore[import-untyped]

from chargepoint.core.events import AvailabilityChanged
from chargepoint.diagnostics.bundle import BundleSources
from chargepoint.diagnostics.manager import DiagnosticsManager, DiagnosticsSettings
from chargepoint.firmware.download import TransferPolicy
from chargepoint.firmware.installer import Installer
from chargepoint.firmware.manager import FirmwareManager, FirmwareSettings
from chargepoint.ocpp16.firmware_handlers import AdapterHost, attach
from tests.firmware.fw_helpers import (
    FakeInstaller,
    HttpPeer,
    Route,
    ftp_peer,
    http_peer,
    install_root,
    iso,
    make_cert,
    make_release,
    refused_port,
)
from tests.ocpp16.csms import Csms
from tests.ocpp16.harness import Station, start_station

RELEASE = make_release("1.1.0")
POLICY = TransferPolicy(timeout_s=10, idle_timeout_s=2)


async def restarted(station: Station) -> None:
    async def waiter() -> None:
        while not station.port.restarts:
            station.port.changed.clear()
            await station.port.changed.wait()
    await asyncio.wait_for(waiter(), 10)


@dataclass
class Site:
    tmp: Path
    csms: Csms
    http: HttpPeer
    stations: list[Station]

    async def station(self, running: str = "1.0.0", installer: Installer | None = None,
                      health_timeout_s: float = 600, wait_boot: bool = True,
                      ) -> tuple[Station, FirmwareManager, AdapterHost]:
        station = await start_station(self.tmp / "state.db", self.csms.url,
                                      firmware_version=running)
        self.stations.append(station)
        host = AdapterHost(station.adapter)
        fw = FirmwareManager(station.store, host, FirmwareSettings(
            releases_dir=self.tmp / "releases", work_dir=self.tmp / "work",
            roots_dir=self.tmp / "roots", running_version=running, idle_poll_s=0.01,
            default_retry_interval_s=0, policy=POLICY, health_timeout_s=health_timeout_s,
            allow_unsigned=True),  # the OCTT 1.6 cases send plain UpdateFirmware (lab setting)
            installer or FakeInstaller())
        diag = DiagnosticsManager(host, BundleSources(station.store, "CP-1",
                                                      security_log=host.security_log),
                                  DiagnosticsSettings(self.tmp / "dwork",
                                                      default_retry_interval_s=0,
                                                      policy=POLICY))
        attach(station.adapter, fw, diag, host)
        if wait_boot:
            await self.csms.wait_for("BootNotification", len(self.stations))
        return station, fw, host

    async def restart(self, station: Station) -> None:
        await station.stop()
        station.store.close()
        self.stations.remove(station)
        await self.csms.wait_until(lambda: self.csms.peer is None)

    def statuses(self, action: str) -> list[str]:
        return [f.payload["status"] for f in self.csms.calls(action)]


@pytest.fixture
def http() -> Iterator[HttpPeer]:
    with http_peer() as peer:
        peer.routes["/fw/1.1.0.tar.gz"] = Route(RELEASE)
        yield peer


@pytest.fixture
async def site(tmp_path: Path, http: HttpPeer) -> AsyncIterator[Site]:
    (tmp_path / "releases" / "1.0.0").mkdir(parents=True)
    (tmp_path / "releases" / "current").symlink_to("1.0.0")
    csms = Csms()
    await csms.start()
    s = Site(tmp_path, csms, http, [])
    yield s
    for station in s.stations:
        await station.stop()
        station.store.close()
    await csms.stop()


async def test_044_1_download_and_install(site: Site) -> None:
    station, _, _ = await site.station()
    answer = await site.csms.send(call.UpdateFirmware(
        location=site.http.url("/fw/1.1.0.tar.gz"), retrieve_date=iso(time.time())))
    assert answer is not None
    await site.csms.wait_for("FirmwareStatusNotification", 3)
    await restarted(station)
    assert station.port.restarts == [False]
    assert (site.tmp / "releases" / "current").readlink().name == "1.1.0"
    await site.restart(station)  # the service comes back as 1.1.0
    await site.station("1.1.0")
    await site.csms.wait_for("FirmwareStatusNotification", 4)
    assert site.statuses("FirmwareStatusNotification") == [
        "Downloading", "Downloaded", "Installing", "Installed"]
    boots = site.csms.calls("BootNotification")
    assert [b.payload["firmwareVersion"] for b in boots] == ["1.0.0", "1.1.0"]
    await site.csms.send(call.TriggerMessage(requested_message="FirmwareStatusNotification"))
    await site.csms.wait_for("FirmwareStatusNotification", 5)
    assert site.statuses("FirmwareStatusNotification")[-1] == "Idle"  # OCTT 054


async def test_044_2_download_failed(site: Site) -> None:
    await site.station()
    await site.csms.send(call.UpdateFirmware(location=site.http.url("/fw/nope.tar.gz"),
                                             retrieve_date=iso(time.time()), retries=2,
                                             retry_interval=0))
    await site.csms.wait_for("FirmwareStatusNotification", 2)
    assert site.statuses("FirmwareStatusNotification") == ["Downloading", "DownloadFailed"]
    assert site.http.hits["/fw/nope.tar.gz"] == 2


async def test_044_3_installation_failed(site: Site) -> None:
    station, _, _ = await site.station(installer=FakeInstaller(fail=True))
    await site.csms.send(call.UpdateFirmware(location=site.http.url("/fw/1.1.0.tar.gz"),
                                             retrieve_date=iso(time.time())))
    await site.csms.wait_for("FirmwareStatusNotification", 4)
    assert site.statuses("FirmwareStatusNotification") == [
        "Downloading", "Downloaded", "Installing", "InstallationFailed"]
    assert [e.operative for e in station.port.events
            if isinstance(e, AvailabilityChanged)] == [False, True]
    assert station.port.restarts == []


async def test_045_1_get_diagnostics(site: Site) -> None:
    await site.station()
    with ftp_peer(site.tmp / "ftp") as ftp:
        answer: Any = await site.csms.send(call.GetDiagnostics(location=ftp.url("")))
        await site.csms.wait_for("DiagnosticsStatusNotification", 2)
        assert (ftp.root / answer.file_name).is_file()
    assert site.statuses("DiagnosticsStatusNotification") == ["Uploading", "Uploaded"]


async def test_045_2_upload_failed(site: Site) -> None:
    await site.station()
    answer: Any = await site.csms.send(call.GetDiagnostics(
        location=f"ftp://127.0.0.1:{refused_port()}/", retries=2, retry_interval=0))
    assert answer.file_name
    await site.csms.wait_for("DiagnosticsStatusNotification", 2)
    assert site.statuses("DiagnosticsStatusNotification") == ["Uploading", "UploadFailed"]
    await site.csms.send(call.TriggerMessage(requested_message="DiagnosticsStatusNotification"))
    await site.csms.wait_for("DiagnosticsStatusNotification", 3)
    assert site.statuses("DiagnosticsStatusNotification")[-1] == "Idle"


async def test_079_get_security_log(site: Site) -> None:
    _, _, host = await site.station()
    host.security_log.append("StartupOfTheDevice", "", iso(time.time()))
    with ftp_peer(site.tmp / "ftp") as ftp:
        answer: Any = await site.csms.send(call.GetLog(
            log={"remoteLocation": ftp.url("")}, log_type="SecurityLog", request_id=5))
        assert answer.status == "Accepted"
        await site.csms.wait_for("LogStatusNotification", 2)
        assert (ftp.root / answer.filename).is_file()
    assert [(f.payload["status"], f.payload["requestId"])
            for f in site.csms.calls("LogStatusNotification")] == [("Uploading", 5),
                                                                    ("Uploaded", 5)]


def _signed(site: Site, data: bytes) -> tuple[Any, Any]:
    root = make_cert("Manufacturer Root", None, ca=True)
    install_root(site.tmp / "roots", root)
    signer = make_cert("fw signer", root, ca=False)
    return signer, call.SignedUpdateFirmware(request_id=9, firmware={
        "location": site.http.url("/fw/1.1.0.tar.gz"), "retrieveDateTime": iso(time.time()),
        "signingCertificate": signer.pem, "signature": signer.sign(data)})


async def test_080_signed_firmware_update(site: Site) -> None:
    station, _, _ = await site.station()
    _, request = _signed(site, RELEASE)
    answer: Any = await site.csms.send(request)
    assert answer.status == "Accepted"
    await site.csms.wait_for("SignedFirmwareStatusNotification", 5)
    await restarted(station)
    await site.restart(station)
    await site.station("1.1.0")
    await site.csms.wait_for("SignedFirmwareStatusNotification", 6)
    assert site.statuses("SignedFirmwareStatusNotification") == [
        "Downloading", "Downloaded", "SignatureVerified", "Installing", "InstallRebooting",
        "Installed"]
    assert {f.payload["requestId"] for f in site.csms.calls(
        "SignedFirmwareStatusNotification")} == {9}


async def test_081_invalid_signature(site: Site) -> None:
    await site.station()
    _, request = _signed(site, b"not the file")
    answer: Any = await site.csms.send(request)
    assert answer.status == "Accepted"
    await site.csms.wait_for("SecurityEventNotification")
    await site.csms.wait_for("SignedFirmwareStatusNotification", 3)
    assert site.statuses("SignedFirmwareStatusNotification") == [
        "Downloading", "Downloaded", "InvalidSignature"]
    [event] = site.csms.calls("SecurityEventNotification")
    assert event.payload["type"] == "InvalidFirmwareSignature"


async def test_invalid_signing_certificate(site: Site) -> None:
    await site.station()
    install_root(site.tmp / "roots", make_cert("Manufacturer Root", None, ca=True))
    stranger = make_cert("fw", make_cert("Other", None, ca=True), ca=False)
    answer: Any = await site.csms.send(call.SignedUpdateFirmware(request_id=3, firmware={
        "location": site.http.url("/fw/1.1.0.tar.gz"), "retrieveDateTime": iso(time.time()),
        "signingCertificate": stranger.pem, "signature": stranger.sign(RELEASE)}))
    assert answer.status == "InvalidCertificate"
    [event] = await site.csms.wait_for("SecurityEventNotification")
    assert event.payload["type"] == "InvalidFirmwareSigningCertificate"
    assert site.csms.calls("SignedFirmwareStatusNotification") == []


async def test_update_then_rollback_as_the_csms_sees_it(site: Site) -> None:
    """1.1.0 is installed but never gets BootNotification Accepted (the CSMS keeps it
    Pending): it rolls back to 1.0.0 by itself, which then reports InstallationFailed."""
    station, _, _ = await site.station(health_timeout_s=1.0)
    await site.csms.send(call.UpdateFirmware(location=site.http.url("/fw/1.1.0.tar.gz"),
                                             retrieve_date=iso(time.time())))
    await restarted(station)
    await site.restart(station)
    site.csms.boot_status = "Pending"
    trial, fw, _ = await site.station("1.1.0", wait_boot=False)
    await fw.guard.rolled_back.wait()
    await restarted(trial)
    assert (site.tmp / "releases" / "current").readlink().name == "1.0.0"
    await site.restart(trial)
    site.csms.boot_status = "Accepted"
    await site.station("1.0.0")
    await site.csms.wait_for("FirmwareStatusNotification", 4)
    seen = [f"{f.action}({f.payload.get('status', '')}"
            f"{', ' + f.payload['firmwareVersion'] if 'firmwareVersion' in f.payload else ''})"
            for f in site.csms.calls() if f.action in (
                "BootNotification", "FirmwareStatusNotification")]
    print("\nCSMS sees:\n  " + "\n  ".join(seen))
    # 1.1.0's own BootNotification is absent when the deadline passed before it connected.
    assert [x for x in seen if x != "BootNotification(, 1.1.0)"] == [
        "BootNotification(, 1.0.0)", "FirmwareStatusNotification(Downloading)",
        "FirmwareStatusNotification(Downloaded)", "FirmwareStatusNotification(Installing)",
        "BootNotification(, 1.0.0)", "FirmwareStatusNotification(InstallationFailed)"]
