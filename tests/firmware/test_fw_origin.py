"""Only signed code runs: a plain UpdateFirmware (no signature; the manifest's sha256 proves
integrity, not origin) is refused unless ``[firmware] allow_unsigned = true``; signed updates
keep working; downloads and installations check free disk space first.

Real parts: the app's simulated station, a loopback CSMS, a real HTTP server, the real store.
"""

from __future__ import annotations

import json
import logging
import shutil
import tarfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import asdict
from pathlib import Path

import pytest
from ocpp.v16 import call  # type: ignore[import-untyped]

from chargepoint.app import RunningStation, start_station
from chargepoint.config import config_from_toml
from chargepoint.firmware.download import FailureKind, TransferError, TransferPolicy, download
from chargepoint.firmware.manager import KV_JOB, FirmwareManager, FirmwareSettings, UpdateRequest
from chargepoint.firmware.release import ReleaseError, unpack_release
from chargepoint.store.db import Store
from tests.firmware.fw_helpers import (
    FakeHost,
    FakeInstaller,
    HttpPeer,
    Route,
    http_peer,
    install_root,
    iso,
    make_cert,
    make_release,
)
from tests.ocpp16.csms import Csms

RELEASE = make_release("1.1.0")


def _toml(url: str, tmp: Path, firmware: str = "") -> str:
    return f"""
[station]
id = "CP-ORIGIN"
firmware_version = "1.0.0"
[ocpp]
url = "{url}"
reconnect_min_s = 0.1
reconnect_max_s = 0.5
response_timeout_s = 5
[storage]
path = "{tmp / 'state.db'}"
[firmware]
roots_dir = "{tmp / 'roots'}"
{firmware}
[hardware]
simulate = true
"""


@pytest.fixture
def http() -> Iterator[HttpPeer]:
    with http_peer() as peer:
        peer.routes["/fw/1.1.0.tar.gz"] = Route(RELEASE)
        yield peer


@pytest.fixture
def installer() -> FakeInstaller:
    return FakeInstaller(fail=True)  # an installation never switches the test's process


async def _station(csms: Csms, tmp: Path, installer: FakeInstaller,
                   firmware: str = "") -> RunningStation:
    (tmp / "releases" / "1.0.0").mkdir(parents=True)
    (tmp / "releases" / "current").symlink_to("1.0.0")
    running = await start_station(config_from_toml(_toml(csms.url, tmp, firmware)),
                                  control_socket=False, firmware_installer=installer)
    await csms.wait_for("BootNotification", 1)
    return running


@pytest.fixture
async def station(csms: Csms, tmp_path: Path,
                  installer: FakeInstaller) -> AsyncIterator[RunningStation]:
    running = await _station(csms, tmp_path, installer)
    yield running
    await running.stop()


def _statuses(csms: Csms, action: str = "FirmwareStatusNotification") -> list[str]:
    return [f.payload["status"] for f in csms.calls(action)]


async def test_plain_update_firmware_is_refused_by_default(
        csms: Csms, station: RunningStation, http: HttpPeer, installer: FakeInstaller,
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The reproduction: UpdateFirmware over http used to download, install and run the
    release. Now: no download, InstallationFailed, a security event, a log line."""
    caplog.set_level(logging.ERROR, "chargepoint.firmware")
    answer = await csms.send(call.UpdateFirmware(location=http.url("/fw/1.1.0.tar.gz"),
                                                 retrieve_date=iso(time.time())))
    assert answer is not None  # 1.6 UpdateFirmware.conf has no status
    await csms.wait_for("FirmwareStatusNotification", 1)
    await csms.wait_until(lambda: any(f.payload["type"] == "InvalidFirmwareSignature"
                                      for f in csms.calls("SecurityEventNotification")))
    assert _statuses(csms) == ["InstallationFailed"]
    event = next(f.payload for f in csms.calls("SecurityEventNotification")
                 if f.payload["type"] == "InvalidFirmwareSignature")  # after StartupOfTheDevice
    assert "unsigned" in event["techInfo"]
    assert http.hits == {}  # nothing was downloaded
    assert installer.installed == []
    assert (tmp_path / "releases" / "current").readlink().name == "1.0.0"
    assert any("unsigned firmware update refused" in r.getMessage()
               and "allow_unsigned" in r.getMessage() for r in caplog.records)
    await csms.send(call.TriggerMessage(requested_message="FirmwareStatusNotification"))
    await csms.wait_for("FirmwareStatusNotification", 2)
    assert _statuses(csms)[-1] == "Idle"  # no job was started


async def test_plain_update_firmware_runs_with_allow_unsigned(
        csms: Csms, tmp_path: Path, http: HttpPeer, installer: FakeInstaller) -> None:
    running = await _station(csms, tmp_path, installer, "allow_unsigned = true")
    try:
        await csms.send(call.UpdateFirmware(location=http.url("/fw/1.1.0.tar.gz"),
                                            retrieve_date=iso(time.time())))
        await csms.wait_for("FirmwareStatusNotification", 4)
        assert _statuses(csms) == ["Downloading", "Downloaded", "Installing",
                                   "InstallationFailed"]  # FakeInstaller(fail=True)
        assert http.hits == {"/fw/1.1.0.tar.gz": 1}
    finally:
        await running.stop()


async def test_signed_update_works_without_allow_unsigned(
        csms: Csms, station: RunningStation, http: HttpPeer, tmp_path: Path) -> None:
    root = make_cert("Manufacturer Root", None, ca=True)
    install_root(tmp_path / "roots", root)
    signer = make_cert("fw", root, ca=False, ec_key=True)
    answer = await csms.send(call.SignedUpdateFirmware(request_id=3, firmware={
        "location": http.url("/fw/1.1.0.tar.gz"), "retrieveDateTime": iso(time.time()),
        "signingCertificate": signer.pem, "signature": signer.sign(RELEASE)}))
    assert answer is not None and answer.status == "Accepted"
    await csms.wait_for("SignedFirmwareStatusNotification", 5)
    assert _statuses(csms, "SignedFirmwareStatusNotification") == [
        "Downloading", "Downloaded", "SignatureVerified", "Installing", "InstallationFailed"]
    assert http.hits == {"/fw/1.1.0.tar.gz": 1}


# -- the manager on its own (a recording host) -------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "state.db")
    (tmp_path / "releases" / "1.0.0").mkdir(parents=True)
    (tmp_path / "releases" / "current").symlink_to("1.0.0")
    yield s
    s.close()


def _manager(tmp: Path, store: Store, host: FakeHost, **settings: object) -> FirmwareManager:
    base: dict[str, object] = dict(
        releases_dir=tmp / "releases", work_dir=tmp / "work", roots_dir=tmp / "roots",
        running_version="1.0.0", idle_poll_s=0.001, default_retry_interval_s=0,
        policy=TransferPolicy(timeout_s=10, idle_timeout_s=2))
    base.update(settings)
    return FirmwareManager(store, host, FirmwareSettings(**base),  # type: ignore[arg-type]
                           FakeInstaller())


async def test_an_unsigned_job_left_from_before_is_not_resumed(
        tmp_path: Path, store: Store, http: HttpPeer) -> None:
    """A plain job persisted by an older release (or while allow_unsigned was on) is refused
    when the station starts without allow_unsigned."""
    job = UpdateRequest(http.url("/fw/1.1.0.tar.gz"), time.time() - 1)
    store.kv_set(KV_JOB, json.dumps({**asdict(job), "resumes": 0}))
    host = FakeHost()
    manager = _manager(tmp_path, store, host)
    await manager.boot()
    await manager.wait_idle()
    assert host.statuses() == ["InstallationFailed"]
    assert host.security[0][0] == "InvalidFirmwareSignature"
    assert http.hits == {} and store.kv_get(KV_JOB) is None


async def test_a_refused_request_leaves_a_running_job_alone(
        tmp_path: Path, store: Store, http: HttpPeer) -> None:
    root = make_cert("Manufacturer Root", None, ca=True)
    install_root(tmp_path / "roots", root)
    signer = make_cert("fw", root, ca=False)
    host = FakeHost()
    manager = _manager(tmp_path, store, host)
    signed = UpdateRequest(http.url("/fw/1.1.0.tar.gz"), time.time() + 3600, request_id=9,
                           signing_certificate=signer.pem, signature=signer.sign(RELEASE))
    assert manager.start(signed) == "Accepted"
    manager.launch()
    await host.changed.wait()  # DownloadScheduled
    assert manager.start(UpdateRequest(http.url("/fw/1.1.0.tar.gz"), time.time())) == "Rejected"
    manager.launch()
    assert manager._job is not None and not manager._job.done()
    assert host.statuses() == ["DownloadScheduled", "InstallationFailed"]
    assert manager.status == "DownloadScheduled"
    await manager.close()


# -- free disk space ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["normal", "chunked"])
async def test_download_refused_when_the_disk_cannot_hold_it(
        tmp_path: Path, http: HttpPeer, mode: str) -> None:
    """Content-Length (or, without one, the margin alone) is checked before the first byte."""
    http.routes["/big"] = Route(b"x" * (16 << 20), mode=mode)
    free = shutil.disk_usage(tmp_path).free
    margin = free - (8 << 20) if mode == "normal" else free + 1  # 16 MiB do not fit
    with pytest.raises(TransferError) as err:
        await download(http.url("/big"), tmp_path / "dl" / "firmware.bin",
                       policy=TransferPolicy(timeout_s=10, idle_timeout_s=2,
                                             min_free_bytes=margin))
    assert err.value.kind is FailureKind.NO_SPACE
    assert "bytes free" in str(err.value) and "kept free" in str(err.value)
    assert list((tmp_path / "dl").iterdir()) == []


async def test_update_reports_download_failed_on_a_full_disk_without_retrying(
        tmp_path: Path, store: Store, http: HttpPeer,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, "chargepoint.firmware")
    host = FakeHost()
    free = shutil.disk_usage(tmp_path).free
    manager = _manager(tmp_path, store, host, allow_unsigned=True,
                       policy=TransferPolicy(timeout_s=10, idle_timeout_s=2,
                                             min_free_bytes=free + 1))
    assert manager.start(UpdateRequest(http.url("/fw/1.1.0.tar.gz"), time.time(),
                                       attempts=3)) == "Accepted"
    manager.launch()
    await manager.wait_idle()
    assert host.statuses() == ["Downloading", "DownloadFailed"]
    assert http.hits == {"/fw/1.1.0.tar.gz": 1}  # a full disk is not retried
    assert any("no_space" in r.getMessage() for r in caplog.records)


def test_unpack_refused_when_the_disk_cannot_hold_the_installation(tmp_path: Path) -> None:
    archive = tmp_path / "fw.tar.gz"
    archive.write_bytes(RELEASE)
    free = shutil.disk_usage(tmp_path).free
    with pytest.raises(ReleaseError, match="not enough disk space"):
        unpack_release(archive, tmp_path / "staging", min_free_bytes=free)
    assert list((tmp_path / "staging").iterdir()) == []
    with tarfile.open(archive) as tar:
        assert len(tar.getnames()) >= 2
    release = unpack_release(archive, tmp_path / "staging", min_free_bytes=0)
    assert release.manifest.version == "1.1.0"
