"""Least privilege on the control socket: read commands for `[control] group`, technician
commands for `[control] technician_group`, everything for root and the service user; each
caller identified by the kernel (SO_PEERCRED). The policy with synthetic peers, the plumbing
with real Unix sockets (a real unprivileged process where the system has `nobody`)."""

from __future__ import annotations

import asyncio
import grp
import json
import os
import pwd
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chargepoint.config import ConfigError, config_from_toml
from chargepoint.control import ControlFailed, ControlServer, request
from chargepoint.control.access import REQUIRED, AccessPolicy, Level, Peer, redact
from chargepoint.control.protocol import COMMANDS
from tests.app.conftest import FakeTarget

READ_GID, TECH_GID, SERVICE_UID = 2001, 2002, 999
POLICY = AccessPolicy(full_uids=frozenset({0, SERVICE_UID}), read_gids=frozenset({READ_GID}),
                      technician_gids=frozenset({TECH_GID}), read_group="chargepoint-ops",
                      technician_group="chargepoint-tech")
READ_ONLY = {"ping", "status", "meter", "selftest", "ocpp_ping"}


def peer(uid: int, *groups: int) -> Peer:
    return Peer(pid=1234, uid=uid, gid=groups[0] if groups else 100,
                groups=frozenset(groups or {100}), user=f"user{uid}")


def test_every_command_has_a_level() -> None:
    assert set(REQUIRED) == set(COMMANDS)


@pytest.mark.parametrize("cmd", sorted(COMMANDS))
def test_read_group_may_look_but_not_touch(cmd: str) -> None:
    reader = peer(1001, 100, READ_GID)
    level = POLICY.level(reader)
    assert level is Level.READ
    reason = POLICY.refusal(cmd, level, reader)
    if cmd in READ_ONLY:
        assert reason is None
    else:
        assert reason == (f"not allowed: {cmd} is a technician command; user1001 is not in "
                          "group chargepoint-tech")


@pytest.mark.parametrize("who", [peer(1002, 100, TECH_GID), peer(0, 0), peer(SERVICE_UID, 999)])
def test_technicians_root_and_the_service_user_may_do_everything(who: Peer) -> None:
    level = POLICY.level(who)
    assert level is Level.TECHNICIAN
    assert all(POLICY.refusal(cmd, level, who) is None for cmd in COMMANDS)


def test_a_stranger_may_do_nothing() -> None:
    stranger = peer(1003, 100)
    level = POLICY.level(stranger)
    assert level is Level.NONE
    assert POLICY.refusal("status", level, stranger) == (
        "not allowed: user1003 is in neither group chargepoint-ops nor chargepoint-tech")


def test_readers_see_no_whole_card_uid() -> None:
    doc = {"connectors": [{"id": 1, "transaction": {"id": 3, "id_tag": "04A1B2C3D4"}},
                          {"id": 2, "transaction": None}]}
    shown = redact("status", doc, Level.READ)
    assert shown["connectors"][0]["transaction"] == {"id": 3, "id_tag": "******C3D4"}
    assert shown["connectors"][1]["transaction"] is None
    assert doc["connectors"][0]["transaction"]["id_tag"] == "04A1B2C3D4"  # not changed
    assert redact("status", doc, Level.TECHNICIAN) is doc


# -- the real socket -------------------------------------------------------------------------


@pytest.fixture
async def read_only_root(short_dir: Path,
                         target: FakeTarget) -> AsyncIterator[ControlServer]:
    """A server whose policy gives root (the tests' user) read access only."""
    policy = AccessPolicy(full_uids=frozenset(), read_gids=frozenset({os.getgid()}),
                          technician_gids=frozenset(), read_group="ops",
                          technician_group="tech")
    srv = ControlServer(str(short_dir / "c.sock"), target, policy=policy)
    await srv.start()
    yield srv
    await srv.close()


async def test_the_peer_is_checked_per_request(read_only_root: ControlServer,
                                               target: FakeTarget) -> None:
    status = await request(read_only_root.path, "status")
    assert status["connectors"][0]["transaction"]["id_tag"] == "****B2C3"
    with pytest.raises(ControlFailed, match=r"^not allowed: relay is a technician command; "
                                            r"root is not in group tech$"):
        await request(read_only_root.path, "relay",
                      {"connector": 1, "which": "contactor", "op": "test"})
    assert [name for name, _ in target.calls] == ["status"]


async def test_the_cli_says_why_and_exits_1(read_only_root: ControlServer) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "chargepoint", "--socket", read_only_root.path, "fault", "clear",
        "1", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    assert proc.returncode == 1 and out == b""
    assert err.decode().splitlines() == [
        "chargepoint: not allowed: fault_clear is a technician command; root is not in group "
        "tech"]


async def test_a_peer_in_no_group_is_turned_away_at_once(short_dir: Path,
                                                         target: FakeTarget) -> None:
    policy = AccessPolicy(full_uids=frozenset(), read_gids=frozenset(),
                          technician_gids=frozenset(), read_group="ops",
                          technician_group="tech")
    async with ControlServer(str(short_dir / "c.sock"), target, policy=policy) as srv:
        with pytest.raises(ControlFailed, match="root is in neither group ops nor tech"):
            await request(srv.path, "status")
    assert target.calls == []


# A stdlib-only client for the unprivileged process (it cannot run the test's venv).
CLIENT = """
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
except PermissionError:
    print("EACCES"); sys.exit(0)
f = s.makefile("rwb")
for cmd, args in json.loads(sys.argv[2]):
    f.write(json.dumps({"cmd": cmd, "args": args}).encode() + b"\\n"); f.flush()
    print(f.readline().decode().strip())
"""


def _nobody() -> tuple[int, int]:
    try:
        user = pwd.getpwnam("nobody")
        grp.getgrgid(user.pw_gid)
    except KeyError:
        pytest.skip("no user nobody with a group")
    if os.geteuid() != 0 or shutil.which("python3", path="/usr/bin:/bin") is None:
        pytest.skip("needs root and a system python3 to run a client as nobody")
    return user.pw_uid, user.pw_gid


async def _as_nobody(path: str, requests: list[tuple[str, dict[str, object]]]) -> list[str]:
    uid, gid = _nobody()
    python = shutil.which("python3", path="/usr/bin:/bin")
    assert python is not None
    proc = await asyncio.create_subprocess_exec(
        python, "-I", "-c", CLIENT, path, json.dumps(requests), user=uid, group=gid,
        extra_groups=[], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd="/")
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return out.decode().splitlines()


async def test_a_real_unprivileged_reader_gets_status_but_no_relay(
        short_dir: Path, target: FakeTarget) -> None:
    _uid, gid = _nobody()
    short_dir.chmod(0o755)
    group = grp.getgrgid(gid).gr_name
    async with ControlServer(str(short_dir / "c.sock"), target, group=group,
                             technician_group="chargepoint-tech-test-absent") as srv:
        replies = [json.loads(line) for line in await _as_nobody(srv.path, [
            ("status", {}), ("relay", {"connector": 1, "which": "contactor", "op": "test"}),
            ("rfid_read", {"timeout_s": 1})])]
    assert replies[0]["ok"] is True
    assert replies[0]["result"]["connectors"][0]["transaction"]["id_tag"] == "****B2C3"
    assert replies[1] == {"ok": False, "error": (
        "not allowed: relay is a technician command; nobody is not in group "
        "chargepoint-tech-test-absent")}
    assert replies[2]["ok"] is False
    assert [name for name, _ in target.calls] == ["status"]


async def test_the_socket_file_keeps_others_out(short_dir: Path, target: FakeTarget) -> None:
    _nobody()
    short_dir.chmod(0o755)
    async with ControlServer(str(short_dir / "c.sock"), target, group="root") as srv:
        assert await _as_nobody(srv.path, [("status", {})]) == ["EACCES"]
    assert target.calls == []


# -- the config keys -------------------------------------------------------------------------

BASE = '[station]\nid = "CP-1"\n[ocpp]\nurl = "ws://127.0.0.1:9000/ocpp"\n'


def test_technician_group_default_and_value() -> None:
    assert config_from_toml(BASE).control.technician_group == "chargepoint-tech"
    control = config_from_toml(BASE + '[control]\ngroup = "ops"\ntechnician_group = "techs"\n'
                               ).control
    assert (control.group, control.technician_group) == ("ops", "techs")


@pytest.mark.parametrize(("line", "key"), [('technician_group = ""', "technician_group"),
                                           ('technician_group = "a b"', "technician_group"),
                                           ("technician_group = 7", "technician_group"),
                                           ('group = "x;y"', "group")])
def test_bad_group_names_name_the_key_and_line(line: str, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        config_from_toml(BASE + "[control]\n" + line + "\n")
    assert f"<string>:6: control.{key}:" in str(err.value)


async def test_daemon_text_cannot_drive_the_callers_terminal(short_dir: Path) -> None:
    """The CLI root runs prints what the daemon (CSMS-updatable code) says: no escape codes."""
    class Hostile(FakeTarget):
        async def relay(self, connector: int, which: str, op: str) -> str:
            return "ok\x1b]0;owned\x07\x1b[2J done\tfine"

    async with ControlServer(str(short_dir / "c.sock"), Hostile()) as srv:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "chargepoint", "--socket", srv.path, "relay", "1", "lock",
            "test", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, _ = await proc.communicate()
    assert proc.returncode == 0
    assert out.decode() == "ok]0;owned[2J done\tfine\n"


def test_config_check_warns_about_a_world_readable_password(tmp_path: Path) -> None:
    config = tmp_path / "chargepoint.toml"
    config.write_text('[station]\nid = "CP-1"\n[ocpp]\nurl = "ws://127.0.0.1:9000/ocpp"\n'
                      'security_profile = 1\npassword = "0123456789abcdef"\n')
    config.chmod(0o644)
    check = [sys.executable, "-m", "chargepoint", "config", "check", str(config), "--json"]
    result = subprocess.run(check, capture_output=True, text=True, check=False)
    assert result.returncode == 0  # a warning, not an error
    warning = (f"{config} holds [ocpp] password and is readable by every user (mode 0644): "
               f"chmod o-rwx {config}")
    assert json.loads(result.stdout)["warnings"] == [warning]
    assert result.stderr == f"warning: {warning}\n"
    config.chmod(0o640)
    result = subprocess.run(check, capture_output=True, text=True, check=False)
    assert json.loads(result.stdout)["warnings"] == [] and result.stderr == ""
