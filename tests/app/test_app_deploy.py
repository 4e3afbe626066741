"""deploy/: the systemd unit passes `systemd-analyze verify` without a single warning, and
install.sh installs into (and removes from) a temporary root without touching the system."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "deploy" / "chargepoint.service"
INSTALL = REPO / "deploy" / "install.sh"
EXEC = "/var/lib/chargepoint/releases/current/bin/chargepoint"
VENV = "/opt/chargepoint/venv"


def verify(unit_text: str, tmp_path: Path) -> str:
    """`systemd-analyze verify` output for ``unit_text`` with ExecStart pointed at an existing
    chargepoint executable (verify checks that the binary exists; /opt is not installed here).
    Only the binary path is rewritten: every other line is checked as shipped."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze not installed")
    local = Path(sys.executable).parent / "chargepoint"
    assert local.exists(), "the chargepoint console script is not installed in this venv"
    text = unit_text.replace(f"ExecStart={EXEC} ", f"ExecStart={local} ")
    unit = tmp_path / "chargepoint.service"
    unit.write_text(text)
    result = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True,
                            env={**os.environ, "SYSTEMD_LOG_LEVEL": "info"})
    return (result.stdout + result.stderr).strip() + ("" if result.returncode == 0 else
                                                       f"\nexit status {result.returncode}")


def test_unit_verifies_without_any_warning(tmp_path: Path) -> None:
    assert verify(UNIT.read_text(), tmp_path) == ""


def test_the_verify_check_can_fail(tmp_path: Path) -> None:
    bad = UNIT.read_text().replace("WatchdogSec=10", "WatchdogSec=10\nWatchdogSecs=10")
    assert "Unknown key 'WatchdogSecs'" in verify(bad, tmp_path)


def test_unit_has_the_required_settings() -> None:
    lines = UNIT.read_text().splitlines()
    for expected in ("Type=notify", "NotifyAccess=main", "WatchdogSec=10", "Restart=always",
                     "User=chargepoint", "Group=chargepoint",
                     "SupplementaryGroups=gpio spi dialout", "StateDirectory=chargepoint",
                     "RuntimeDirectory=chargepoint", "ConfigurationDirectory=chargepoint",
                     "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
                     "NoNewPrivileges=yes", "CapabilityBoundingSet=", "DevicePolicy=closed",
                     f"ExecStart={EXEC} run"):
        assert expected in lines, expected
    assert any(line.startswith("ReadWritePaths=") and "/sys/class/pwm" in line for line in lines)
    assert "PrivateDevices=yes" not in lines  # would hide /dev/gpiochip*


def install(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    bash = shutil.which("bash")
    assert bash is not None
    return subprocess.run([bash, str(INSTALL), "--root", str(root), *args],
                          capture_output=True, text=True, timeout=60)


def snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): (p.read_text() if p.is_file() and not p.is_symlink()
                                       else os.readlink(p) if p.is_symlink() else "<dir>")
            for p in sorted(root.rglob("*"))}


def fake_venv(root: Path) -> None:
    """Stand in for the venv pip would build: a chargepoint that runs this checkout."""
    bin_dir = root / "opt/chargepoint/venv/bin"
    bin_dir.mkdir(parents=True)
    script = bin_dir / "chargepoint"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m chargepoint "$@"\n')
    script.chmod(0o755)


def test_dry_run_changes_nothing(tmp_path: Path) -> None:
    result = install(tmp_path, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert list(tmp_path.iterdir()) == []
    assert "would run: install -m 0640" in result.stdout
    assert "skipped (--root): systemctl enable chargepoint.service" in result.stdout
    assert "python3 -m venv --system-site-packages" in result.stdout


def test_install_into_a_root_is_complete_and_idempotent(tmp_path: Path) -> None:
    fake_venv(tmp_path)
    result = install(tmp_path, "--skip-venv")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for command in ("apt-get install", "useradd --system", "usermod -a -G gpio,spi,dialout",
                    "chown -R root:chargepoint", "systemctl enable chargepoint.service"):
        assert re.search(rf"^skipped \(--root\): .*{re.escape(command)}", out, re.M), command
    config = tmp_path / "etc/chargepoint/chargepoint.toml"
    assert config.read_text() == (REPO / "deploy/chargepoint.toml.example").read_text()
    assert stat.S_IMODE(config.stat().st_mode) == 0o640
    assert (tmp_path / "etc/systemd/system/chargepoint.service").read_text() == UNIT.read_text()
    assert os.readlink(tmp_path / "usr/local/bin/chargepoint") == f"{VENV}/bin/chargepoint"
    assert "complete -o default -F _chargepoint chargepoint" in (
        tmp_path / "etc/bash_completion.d/chargepoint").read_text()
    assert (tmp_path / "opt/chargepoint/docs").is_dir()
    assert (tmp_path / "var/lib/chargepoint").is_dir()
    releases = tmp_path / "var/lib/chargepoint/releases"
    version = os.readlink(releases / "current")
    assert os.readlink(releases / version) == VENV  # the installed venv is the first slot
    guard = (REPO / "chargepoint/firmware/guard.py").read_text()
    assert (releases / "boot-guard.py").read_text() == guard

    config.write_text(config.read_text().replace("CP-0001", "CP-LOCAL"))  # the operator's edit
    before = snapshot(tmp_path)
    again = install(tmp_path, "--skip-venv")
    assert again.returncode == 0, again.stderr
    assert "keeping the existing" in again.stdout
    assert snapshot(tmp_path) == before


def test_uninstall_keeps_config_and_state_unless_purged(tmp_path: Path) -> None:
    fake_venv(tmp_path)
    assert install(tmp_path, "--skip-venv").returncode == 0
    (tmp_path / "var/lib/chargepoint/state.db").write_text("sessions")
    result = install(tmp_path, "--uninstall")
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "opt/chargepoint").exists()
    assert not (tmp_path / "etc/systemd/system/chargepoint.service").exists()
    assert not (tmp_path / "usr/local/bin/chargepoint").is_symlink()
    assert (tmp_path / "etc/chargepoint/chargepoint.toml").exists()
    assert (tmp_path / "var/lib/chargepoint/state.db").read_text() == "sessions"
    result = install(tmp_path, "--uninstall", "--purge")
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "etc/chargepoint").exists()
    assert not (tmp_path / "var/lib/chargepoint").exists()
    assert "skipped (--root): userdel chargepoint" in result.stdout


def test_bad_options_are_usage_errors(tmp_path: Path) -> None:
    assert install(tmp_path, "--frobnicate").returncode == 2
    assert install(tmp_path, "--purge").returncode == 2
    assert list(tmp_path.iterdir()) == []


# -- who owns the code root runs (docs/security.md) ------------------------------------------

SERVICE_WRITABLE = "/var/lib/chargepoint"


def test_root_cli_is_never_service_writable_code(tmp_path: Path) -> None:
    """The reproduction: /usr/local/bin/chargepoint resolved into releases/current, which the
    service user (and every firmware update) can write: `sudo chargepoint` ran their code."""
    fake_venv(tmp_path)
    result = install(tmp_path, "--skip-venv")
    assert result.returncode == 0, result.stderr
    target = os.readlink(tmp_path / "usr/local/bin/chargepoint")
    assert not target.startswith(SERVICE_WRITABLE)
    assert target.startswith(VENV + "/")
    assert f"-> {VENV}/bin/chargepoint (root-owned, not writable by the service)" in result.stdout
    # every component from / down to the script: root-owned, not writable by group or others
    path = tmp_path
    for part in Path(target).parts[1:]:
        path = path / part
        st = path.lstat()
        assert st.st_uid == 0 and not st.st_mode & 0o022, path
    assert not (tmp_path / "usr/local/bin/chargepoint").resolve().is_relative_to(
        tmp_path / SERVICE_WRITABLE.lstrip("/"))


def test_dry_run_shows_the_root_owned_cli(tmp_path: Path) -> None:
    out = install(tmp_path, "--dry-run").stdout
    assert f"would run: ln -sfn {VENV}/bin/chargepoint {tmp_path}/usr/local/bin/chargepoint" in out
    assert "would check: " in out and "root-owned" in out
    assert "releases/current/bin/chargepoint" not in out
    uninstall = install(tmp_path, "--uninstall", "--dry-run").stdout
    assert f"would run: rm -f {tmp_path}/etc/systemd/system/chargepoint.service " \
           f"{tmp_path}/usr/local/bin/chargepoint" in uninstall


@pytest.mark.parametrize("spoil", ["owner", "group-writable", "parent"])
def test_install_fails_when_the_cli_venv_is_writable_by_others(tmp_path: Path,
                                                               spoil: str) -> None:
    fake_venv(tmp_path)
    script = tmp_path / "opt/chargepoint/venv/bin/chargepoint"
    if spoil == "owner":
        os.chown(script, 65534, 65534)
    elif spoil == "group-writable":
        os.chown(script, 0, 65534)
        script.chmod(0o775)
    else:
        (tmp_path / "opt/chargepoint").chmod(0o777)
    result = install(tmp_path, "--skip-venv")
    assert result.returncode == 1
    assert "is not root-owned or is writable by others" in result.stderr
    assert not (tmp_path / "usr/local/bin/chargepoint").is_symlink()


def test_secrets_and_state_are_private(tmp_path: Path) -> None:
    fake_venv(tmp_path)
    key = tmp_path / "etc/chargepoint/client.key"
    key.parent.mkdir(parents=True)
    key.write_text("-----BEGIN PRIVATE KEY-----\n")
    key.chmod(0o644)  # as an operator may have copied it
    result = install(tmp_path, "--skip-venv")
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(key.stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "etc/chargepoint").stat().st_mode) == 0o750
    assert stat.S_IMODE((tmp_path / "var/lib/chargepoint").stat().st_mode) == 0o700
    out = result.stdout
    assert f"skipped (--root): chown chargepoint:chargepoint {tmp_path}/var/lib/chargepoint\n" \
        in out
    assert not re.search(r"chown -R \S+ \S*/var/lib/chargepoint", out)  # never walks it
    for group in ("chargepoint-ops", "chargepoint-tech"):
        assert f"skipped (--root): groupadd --system -f {group}" in out
    purge = install(tmp_path, "--uninstall", "--purge").stdout
    assert "skipped (--root): groupdel chargepoint-tech" in purge


def test_unit_keeps_files_private() -> None:
    lines = UNIT.read_text().splitlines()
    for expected in ("UMask=0077", "StateDirectoryMode=0700", "RuntimeDirectoryMode=0755"):
        assert expected in lines, expected
