"""OCPP 2.0.1 firmware management (L01 secure, L02 non-secure update) and N01 (GetLog) against
the loopback 2.0.1 CSMS, the full station on the simulated bench: firmware from a real HTTP
server on 127.0.0.1, logs to a real FTP / HTTP server there (``tests.firmware.fw_helpers``);
the release is installed into a slot by ``FakeInstaller`` and the restart is the station's
own (stopped, then started again on the same store, as the new version)."""

from __future__ import annotations

import asyncio
import io
import tarfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from ocpp.v201 import call

from chargepoint.app import RunningStation, start_station
from chargepoint.config import config_from_toml
from chargepoint.firmware.installer import Installer
from chargepoint.ocpp201.adapter import BOOT_REASON_KEY, Ocpp201Adapter
from chargepoint.ocpp201.firmware import FirmwareHandlers
from tests.firmware.fw_helpers import (
    FakeInstaller,
    HttpPeer,
    Pki,
    Route,
    ftp_peer,
    http_peer,
    install_root,
    iso,
    make_cert,
    make_release,
    refused_port,
)
from tests.fullstack import until
from tests.ocpp201.conftest import toml201
from tests.ocpp201.csms import Csms201

RELEASE = make_release("1.1.0")
FIRMWARE_PATH = "/fw/1.1.0.tar.gz"


@dataclass
class Lab:
    """The CSMS, the file servers, the station's directories and the stations started."""

    csms: Csms201
    http: HttpPeer
    tmp: Path
    started: list[RunningStation] = field(default_factory=list)

    async def start(self, version: str = "1.0.0", *, allow_unsigned: bool = False,
                    installer: Installer | None = None) -> RunningStation:
        text = toml201(self.csms.url, self.tmp, 1, {}, extra=f"""
[logging]
file = "{self.tmp / 'controller.log'}"
[firmware]
releases_dir = "{self.tmp / 'releases'}"
roots_dir = "{self.tmp / 'roots'}"
allow_unsigned = {str(allow_unsigned).lower()}
""").replace("connectors = 1\n", f'connectors = 1\nfirmware_version = "{version}"\n')
        cp = await start_station(config_from_toml(text), control_socket=False,
                                 firmware_installer=installer or FakeInstaller())
        self.started.append(cp)
        await until(lambda: cp.adapter.link_state().registration == "Accepted")
        return cp

    def signed(self, data: bytes = RELEASE, request_id: int = 7) -> call.UpdateFirmware:
        """A signed request whose signing certificate chains to an installed root."""
        root = make_cert("Manufacturer Root", None, ca=True)
        install_root(self.tmp / "roots", root)
        return self.request(make_cert("fw signer", root, ca=False), data, request_id)

    def request(self, signer: Pki | None, data: bytes = RELEASE, request_id: int = 7,
                path: str = FIRMWARE_PATH, **kw: Any) -> call.UpdateFirmware:
        firmware = {"location": self.http.url(path), "retrieveDateTime": iso(time.time())}
        if signer is not None:
            firmware.update(signingCertificate=signer.pem, signature=signer.sign(data))
        return call.UpdateFirmware(request_id=request_id, firmware=firmware, **kw)

    def firmware_statuses(self) -> list[str]:
        return [f.payload["status"] for f in self.csms.calls("FirmwareStatusNotification")]

    def log_statuses(self) -> list[tuple[str, int | None]]:
        return [(f.payload["status"], f.payload.get("requestId"))
                for f in self.csms.calls("LogStatusNotification")]

    async def wait_firmware(self, *statuses: str) -> None:
        """Wait for as many FirmwareStatusNotifications as ``statuses``; they must be these."""
        await self.csms.wait_until(lambda: len(self.firmware_statuses()) >= len(statuses))
        assert self.firmware_statuses() == list(statuses)


def handlers(cp: RunningStation) -> FirmwareHandlers:
    assert isinstance(cp.adapter, Ocpp201Adapter)
    return next(h for h in cp.adapter.extra_handlers if isinstance(h, FirmwareHandlers))


@pytest.fixture
def http() -> Iterator[HttpPeer]:
    with http_peer() as peer:
        peer.routes[FIRMWARE_PATH] = Route(RELEASE)
        yield peer


@pytest.fixture
async def lab(csms201: Csms201, http: HttpPeer, tmp_path: Path) -> AsyncIterator[Lab]:
    (tmp_path / "releases" / "1.0.0").mkdir(parents=True)
    (tmp_path / "releases" / "current").symlink_to("1.0.0")
    result = Lab(csms201, http, tmp_path)
    yield result
    for cp in result.started:
        await cp.stop()


# -- L01 secure firmware update -------------------------------------------------------------

async def test_l01_secure_update_reboots_with_firmware_update_then_installed(lab: Lab) -> None:
    cp = await lab.start()
    answer = await lab.csms.send(lab.signed(request_id=7))
    assert answer.status == "Accepted"
    await lab.wait_firmware("Downloading", "Downloaded", "SignatureVerified", "Installing",
                            "InstallRebooting")
    await until(lambda: cp.controller.restart == "soft")
    assert cp.store.kv_get(BOOT_REASON_KEY) == "FirmwareUpdate"
    assert (lab.tmp / "releases" / "current").readlink().name == "1.1.0"
    await cp.stop()
    new = await lab.start("1.1.0")
    boots = lab.csms.calls("BootNotification")
    assert [b.payload["reason"] for b in boots] == ["PowerUp", "FirmwareUpdate"]
    assert boots[1].payload["chargingStation"]["firmwareVersion"] == "1.1.0"
    await lab.wait_firmware("Downloading", "Downloaded", "SignatureVerified", "Installing",
                            "InstallRebooting", "Installed")
    assert {f.payload["requestId"] for f in lab.csms.calls("FirmwareStatusNotification")} == {7}
    await until(lambda: new.store.kv_get(BOOT_REASON_KEY) is None)  # next boot: PowerUp
    await handlers(new).send_firmware_status()  # the TriggerMessage hook
    await lab.csms.wait_for("FirmwareStatusNotification", 7)
    assert lab.csms.calls("FirmwareStatusNotification")[-1].payload == {"status": "Idle"}


async def test_l_02_install_scheduled_waits_for_install_date_time(lab: Lab) -> None:
    cp = await lab.start()
    request = lab.signed(request_id=2)
    install_at = time.time() + 2
    request.firmware["installDateTime"] = iso(install_at)
    assert (await lab.csms.send(request)).status == "Accepted"
    await lab.wait_firmware("Downloading", "Downloaded", "SignatureVerified", "InstallScheduled")
    assert cp.controller.restart is None
    await lab.wait_firmware("Downloading", "Downloaded", "SignatureVerified", "InstallScheduled",
                            "Installing", "InstallRebooting")
    assert time.time() >= install_at - 1  # not before installDateTime (second resolution)
    await until(lambda: cp.controller.restart == "soft")


class _HeldInstaller(FakeInstaller):
    """Installs only once ``go`` is set (holds the update in Installing)."""

    def __init__(self) -> None:
        super().__init__()
        self.go = asyncio.Event()

    async def install(self, file: Path, release: Any, slot: Path | None) -> None:
        await self.go.wait()
        await super().install(file, release, slot)


async def test_l_11_an_update_under_installation_cannot_be_cancelled(lab: Lab) -> None:
    held = _HeldInstaller()
    cp = await lab.start(installer=held)
    assert (await lab.csms.send(lab.signed(request_id=1))).status == "Accepted"
    await lab.wait_firmware("Downloading", "Downloaded", "SignatureVerified", "Installing")
    assert (await lab.csms.send(lab.signed(request_id=2))).status == "Rejected"
    held.go.set()
    await lab.wait_firmware("Downloading", "Downloaded", "SignatureVerified", "Installing",
                            "InstallRebooting")
    assert {f.payload["requestId"] for f in lab.csms.calls("FirmwareStatusNotification")} == {1}
    await until(lambda: cp.controller.restart == "soft")


async def test_l_08_a_signed_file_that_is_no_release_fails_verification(lab: Lab) -> None:
    cp = await lab.start()
    junk = b"signed, but not a release"
    lab.http.routes["/fw/junk.tar.gz"] = Route(junk)
    root = make_cert("Manufacturer Root", None, ca=True)
    install_root(lab.tmp / "roots", root)
    request = lab.request(make_cert("fw signer", root, ca=False), junk,
                          path="/fw/junk.tar.gz")
    assert (await lab.csms.send(request)).status == "Accepted"
    await lab.csms.wait_until(lambda: lab.firmware_statuses()[-1:] in (
        ["InstallVerificationFailed"], ["InstallationFailed"]))
    statuses = lab.firmware_statuses()
    assert statuses[:3] == ["Downloading", "Downloaded", "SignatureVerified"]
    assert statuses[-1] == "InstallVerificationFailed"
    assert cp.controller.restart is None
    assert (lab.tmp / "releases" / "current").readlink().name == "1.0.0"


async def test_l_03_download_scheduled_waits_for_retrieve_date_time(lab: Lab) -> None:
    cp = await lab.start()
    request = lab.signed(request_id=3)
    retrieve_at = time.time() + 2
    request.firmware["retrieveDateTime"] = iso(retrieve_at)
    assert (await lab.csms.send(request)).status == "Accepted"
    await lab.wait_firmware("DownloadScheduled")
    assert lab.http.hits.get(FIRMWARE_PATH, 0) == 0
    await lab.wait_firmware("DownloadScheduled", "Downloading", "Downloaded",
                            "SignatureVerified", "Installing", "InstallRebooting")
    assert time.time() >= retrieve_at - 1  # not before retrieveDateTime (second resolution)
    await until(lambda: cp.controller.restart == "soft")


async def test_l01_unsigned_request_is_rejected(lab: Lab) -> None:
    cp = await lab.start()
    answer = await lab.csms.send(lab.request(None))
    assert answer.status == "Rejected"
    await cp.adapter.ping()  # anything the station would have sent came before this
    assert lab.csms.calls("FirmwareStatusNotification") == []
    assert lab.http.hits == {}


async def test_l01_invalid_signature_is_not_installed(lab: Lab) -> None:
    cp = await lab.start()
    answer = await lab.csms.send(lab.signed(b"some other file"))
    assert answer.status == "Accepted"
    await lab.wait_firmware("Downloading", "Downloaded", "InvalidSignature")
    assert cp.security_events is not None
    assert "InvalidFirmwareSignature" in [e.kind for e in cp.security_events.raised]
    assert (lab.tmp / "releases" / "current").readlink().name == "1.0.0"
    assert cp.controller.restart is None


async def test_l01_signing_certificate_not_trusted_is_invalid_certificate(lab: Lab) -> None:
    cp = await lab.start()
    install_root(lab.tmp / "roots", make_cert("Manufacturer Root", None, ca=True))
    stranger = make_cert("fw", make_cert("Other Root", None, ca=True), ca=False)
    answer = await lab.csms.send(lab.request(stranger))
    assert answer.status == "InvalidCertificate"
    assert cp.security_events is not None
    assert "InvalidFirmwareSigningCertificate" in [e.kind for e in cp.security_events.raised]
    await cp.adapter.ping()
    assert lab.csms.calls("FirmwareStatusNotification") == []
    assert lab.http.hits == {}


async def test_l01_download_failed_after_the_retries(lab: Lab) -> None:
    await lab.start()
    request = lab.signed()
    request.firmware["location"] = lab.http.url("/fw/missing.tar.gz")
    request.retries, request.retry_interval = 2, 0
    assert (await lab.csms.send(request)).status == "Accepted"
    await lab.wait_firmware("Downloading", "DownloadFailed")
    assert lab.http.hits["/fw/missing.tar.gz"] == 3  # the first try and 2 retries


async def test_l01_download_retried_until_it_succeeds(lab: Lab) -> None:
    cp = await lab.start()
    lab.http.routes[FIRMWARE_PATH].fail_first = 1
    request = lab.signed()
    request.retries, request.retry_interval = 1, 0
    assert (await lab.csms.send(request)).status == "Accepted"
    await lab.wait_firmware("Downloading", "Downloaded", "SignatureVerified", "Installing",
                            "InstallRebooting")
    assert lab.http.hits[FIRMWARE_PATH] == 2
    await until(lambda: cp.controller.restart == "soft")


async def test_l01_installation_waits_for_the_running_transaction(lab: Lab) -> None:
    cp = await lab.start()
    handlers(cp).firmware.settings.idle_poll_s = 0.05
    assert cp.bench is not None
    cp.bench.plug(1)
    cp.bench.tap("04A1B2C3")
    await lab.csms.wait_until(lambda: lab.csms.events())
    assert (await lab.csms.send(lab.signed())).status == "Accepted"
    await lab.wait_firmware("Downloading", "Downloaded", "SignatureVerified")
    await until(lambda: handlers(cp).host.transactions_running())  # still charging
    assert cp.controller.restart is None
    cp.bench.unplug(1)
    await lab.wait_firmware("Downloading", "Downloaded", "SignatureVerified", "Installing",
                            "InstallRebooting")
    actions = [(f.action, f.payload.get("eventType") or f.payload.get("status"))
               for f in lab.csms.calls()]
    assert actions.index(("TransactionEvent", "Ended")) < actions.index(
        ("FirmwareStatusNotification", "Installing"))
    await until(lambda: cp.controller.restart == "soft")


async def test_l01_installation_failed_gives_the_evse_back(lab: Lab) -> None:
    cp = await lab.start(installer=FakeInstaller(fail=True))
    assert (await lab.csms.send(lab.signed())).status == "Accepted"
    await lab.wait_firmware("Downloading", "Downloaded", "SignatureVerified", "Installing",
                            "InstallationFailed")

    def evse1() -> list[str]:
        return [f.payload["connectorStatus"] for f in lab.csms.calls("StatusNotification")]

    await lab.csms.wait_until(lambda: evse1()[-2:] == ["Unavailable", "Available"])
    assert cp.controller.restart is None


# -- L02 non-secure firmware update (a lab setting) -----------------------------------------

async def test_l02_unsigned_update_when_allowed_and_a_second_request_cancels_the_first(
        lab: Lab) -> None:
    cp = await lab.start(allow_unsigned=True)
    later = lab.request(None, request_id=1)
    later.firmware["retrieveDateTime"] = iso(time.time() + 3600)
    assert (await lab.csms.send(later)).status == "Accepted"
    await lab.wait_firmware("DownloadScheduled")
    await handlers(cp).send_firmware_status()
    await lab.wait_firmware("DownloadScheduled", "DownloadScheduled")
    assert lab.csms.calls("FirmwareStatusNotification")[-1].payload == {
        "status": "DownloadScheduled", "requestId": 1}
    answer = await lab.csms.send(lab.request(None, request_id=2))
    assert answer.status == "AcceptedCanceled"
    await lab.wait_firmware("DownloadScheduled", "DownloadScheduled", "Downloading",
                            "Downloaded", "Installing", "InstallRebooting")
    assert [f.payload["requestId"] for f in lab.csms.calls(
        "FirmwareStatusNotification")][2:] == [2, 2, 2, 2]
    await until(lambda: cp.controller.restart == "soft")
    await cp.stop()
    await lab.start("1.1.0", allow_unsigned=True)
    await lab.csms.wait_until(lambda: lab.firmware_statuses()[-1] == "Installed")
    assert lab.csms.calls("BootNotification")[-1].payload["reason"] == "FirmwareUpdate"


# -- N01 retrieve log information -----------------------------------------------------------

def _members(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return {m.name: f.read() for m in tar.getmembers() if (f := tar.extractfile(m))}


async def test_n01_diagnostics_log_over_ftp(lab: Lab) -> None:
    await lab.start()
    with ftp_peer(lab.tmp / "ftp") as ftp:
        answer = await lab.csms.send(call.GetLog(
            log={"remoteLocation": ftp.url("")}, log_type="DiagnosticsLog", request_id=3))
        assert answer.status == "Accepted"
        assert answer.filename.startswith("diagnostics-CP-201-")
        await lab.csms.wait_until(lambda: lab.log_statuses()[-1:] == [("Uploaded", 3)])
        uploaded = (ftp.root / answer.filename).read_bytes()
    assert lab.log_statuses() == [("Uploading", 3), ("Uploaded", 3)]
    assert {"controller.log", "config.json", "manifest.json"} <= set(_members(uploaded))


async def test_n01_security_log_over_http(lab: Lab) -> None:
    cp = await lab.start()
    assert cp.security_events is not None
    cp.security_events.raise_event("TamperDetectionActivated", "test")
    answer = await lab.csms.send(call.GetLog(
        log={"remoteLocation": lab.http.url("/logs/")}, log_type="SecurityLog", request_id=4,
        retries=0))
    assert answer.status == "Accepted"
    await lab.csms.wait_until(lambda: lab.log_statuses()[-1:] == [("Uploaded", 4)])
    [(method, path, data, _)] = lab.http.uploads
    assert (method, path) == ("PUT", f"/logs/{answer.filename}")
    assert b"TamperDetectionActivated" in _members(data)["security.log"]


async def test_n01_upload_failure_bad_message_and_unsupported_scheme(lab: Lab) -> None:
    await lab.start()
    failed = await lab.csms.send(call.GetLog(
        log={"remoteLocation": f"ftp://127.0.0.1:{refused_port()}/"}, log_type="SecurityLog",
        request_id=5, retries=1, retry_interval=0))
    assert failed.status == "Accepted"
    await lab.csms.wait_until(lambda: lab.log_statuses()[-1:] == [("UploadFailure", 5)])
    await lab.csms.send(call.GetLog(log={"remoteLocation": "ftp:///no-host/"},
                                    log_type="SecurityLog", request_id=6))
    await lab.csms.wait_until(lambda: lab.log_statuses()[-1:] == [("BadMessage", 6)])
    await lab.csms.send(call.GetLog(log={"remoteLocation": "gopher://127.0.0.1/x"},
                                    log_type="SecurityLog", request_id=8))
    await lab.csms.wait_until(lambda: lab.log_statuses()[-1:] ==
                              [("NotSupportedOperation", 8)])
    assert lab.log_statuses() == [("Uploading", 5), ("UploadFailure", 5), ("BadMessage", 6),
                                  ("NotSupportedOperation", 8)]


async def test_n01_second_request_cancels_the_upload_under_way(lab: Lab) -> None:
    cp = await lab.start()
    first = await lab.csms.send(call.GetLog(
        log={"remoteLocation": f"ftp://127.0.0.1:{refused_port()}/"}, log_type="SecurityLog",
        request_id=11, retries=3, retry_interval=600))  # waits between its attempts
    assert first.status == "Accepted"
    await lab.csms.wait_until(lambda: lab.log_statuses() == [("Uploading", 11)])
    await handlers(cp).send_log_status()  # the TriggerMessage hook
    await lab.csms.wait_until(lambda: len(lab.log_statuses()) == 2)
    assert lab.log_statuses()[-1] == ("Uploading", 11)
    with ftp_peer(lab.tmp / "ftp") as ftp:
        second = await lab.csms.send(call.GetLog(
            log={"remoteLocation": ftp.url("")}, log_type="SecurityLog", request_id=12))
        assert second.status == "AcceptedCanceled"
        await lab.csms.wait_until(lambda: lab.log_statuses()[-1:] == [("Uploaded", 12)])
        assert (ftp.root / second.filename).is_file()
    await handlers(cp).send_log_status()
    await lab.csms.wait_until(lambda: lab.log_statuses()[-1:] == [("Idle", None)])
    assert lab.csms.calls("LogStatusNotification")[-1].payload == {"status": "Idle"}
