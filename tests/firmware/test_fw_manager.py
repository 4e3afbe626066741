"""The update job end to end over a real HTTP server, the real sqlite store and real slot dirs.

A service restart is simulated by building a new ``FirmwareManager`` over the same store and
directories with the new ``running_version`` (what the new process would do at start-up).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pytest

from chargepoint.firmware.download import TransferPolicy
from chargepoint.firmware.health import KV_PENDING, load_pending
from chargepoint.firmware.installer import Installer, OsUpdaterInstaller, VenvInstaller
from chargepoint.firmware.manager import KV_JOB, FirmwareManager, FirmwareSettings, UpdateRequest
from chargepoint.store.db import Store
from tests.firmware.fw_helpers import (
    FakeHost,
    FakeInstaller,
    HttpPeer,
    Route,
    http_peer,
    install_root,
    make_cert,
    make_release,
    make_wheel,
)

RELEASE = make_release("1.1.0")


@dataclass
class Bench:
    tmp: Path
    store: Store
    peer: HttpPeer

    @property
    def releases(self) -> Path:
        return self.tmp / "releases"

    def manager(self, running: str, host: FakeHost, installer: Installer | None = None,
                wall: Any = time.time, **settings: Any) -> FirmwareManager:
        base: dict[str, Any] = dict(
            releases_dir=self.releases, work_dir=self.tmp / "work", roots_dir=self.tmp / "roots",
            running_version=running, idle_poll_s=0.001, default_retry_interval_s=0,
            policy=TransferPolicy(timeout_s=10, idle_timeout_s=2),
            allow_unsigned=True)  # most tests here drive plain (lab) updates; see test_fw_unsigned
        base.update(settings)
        return FirmwareManager(self.store, host, FirmwareSettings(**base),
                               installer or FakeInstaller(), wall=wall)

    def current(self) -> str:
        return (self.releases / "current").readlink().name


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Bench]:
    store = Store.open(tmp_path / "state.db")
    (tmp_path / "releases" / "1.0.0").mkdir(parents=True)
    (tmp_path / "releases" / "current").symlink_to("1.0.0")
    with http_peer() as peer:
        peer.routes["/fw/release.tar.gz"] = Route(RELEASE)
        yield Bench(tmp_path, store, peer)
    store.close()


def request(bench: Bench, path: str = "/fw/release.tar.gz", **kw: Any) -> UpdateRequest:
    return UpdateRequest(bench.peer.url(path), time.time() - 1, **kw)


async def run(manager: FirmwareManager, req: UpdateRequest) -> None:
    assert manager.start(req) == "Accepted"
    manager.launch()
    await manager.wait_idle()


def csms_view(*hosts: FakeHost) -> list[str]:
    return [f"{action}({p['status']})" for h in hosts for action, p in h.reports]


async def test_install_then_healthy_boot(bench: Bench) -> None:
    """OCTT 044_1: Downloading, Downloaded, Installing, (restart), Installed."""
    (bench.releases / "0.9.0").mkdir()  # an older release, to be pruned once 1.1.0 is good
    old = FakeHost()
    await run(bench.manager("1.0.0", old), request(bench))
    assert old.statuses() == ["Downloading", "Downloaded", "Installing"]
    assert old.restarts == 1 and old.availability == [False]
    assert bench.current() == "1.1.0"
    assert (bench.releases / "1.1.0" / "VERSION").read_text() == "1.1.0"
    assert list((bench.tmp / "work").iterdir()) == []  # download and staging removed
    new = FakeHost()
    manager = bench.manager("1.1.0", new)
    await manager.boot()
    assert manager.guard.in_trial()
    await manager.registered()  # BootNotification Accepted
    await manager.close()
    assert new.statuses() == ["Installed"]
    # security whitepaper section 8: FirmwareUpdated (critical) once the release is healthy
    assert [kind for kind, _ in new.security] == ["FirmwareUpdated"]
    assert bench.store.kv_get(KV_PENDING) is None
    assert new.restarts == 0
    assert sorted(p.name for p in bench.releases.iterdir()) == [
        "1.0.0", "1.1.0", "boot-guard.py", "current"]


async def test_rollback_when_the_new_release_never_registers(bench: Bench) -> None:
    """The new release does not reach BootNotification Accepted in time: back to 1.0.0,
    and 1.0.0 reports InstallationFailed once it is registered again."""
    old = FakeHost()
    await run(bench.manager("1.0.0", old, health_timeout_s=0.05), request(bench))
    assert bench.current() == "1.1.0"
    trial = FakeHost()
    manager = bench.manager("1.1.0", trial)
    await manager.boot()  # arms the timer; no registration follows
    await manager.guard.rolled_back.wait()
    await manager.close()
    assert bench.current() == "1.0.0"
    assert trial.restarts == 1 and trial.statuses() == []
    back = FakeHost()
    manager = bench.manager("1.0.0", back)
    await manager.boot()
    await manager.registered()
    assert back.statuses() == ["InstallationFailed"]
    assert bench.store.kv_get(KV_PENDING) is None
    sequence = csms_view(old, trial, back)
    print("\nCSMS sees (update then rollback):\n  " + "\n  ".join(sequence))
    assert sequence == ["FirmwareStatusNotification(Downloading)",
                        "FirmwareStatusNotification(Downloaded)",
                        "FirmwareStatusNotification(Installing)",
                        "FirmwareStatusNotification(InstallationFailed)"]


async def test_crash_looping_release_is_rolled_back_at_boot(bench: Bench) -> None:
    await run(bench.manager("1.0.0", FakeHost()), request(bench))
    later = time.time() + 10_000  # the deadline passed while the new release kept crashing
    trial = FakeHost()
    await bench.manager("1.1.0", trial, wall=lambda: later).boot()
    assert bench.current() == "1.0.0" and trial.restarts == 1
    pending = load_pending(bench.store)
    assert pending is not None and pending.phase == "rolled_back"


async def test_download_failed(bench: Bench) -> None:
    """OCTT 044_2: the file is not there; retried ``retries`` times."""
    host = FakeHost()
    manager = bench.manager("1.0.0", host)
    await run(manager, request(bench, "/fw/missing.tar.gz", attempts=2, retry_interval_s=0))
    assert host.statuses() == ["Downloading", "DownloadFailed"]
    assert bench.peer.hits["/fw/missing.tar.gz"] == 2
    assert manager.status == "Idle" and bench.current() == "1.0.0"


@pytest.mark.parametrize("broken", ["installer", "manifest"])
async def test_installation_failed(bench: Bench, broken: str) -> None:
    """OCTT 044_3: the running slot stays, connectors come back, no restart."""
    bench.peer.routes["/fw/bad.tar.gz"] = Route(make_release("1.1.0", tamper=True))
    host = FakeHost()
    if broken == "installer":
        await run(bench.manager("1.0.0", host, FakeInstaller(fail=True)), request(bench))
        assert host.statuses() == ["Downloading", "Downloaded", "Installing",
                                   "InstallationFailed"]
        assert host.availability == [False, True]
    else:
        await run(bench.manager("1.0.0", host), request(bench, "/fw/bad.tar.gz"))
        assert host.statuses() == ["Downloading", "Downloaded", "InstallationFailed"]
        assert host.availability == []  # never touched: rejected before installing
    assert bench.current() == "1.0.0" and host.restarts == 0
    assert not (bench.releases / "1.1.0").exists()
    assert bench.store.kv_get(KV_PENDING) is None


async def test_installing_waits_for_the_running_transaction(bench: Bench) -> None:
    host = FakeHost(running=True)  # ends on the third look
    await run(bench.manager("1.0.0", host), request(bench))
    assert host.polls >= 3
    assert host.availability == [False]
    assert host.statuses()[-1] == "Installing"


async def test_retrieve_date_in_the_future_is_waited_for(bench: Bench) -> None:
    host = FakeHost()
    delays: list[float] = []

    async def sleep(delay: float) -> None:
        delays.append(delay)

    manager = bench.manager("1.0.0", host)
    manager._sleep = sleep  # the scheduler's clock
    await run(manager, UpdateRequest(bench.peer.url("/fw/release.tar.gz"), time.time() + 3600))
    assert delays and 3500 < delays[0] <= 3600
    assert host.statuses() == ["Downloading", "Downloaded", "Installing"]


def _signed(bench: Bench, signer: Any, data: bytes, request_id: int = 7) -> UpdateRequest:
    return request(bench, request_id=request_id, signing_certificate=signer.pem,
                   signature=signer.sign(data))


async def test_signed_update(bench: Bench) -> None:
    """OCTT 080: SignedFirmwareStatusNotification incl. SignatureVerified and InstallRebooting."""
    root = make_cert("Manufacturer Root", None, ca=True)
    install_root(bench.tmp / "roots", root)
    signer = make_cert("fw", root, ca=False, ec_key=True)
    host = FakeHost()
    manager = bench.manager("1.0.0", host)
    assert manager.check_signing(signer.pem) == "Accepted"
    await run(manager, _signed(bench, signer, RELEASE))
    assert host.statuses() == ["Downloading", "Downloaded", "SignatureVerified", "Installing",
                               "InstallRebooting"]
    assert {a for a, _ in host.reports} == {"SignedFirmwareStatusNotification"}
    assert all(p["requestId"] == 7 for _, p in host.reports)
    new = FakeHost()
    manager = bench.manager("1.1.0", new)
    await manager.boot()
    await manager.registered()
    assert new.reports == [("SignedFirmwareStatusNotification",
                            {"requestId": 7, "status": "Installed"})]


async def test_invalid_signature(bench: Bench) -> None:
    """OCTT 081: InvalidSignature + security event InvalidFirmwareSignature; not installed."""
    root = make_cert("Manufacturer Root", None, ca=True)
    install_root(bench.tmp / "roots", root)
    signer = make_cert("fw", root, ca=False)
    host = FakeHost()
    await run(bench.manager("1.0.0", host), _signed(bench, signer, b"something else"))
    assert host.statuses() == ["Downloading", "Downloaded", "InvalidSignature"]
    assert [kind for kind, _ in host.security] == ["InvalidFirmwareSignature"]
    assert bench.current() == "1.0.0" and host.restarts == 0


async def test_invalid_signing_certificate(bench: Bench) -> None:
    install_root(bench.tmp / "roots", make_cert("Manufacturer Root", None, ca=True))
    stranger = make_cert("fw", make_cert("Other Root", None, ca=True), ca=False)
    host = FakeHost()
    manager = bench.manager("1.0.0", host)
    assert manager.check_signing(stranger.pem) == "InvalidCertificate"
    assert [kind for kind, _ in host.security] == ["InvalidFirmwareSigningCertificate"]
    assert host.reports == []


async def test_os_updater(bench: Bench, tmp_path: Path) -> None:
    """The file goes to an OS updater command; its exit status decides; health as usual."""
    marker = tmp_path / "good"
    check = "import sys; sys.exit(0 if open(sys.argv[1], 'rb').read() else 3)"
    updater = OsUpdaterInstaller([sys.executable, "-c", check, "{file}"],
                                 mark_good=[sys.executable, "-c",
                                            f"open({str(marker)!r}, 'w').close()"])
    host = FakeHost()
    await run(bench.manager("1.0.0", host, updater), request(bench))
    assert host.statuses() == ["Downloading", "Downloaded", "Installing"]
    assert host.restarts == 1 and bench.current() == "1.0.0"  # the OS owns its slots
    new = FakeHost()
    manager = bench.manager("1.0.0", new, updater)
    await manager.boot()
    await manager.registered()
    assert new.statuses() == ["Installed"] and marker.exists()
    failing = OsUpdaterInstaller([sys.executable, "-c", "import sys; sys.exit(3)", "{file}"])
    host = FakeHost()
    await run(bench.manager("1.0.0", host, failing), request(bench))
    assert host.statuses()[-1] == "InstallationFailed" and host.restarts == 0


async def test_second_request_cancels_a_download_but_not_an_install(bench: Bench) -> None:
    host = FakeHost()
    manager = bench.manager("1.0.0", host)
    manager.start(UpdateRequest(bench.peer.url("/fw/release.tar.gz"), time.time() + 3600))
    manager.launch()
    assert manager.start(request(bench)) == "AcceptedCanceled"
    manager.launch()
    await manager.wait_idle()
    assert host.statuses() == ["Downloading", "Downloaded", "Installing"]


def _guard(bench: Bench) -> str:
    """One service start: ExecStartPre runs the copied guard with the system's python."""
    script = bench.releases / "boot-guard.py"
    done = subprocess.run([sys.executable, "-I", str(script), str(bench.releases),
                           str(bench.tmp / "state.db"), "--max-attempts", "2"],
                          capture_output=True, text=True, check=True, cwd=bench.tmp)
    return done.stderr.strip()


async def test_boot_guard_rolls_back_a_release_that_cannot_start(bench: Bench) -> None:
    """1.1.0 dies before its own health check can run: the guard (a copy outside the slots)
    counts the starts and switches back to 1.0.0 after ``--max-attempts``."""
    await run(bench.manager("1.0.0", FakeHost()), request(bench))
    assert bench.current() == "1.1.0"
    assert _guard(bench) == "boot-guard: trial"
    assert _guard(bench) == "boot-guard: trial"
    assert _guard(bench) == "boot-guard: rolled_back"
    assert bench.current() == "1.0.0"
    assert _guard(bench) == ""  # nothing to do any more
    back = FakeHost()
    manager = bench.manager("1.0.0", back)
    await manager.boot()
    await manager.registered()
    assert back.statuses() == ["InstallationFailed"]


async def test_boot_guard_leaves_a_healthy_release_alone(bench: Bench) -> None:
    await run(bench.manager("1.0.0", FakeHost()), request(bench))
    assert _guard(bench) == "boot-guard: trial"
    new = FakeHost()
    manager = bench.manager("1.1.0", new)
    await manager.boot()
    await manager.registered()
    assert new.statuses() == ["Installed"]
    assert _guard(bench) == "" and bench.current() == "1.1.0"


@pytest.mark.parametrize(("init_py", "ok"), [("VERSION = '1.1.0'\n", True),
                                              ("raise ImportError('broken release')\n", False)])
async def test_real_venv_install(bench: Bench, init_py: str, ok: bool) -> None:
    """The real ``VenvInstaller``: venv + offline pip install of a real wheel + import smoke
    test. A release that does not import is refused before ``current`` is switched."""
    bench.peer.routes["/fw/real.tar.gz"] = Route(make_release(
        "1.1.0", wheel=make_wheel("1.1.0", init_py)))
    host = FakeHost()
    installer = VenvInstaller(python=sys.executable, timeout_s=120)
    await run(bench.manager("1.0.0", host, installer), request(bench, "/fw/real.tar.gz"))
    slot = bench.releases / "1.1.0"
    if ok:
        assert host.statuses() == ["Downloading", "Downloaded", "Installing"]
        assert bench.current() == "1.1.0" and host.restarts == 1
        probe = subprocess.run([str(slot / "bin" / "python"), "-I", "-c",
                                "import chargepoint; print(chargepoint.VERSION)"],
                               capture_output=True, text=True, check=True)
        assert probe.stdout.strip() == "1.1.0"
    else:
        assert host.statuses() == ["Downloading", "Downloaded", "Installing",
                                   "InstallationFailed"]
        assert bench.current() == "1.0.0" and host.restarts == 0
        assert not slot.exists()


async def test_a_scheduled_job_survives_a_restart(bench: Bench) -> None:
    waiting = asyncio.Event()

    async def parked(delay: float) -> None:  # the scheduler waiting for retrieveDate
        waiting.set()
        await asyncio.Event().wait()

    first = FakeHost()
    manager = bench.manager("1.0.0", first)
    manager._sleep = parked
    manager.start(UpdateRequest(bench.peer.url("/fw/release.tar.gz"), time.time() + 3600))
    manager.launch()
    await waiting.wait()
    await manager.close()  # the service stops before retrieveDate
    assert bench.store.kv_get(KV_JOB) is not None
    later = time.time() + 3601
    second = FakeHost()
    manager = bench.manager("1.0.0", second, wall=lambda: later)
    await manager.boot()
    await manager.wait_idle()
    assert second.statuses() == ["Downloading", "Downloaded", "Installing"]
    assert bench.store.kv_get(KV_JOB) is None and bench.current() == "1.1.0"


async def test_a_job_interrupted_too_often_is_given_up(bench: Bench) -> None:
    bench.store.kv_set(KV_JOB, json.dumps({**asdict(request(bench)), "resumes": 3}))
    host = FakeHost()
    await bench.manager("1.0.0", host).boot()
    assert host.statuses() == ["InstallationFailed"]
    assert bench.store.kv_get(KV_JOB) is None
