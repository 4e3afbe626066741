"""Diagnostics bundles (secrets redacted) and their upload over real FTP and HTTP servers."""

from __future__ import annotations

import json
import tarfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from chargepoint.diagnostics.bundle import BundleSources, build_bundle
from chargepoint.diagnostics.manager import DiagnosticsManager, DiagnosticsSettings
from chargepoint.diagnostics.redact import redact_config
from chargepoint.diagnostics.sources import FileLog, SecurityLog
from chargepoint.firmware.download import TransferPolicy
from chargepoint.store.db import Store
from tests.firmware.fw_helpers import FakeHost, ftp_peer, http_peer, refused_port

SECRET = "Sup3rS3cret"
AUTH_KEY = "00112233445566778899"
PEM = "-----BEGIN CERTIFICATE-----\nMIIBxTCCAWugAwIBAgIU\n-----END CERTIFICATE-----"
KEY = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----"


def _stamp(at: float) -> str:
    return datetime.fromtimestamp(at).strftime("%Y-%m-%d %H:%M:%S,%f")[:23]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "state.db")
    s.config_set("AuthorizationKey", AUTH_KEY)
    s.config_set("HeartbeatInterval", "300")
    yield s
    s.close()


@pytest.fixture
def sources(tmp_path: Path, store: Store) -> BundleSources:
    now = time.time()
    log = tmp_path / "chargepoint.log"
    frame = json.dumps([2, "1", "ChangeConfiguration", {"key": "AuthorizationKey",
                                                         "value": AUTH_KEY}])
    log.write_text("\n".join([
        f"{_stamp(now - 7200)} INFO    chargepoint.core too old to be asked for",
        f"{_stamp(now - 60)} INFO    chargepoint.core connector 1 Charging",
        "Traceback (most recent call last): continuation line",
        f"{_stamp(now - 50)} INFO    chargepoint.frames <- {frame}",
        f"{_stamp(now - 40)} WARNING chargepoint.ocpp url wss://CP-1:{SECRET}@csms.example/ocpp",
        f"{_stamp(now - 30)} INFO    chargepoint.ocpp Authorization: Basic Q1AtMTpzZWNyZXQ=",
    ]) + "\n")

    async def selftest() -> dict[str, Any]:
        return {"meter": "pass", "rfid": "fail"}

    config = {"station": {"id": "CP-1"},
              "ocpp": {"url": f"wss://CP-1:{SECRET}@csms.example/ocpp", "password": SECRET,
                       "ca_file": "/etc/chargepoint/ca.pem", "client_key": KEY,
                       "config": {"AuthorizationKey": AUTH_KEY, "HeartbeatInterval": 300}},
              "tls": {"certificate": PEM}}
    return BundleSources(store, "CP-1", FileLog(log), lambda: config, selftest,
                         SecurityLog(store))


def _members(path: Path) -> dict[str, str]:
    with tarfile.open(path, "r:gz") as tar:
        out = {}
        for info in tar.getmembers():
            f = tar.extractfile(info)
            assert f is not None
            out[info.name] = f.read().decode()
        return out


async def test_bundle_contents_have_no_secrets(tmp_path: Path, sources: BundleSources) -> None:
    path = await build_bundle(sources, tmp_path / "out" / "d.tar.gz", time.time() - 3600, None)
    members = _members(path)
    assert set(members) >= {"controller.log", "ocpp-frames.log", "config.json",
                            "ocpp-config.json", "store.json", "versions.json", "selftest.json",
                            "manifest.json"}
    everything = "".join(members.values())
    for secret in (SECRET, AUTH_KEY, "MIIBxTCCAWugAwIBAgIU", "MIIEvQIBADANBg",
                   "Q1AtMTpzZWNyZXQ="):
        assert secret not in everything, secret
    assert "connector 1 Charging" in members["controller.log"]
    assert "continuation line" in members["controller.log"]
    assert "too old" not in members["controller.log"]  # outside startTime..stopTime
    assert "ChangeConfiguration" in members["ocpp-frames.log"]
    assert "ChangeConfiguration" not in members["controller.log"]
    config = json.loads(members["config.json"])
    assert config["ocpp"]["ca_file"] == "/etc/chargepoint/ca.pem"  # a path is no secret
    assert config["ocpp"]["config"]["HeartbeatInterval"] == 300
    assert json.loads(members["ocpp-config.json"])["HeartbeatInterval"] == "300"
    assert json.loads(members["store.json"])["queue_length"] == 0
    assert json.loads(members["selftest.json"]) == {"meter": "pass", "rfid": "fail"}
    assert "cryptography" in json.loads(members["versions.json"])["packages"]


def test_redact_config_rules() -> None:
    out = redact_config({"Password": "x", "auth_token": "t", "nested": [{"secret": "s"}],
                         "url": "ftp://u:pw@h/p", "empty_password": "", "keep": 5})
    assert out == {"Password": "***", "auth_token": "***", "nested": [{"secret": "***"}],
                   "url": "ftp://u:***@h/p", "empty_password": "", "keep": 5}


def _manager(tmp_path: Path, sources: BundleSources, host: FakeHost,
             **kw: Any) -> DiagnosticsManager:
    settings = DiagnosticsSettings(tmp_path / "diag-work", default_retry_interval_s=0,
                                   policy=TransferPolicy(timeout_s=10, idle_timeout_s=2), **kw)
    return DiagnosticsManager(host, sources, settings)


async def test_get_diagnostics_over_ftp(tmp_path: Path, sources: BundleSources) -> None:
    """OCTT 045_1: the .conf names the file; Uploading then Uploaded; the file is there."""
    host = FakeHost()
    manager = _manager(tmp_path, sources, host)
    with ftp_peer(tmp_path / "ftp") as peer:
        name = manager.get_diagnostics(peer.url(""), 1, 0, None, None)
        assert name is not None and name.startswith("diagnostics-CP-1-")
        assert manager.diagnostics_status == "Idle"  # nothing runs before launch()
        manager.launch()
        await manager.wait_idle()
        uploaded = peer.root / name
        assert uploaded.is_file()
    assert host.statuses() == ["Uploading", "Uploaded"]
    assert {a for a, _ in host.reports} == {"DiagnosticsStatusNotification"}
    assert AUTH_KEY not in "".join(_members(uploaded).values())
    assert list((tmp_path / "diag-work").iterdir()) == []  # nothing left behind
    assert manager.diagnostics_status == "Idle"


@pytest.mark.parametrize("method", ["PUT", "POST"])
async def test_get_diagnostics_over_http(tmp_path: Path, sources: BundleSources,
                                         method: str) -> None:
    host = FakeHost()
    manager = _manager(tmp_path, sources, host, http_method=method)
    with http_peer() as peer:
        name = manager.get_diagnostics(peer.url("/upload/"), None, None, None, None)
        manager.launch()
        await manager.wait_idle()
    [(verb, path, _data, _headers)] = peer.uploads
    assert (verb, path) == (method, f"/upload/{name}")
    assert host.statuses() == ["Uploading", "Uploaded"]


async def test_upload_failed_after_retries(tmp_path: Path, sources: BundleSources) -> None:
    """OCTT 045_2: every attempt fails -> UploadFailed after ``retries`` attempts."""
    host = FakeHost()
    manager = _manager(tmp_path, sources, host)
    with http_peer() as peer:
        peer.upload_status = 500
        manager.get_diagnostics(peer.url("/upload/"), 3, 0, None, None)
        manager.launch()
        await manager.wait_idle()
        assert sum(peer.hits.values()) == 3
    assert host.statuses() == ["Uploading", "UploadFailed"]
    host = FakeHost()
    manager = _manager(tmp_path, sources, host)
    manager.get_diagnostics(f"ftp://127.0.0.1:{refused_port()}/", 1, 0, None, None)
    manager.launch()
    await manager.wait_idle()
    assert host.statuses() == ["Uploading", "UploadFailed"]
    assert manager.get_diagnostics("gopher://x/", 1, 0, None, None) is None


async def test_get_log_security_log(tmp_path: Path, sources: BundleSources) -> None:
    """OCTT 079: GetLog SecurityLog -> Accepted + file name, LogStatusNotification."""
    assert sources.security_log is not None
    sources.security_log.append("InvalidFirmwareSignature", "bad sig", "2026-01-01T00:00:00Z")
    host = FakeHost()
    manager = _manager(tmp_path, sources, host)
    with ftp_peer(tmp_path / "ftp") as peer:
        status, name = manager.get_log("SecurityLog", 12, peer.url(""), 1, 0, None, None)
        assert status == "Accepted" and name is not None and name.startswith("security-")
        manager.launch()
        await manager.wait_idle()
        log = _members(peer.root / name)["security.log"]
    assert json.loads(log)["type"] == "InvalidFirmwareSignature"
    assert host.reports == [("LogStatusNotification", {"status": "Uploading", "requestId": 12}),
                            ("LogStatusNotification", {"status": "Uploaded", "requestId": 12})]


async def test_get_log_failures(tmp_path: Path, sources: BundleSources) -> None:
    host = FakeHost()
    manager = _manager(tmp_path, sources, host)
    with ftp_peer(tmp_path / "ftp") as peer:
        manager.get_log("DiagnosticsLog", 1, peer.url("", password="nope"), 1, 0, None, None)
        manager.launch()
        await manager.wait_idle()
    manager.get_log("DiagnosticsLog", 2, "smb://host/share", 1, 0, None, None)
    manager.launch()
    await manager.wait_idle()
    manager.get_log("DiagnosticsLog", 3, "http://", 1, 0, None, None)
    manager.launch()
    await manager.wait_idle()
    assert [(p["requestId"], p["status"]) for _, p in host.reports] == [
        (1, "Uploading"), (1, "PermissionDenied"), (2, "NotSupportedOperation"),
        (3, "BadMessage")]
    assert manager.get_log("AuditLog", 4, "ftp://h/", 1, 0, None, None) == ("Rejected", None)
