"""The CLI against a real control socket served with a fake target, and local commands."""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from chargepoint.cli import logs as logs_cli
from chargepoint.cli import main
from chargepoint.control import ControlServer
from chargepoint.control.logquery import LogQuery
from tests.app.conftest import FakeTarget

REPO = Path(__file__).resolve().parents[2]
MINIMAL = '[station]\nid = "CP-1"\n[ocpp]\nurl = "ws://127.0.0.1:9000/ocpp"\n'


async def cli(*argv: str) -> tuple[int, str, str]:
    """Run ``chargepoint argv`` in a worker thread (it runs its own event loop)."""
    out, err = io.StringIO(), io.StringIO()
    code = await asyncio.to_thread(main, list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
async def sock(short_dir: Path, target: FakeTarget,
               monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    monkeypatch.delenv("CHARGEPOINT_SOCKET", raising=False)
    monkeypatch.delenv("CHARGEPOINT_CONFIG", raising=False)
    monkeypatch.setattr(logs_cli, "journald_available", lambda: False)
    async with ControlServer(str(short_dir / "c.sock"), target) as srv:
        yield srv.path


async def test_status_json_is_the_daemon_document(sock: str, target: FakeTarget) -> None:
    code, out, err = await cli("--socket", sock, "status", "--json")
    assert (code, err) == (0, "")
    assert json.loads(out) == await target.status()


async def test_status_human_table(sock: str) -> None:
    code, out, _ = await cli("--socket", sock, "status")
    assert code == 0
    assert "Station CP-1  firmware 0.1.0" in out
    assert "OCPP 1.6  connected  registration Accepted  queued 2" in out
    header, row = out.splitlines()[3:5]
    assert header.split() == ["CONN", "STATUS", "PILOT", "CONTACTOR", "LOCK", "LIMIT", "ENERGY",
                              "POWER", "TRANSACTION", "FAULTS"]
    assert row.split() == ["1", "Charging", "C", "closed", "locked", "16", "A", "1.234", "kWh",
                           "11.04", "kW", "17", "(04A1B2C3)", "-"]


async def test_socket_from_env_and_from_config(sock: str, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHARGEPOINT_SOCKET", sock)
    assert (await cli("status", "--json"))[0] == 0
    monkeypatch.delenv("CHARGEPOINT_SOCKET")
    cfg = tmp_path / "c.toml"
    cfg.write_text(MINIMAL + f'[control]\nsocket = "{sock}"\n')
    assert (await cli("--config", str(cfg), "status"))[0] == 0
    monkeypatch.setenv("CHARGEPOINT_CONFIG", str(cfg))
    assert (await cli("status"))[0] == 0


async def test_bad_config_is_exit_2_naming_the_key(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(MINIMAL + "[control]\nsockett = 1\n")
    code, out, err = await cli("--config", str(cfg), "status")
    assert code == 2 and out == ""
    assert f"{cfg}:6: control.sockett: unknown key" in err


async def test_refused_is_exit_1_with_one_line(sock: str, target: FakeTarget) -> None:
    target.refuse = "connector 1 has an EV plugged in"
    code, out, err = await cli("--socket", sock, "relay", "1", "contactor", "on")
    assert (code, out) == (1, "")
    assert err == "chargepoint: connector 1 has an EV plugged in\n"


async def test_no_daemon_is_exit_1(short_dir: Path) -> None:
    code, _, err = await cli("--socket", str(short_dir / "none"), "status")
    assert code == 1 and "not running" in err and err.count("\n") == 1


@pytest.mark.parametrize("argv", [
    [], ["frobnicate"], ["relay", "1", "contactor", "explode"], ["relay", "0", "lock", "on"],
    ["sim", "tap", "XYZ"], ["fault", "clear"], ["meter", "probe", "--port", "/dev/null"],
    ["--socket"], ["sim", "power", "down"], ["sim", "power"],
])
async def test_bad_usage_is_exit_2(argv: list[str]) -> None:
    assert (await cli(*argv))[0] == 2


async def test_help_and_version_exit_0() -> None:
    code, out, _ = await cli("--version")
    assert code == 0 and out.startswith("chargepoint ")
    assert (await cli("status", "--help"))[0] == 0


async def test_technician_commands_reach_the_target(sock: str, target: FakeTarget) -> None:
    assert (await cli("--socket", sock, "fault", "clear", "2")) == (
        0, "connector 2: faults cleared\n", "")
    code, out, _ = await cli("--socket", sock, "relay", "1", "lock", "test", "--json")
    assert code == 0 and json.loads(out) == {"ok": True, "message": "connector 1: lock test ok"}
    code, out, _ = await cli("--socket", sock, "ocpp", "ping", "--json")
    assert code == 0 and json.loads(out) == {"reachable": True, "rtt_ms": 12.0}
    assert target.calls[:2] == [("fault_clear", (2,)), ("relay", (1, "lock", "test"))]


async def test_selftest_failure_is_exit_1(sock: str) -> None:
    code, out, err = await cli("--socket", sock, "selftest")
    assert code == 1
    assert "rfid   FAIL    no reader" in out and "SELFTEST FAILED" in out
    assert err == "selftest failed: rfid\n"


async def test_sim_commands_forward_their_arguments(sock: str, target: FakeTarget) -> None:
    for argv in (["plug", "1", "--max-current", "16"], ["unplug", "1"], ["ev", "1", "pause"],
                 ["tap", "04a1b2c3"], ["fault", "1", "welded"], ["power", "off"],
                 ["power", "on"]):
        assert (await cli("--socket", sock, "sim", *argv))[0] == 0
    assert [c[1] for c in target.calls] == [
        ("plug", {"connector": 1, "max_current_a": 16.0}), ("unplug", {"connector": 1}),
        ("ev", {"connector": 1, "mode": "pause"}), ("tap", {"uid": "04A1B2C3"}),
        ("fault", {"connector": 1, "kind": "welded"}), ("power", {"state": "off"}),
        ("power", {"state": "on"})]


async def test_meter_and_watch(sock: str) -> None:
    code, out, _ = await cli("--socket", sock, "meter")
    assert code == 0
    assert "230.0/231.0/229.5 V" in out and "16.00/16.10/15.90 A" in out and "1.234 kWh" in out
    code, out, _ = await cli("--socket", sock, "meter", "--watch", "--count", "2",
                             "--interval", "0.01", "--json")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 2
    assert json.loads(lines[1])["connectors"][0]["power_w"] == 11040.0
    code, out, _ = await cli("--socket", sock, "meter", "--watch", "--count", "3",
                             "--interval", "0.01")
    assert code == 0 and out.count("CONN") == 3 and "\x1b[" not in out  # not a terminal


async def test_logs_through_the_daemon(sock: str, target: FakeTarget) -> None:
    before = datetime.now(UTC) - timedelta(minutes=10)
    code, out, _ = await cli("--socket", sock, "logs", "--since", "10 min ago", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["source"] == "daemon"
    assert doc["lines"] == [
        "2026-01-01T12:00:01.000+00:00 INFO chargepoint.test: [CONNECTOR=1] line one",
        "2026-01-01T12:00:02.000+00:00 INFO chargepoint.test: [CONNECTOR=1] line two"]
    assert [r["message"] for r in doc["records"]] == ["line one", "line two"]
    name, (since, query) = target.calls[-1]
    assert name == "logs" and query == LogQuery(limit=200)
    # the CLI sends the moment it means, not the words (the daemon may have another clock)
    assert before <= datetime.fromisoformat(since) <= before + timedelta(seconds=30)
    code, out, _ = await cli("--socket", sock, "logs", "-n", "1")
    assert (code, out) == (0, "2026-01-01T12:00:02.000+00:00 INFO chargepoint.test: "
                              "[CONNECTOR=1] line two\n")


async def test_rfid_read_through_the_daemon(sock: str, target: FakeTarget) -> None:
    code, out, _ = await cli("--socket", sock, "rfid", "read", "--timeout", "2", "--json")
    assert code == 0 and json.loads(out) == {"uid": "04A1B2C3", "type": "ISO14443A"}
    assert target.calls[-1] == ("rfid_read", (2.0,))
    target.card = None
    code, out, err = await cli("--socket", sock, "rfid", "read", "--timeout", "2",
                               "--device", "usb")  # the running daemon holds the reader
    assert (code, out, err) == (1, "", "chargepoint: no card within 2 s\n")
    assert target.calls[-1] == ("rfid_read", (2.0,))


async def test_rfid_read_without_daemon_or_device(short_dir: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHARGEPOINT_CONFIG", raising=False)
    code, _, err = await cli("--socket", str(short_dir / "none"), "--config",
                             str(short_dir / "none.toml"), "rfid", "read")
    assert code == 2 and "cannot read" in err  # an explicit config must exist
    cfg = short_dir / "c.toml"
    cfg.write_text(MINIMAL)
    code, _, err = await cli("--socket", str(short_dir / "none"), "--config", str(cfg),
                             "rfid", "read")
    assert code == 1 and "give --device" in err


async def test_config_check(tmp_path: Path) -> None:
    good = str(REPO / "deploy" / "chargepoint.toml.example")
    code, out, _ = await cli("config", "check", good)
    assert code == 0 and out.startswith(f"OK: {good}")
    bad = tmp_path / "bad.toml"
    bad.write_text('[station]\nid = "CP-1"\nconnectors = -1\n[ocpp]\nurl = "ftp://x"\n')
    code, out, err = await cli("config", "check", str(bad))
    assert code == 2 and out == ""
    assert err.splitlines() == [
        f"{bad}:3: station.connectors: must be in 1..16, not -1",
        f"{bad}:5: ocpp.url: must be a ws:// or wss:// URL with a host, not 'ftp://x'"]
    code, out, _ = await cli("--config", str(bad), "config", "check", "--json")
    doc = json.loads(out)
    assert code == 2 and doc["ok"] is False
    assert doc["errors"][0] == {"key": "station.connectors", "line": 3,
                                "message": "must be in 1..16, not -1"}


async def test_meter_models() -> None:
    code, out, _ = await cli("meter", "models", "--json")
    assert code == 0
    assert {"sdm630", "sdm72", "sdm230", "abb_b23", "em340", "orno_we516",
            "pac2200"} <= set(json.loads(out))


async def test_meter_probe_reads_a_real_modbus_meter_over_a_pty() -> None:
    from hardware.sim.virtual_meter import VirtualMeter

    async with VirtualMeter({3: "sdm630"}) as vm:
        vm.set_energy_wh(3, 12345.0)
        code, out, err = await cli("meter", "probe", "--port", vm.client_path, "--model",
                                   "sdm630", "--unit", "3", "--json")
        assert (code, err) == (0, "")
        doc: dict[str, Any] = json.loads(out)
        assert doc["energy_wh"] == pytest.approx(12345.0, rel=1e-6)
        assert {"energy_wh", "power_w", "voltage_v", "current_a", "power_w_phases",
                "frequency_hz"} <= set(doc)
        assert len(doc["voltage_v"]) == 3
        code, out, err = await cli("meter", "probe", "--port", vm.client_path, "--model",
                                   "sdm630", "--unit", "4", "--timeout", "0.2")
        assert code == 1 and out == "" and "unit 4" in err
        code, _, err = await cli("meter", "probe", "--port", vm.client_path, "--model", "nope")
        assert code == 2 and "unknown meter model" in err


async def test_meter_probe_scan_finds_a_meter_at_an_unknown_unit_and_baud_rate() -> None:
    """On the pty the virtual meter hears only a client at its own 19200 Bd (the sdm630's
    default is 9600); a pty refuses parity E, which the scan takes as silence and goes on."""
    from hardware.sim.virtual_meter import VirtualMeter

    async with VirtualMeter({5: "sdm630"}, baudrate=19200, check_wire=True) as vm:
        vm.set_energy_wh(5, 4200.0)
        port = vm.client_path
        code, _, err = await cli("meter", "probe", "--port", port, "--model", "sdm630",
                                 "--unit", "5", "--timeout", "0.1")
        assert code == 1  # the model's own 9600 Bd: silence
        code, out, err = await cli("meter", "probe", "--port", port, "--model", "sdm630",
                                   "--scan", "--units", "1-6", "--baudrates", "9600,19200",
                                   "--parities", "N,E", "--timeout", "0.3", "--json")
        assert code == 0, err
        [found] = json.loads(out)["found"]
        assert (found["unit"], found["baudrate"], found["parity"]) == (5, 19200, "N")
        assert found["reading"]["energy_wh"] == pytest.approx(4200.0, rel=1e-6)
        # progress: one line per baud rate and parity tried (not a terminal)
        assert err.splitlines() == [
            f"scanning {port}: 9600 Bd N, unit 1 (1/24)",
            f"scanning {port}: 9600 Bd E, unit 1 (7/24)",
            f"scanning {port}: 19200 Bd N, unit 1 (13/24)"]
        code, out, err = await cli("meter", "probe", "--port", port, "--model", "sdm630",
                                   "--scan", "--units", "1-3", "--baudrates", "19200",
                                   "--parities", "N,E", "--timeout", "0.05")
        assert (code, out) == (1, "") and "no sdm630 meter answered" in err
        code, _, err = await cli("meter", "probe", "--port", port, "--model", "sdm630",
                                 "--scan", "--units", "0-3")
        assert code == 2 and "unit ids are 1..247" in err
        code, _, err = await cli("meter", "probe", "--port", port + "-gone", "--model",
                                 "sdm630", "--scan")
        assert code == 1 and "cannot open" in err


def test_bash_completion_script_completes_from_the_argparse_tree() -> None:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash not installed")
    out = io.StringIO()
    assert main(["completion", "bash"], stdout=out) == 0
    script = out.getvalue() + """
t() {
    COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); _chargepoint; echo "${COMPREPLY[*]}"
}
t chargepoint me
t chargepoint meter p
t chargepoint --config /x relay 1 c
t chargepoint sim fault 1 w
"""
    result = subprocess.run([bash, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.splitlines() == ["meter", "probe", "contactor", "welded"]


def test_python_dash_m_and_exit_status() -> None:
    result = subprocess.run([sys.executable, "-m", "chargepoint", "config", "check",
                             "/nonexistent.toml"], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 2 and "cannot read" in result.stderr


def fake_journalctl(directory: Path, script: str) -> None:
    tool = directory / "journalctl"
    tool.write_text("#!/bin/sh\n" + script)
    tool.chmod(0o755)


JOURNAL_ENTRY = json.dumps({"__REALTIME_TIMESTAMP": "1767268800000000", "PRIORITY": "4",
                            "LOGGER": "chargepoint.runtime", "CONNECTOR": "1",
                            "MESSAGE": "connector 1: fault rcd"})


async def test_logs_from_journald_when_the_daemon_logs_there(
        sock: str, target: FakeTarget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_journalctl(tmp_path, f'echo "$*" > {tmp_path}/argv\necho \'{JOURNAL_ENTRY}\'\n')
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    monkeypatch.setattr(logs_cli, "journald_available", lambda: True)
    target.journald = True
    code, out, _ = await cli("--socket", sock, "logs", "--since", "today", "--connector", "1",
                             "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["source"] == "journald"
    assert doc["lines"] == ["2026-01-01T12:00:00.000+00:00 WARNING chargepoint.runtime: "
                            "[CONNECTOR=1] connector 1: fault rcd"]
    midnight = datetime.now().astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
    assert (tmp_path / "argv").read_text().split() == [
        "-u", "chargepoint", "--no-pager", "-o", "json", "-n", "200", "--since",
        f"@{midnight.timestamp():.0f}", "CONNECTOR=1"]


async def test_a_daemon_not_under_systemd_is_asked_even_where_journald_runs(
        sock: str, target: FakeTarget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reported bug: `chargepoint demo --keep` on a systemd machine logged nothing to the
    journal, and `logs` showed the (empty) journal."""
    fake_journalctl(tmp_path, "echo should not be asked >&2\nexit 3\n")
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    monkeypatch.setattr(logs_cli, "journald_available", lambda: True)
    target.journald = False
    code, out, err = await cli("--socket", sock, "logs", "--json")
    assert (code, json.loads(out)["source"], err) == (0, "daemon", "")


async def test_logs_fall_back_to_the_daemon_without_journal_access(
        sock: str, target: FakeTarget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_journalctl(tmp_path, 'echo "No journal files were opened due to insufficient '
                              'permissions." >&2\nexit 1\n')
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    monkeypatch.setattr(logs_cli, "journald_available", lambda: True)
    target.journald = True
    code, out, err = await cli("--socket", sock, "logs", "--json")
    assert code == 0 and json.loads(out)["source"] == "daemon"
    assert "journal not readable" in err
    code, _, err = await cli("--socket", str(tmp_path / "none"), "logs")
    assert code == 1 and "insufficient permissions" in err and "not running" in err


@pytest.mark.parametrize("when", ["1 hour ago", "10 min ago", "today", "yesterday",
                                  "2026-01-01 12:00", "2026-01-01T12:00:00Z", "-2h", "now"])
async def test_logs_since_takes_what_journalctl_takes(sock: str, target: FakeTarget,
                                                       when: str) -> None:
    code, _, err = await cli("--socket", sock, "logs", f"--since={when}")
    assert (code, err) == (0, "")
    assert datetime.fromisoformat(target.calls[-1][1][0]).tzinfo is not None


@pytest.mark.parametrize("when", ["soon", "1 parsec ago", "2026-13-01", "25:00"])
async def test_logs_since_it_cannot_read_is_a_usage_error(sock: str, target: FakeTarget,
                                                          when: str) -> None:
    code, out, err = await cli("--socket", sock, "logs", "--since", when)
    assert (code, out) == (2, "")
    assert err.startswith("chargepoint: --since: cannot read") and "1 hour ago" in err
    assert target.calls == []  # nothing was asked


async def test_logs_from_the_log_file_without_daemon_and_journal(
        short_dir: Path, tmp_path: Path) -> None:
    log = tmp_path / "chargepoint.log"
    log.write_text("2026-01-01 12:00:00,000 INFO    chargepoint.app station up\n"
                   "2026-01-01 12:00:01,000 WARNING chargepoint.runtime [CONNECTOR=2] "
                   "connector 2: fault rcd\n"
                   "Traceback (most recent call last):\n")
    config = tmp_path / "c.toml"
    config.write_text(MINIMAL + f'[logging]\nfile = "{log}"\n')
    code, out, _ = await cli("--config", str(config), "--socket", str(short_dir / "none"),
                             "logs", "--connector", "2", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["source"] == "file"
    assert [r["connector"] for r in doc["records"]] == [2]
    assert doc["records"][0]["message"].endswith("fault rcd\nTraceback (most recent call last):")
    code, _, err = await cli("--socket", str(short_dir / "none"), "logs")
    assert code == 1 and "not running" in err and "no [logging] file" in err


def test_rfid_read_straight_from_a_missing_reader_fails_in_one_line() -> None:
    result = subprocess.run([sys.executable, "-m", "chargepoint", "--socket", "/nonexistent.sock",
                             "rfid", "read", "--device", "tty:NOSUCH9:pn532", "--timeout", "1"],
                            capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "tty:NOSUCH9:pn532" in result.stderr


async def test_logs_follow_the_journal_until_journalctl_ends(
        sock: str, target: FakeTarget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_journalctl(tmp_path, f'echo "$*" >> {tmp_path}/argv\necho \'{JOURNAL_ENTRY}\'\n')
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    monkeypatch.setattr(logs_cli, "journald_available", lambda: True)
    target.journald = True
    code, out, _ = await cli("--socket", sock, "logs", "--follow", "--json")
    assert code == 0
    assert [json.loads(line)["message"] for line in out.splitlines()] == [
        "connector 1: fault rcd", "connector 1: fault rcd"]  # what was, then what came
    first, follow = (tmp_path / "argv").read_text().splitlines()
    assert "--follow" not in first.split()
    assert follow.split()[-3:] == ["-n", "0", "--follow"]


async def test_commission_needs_a_running_controller_and_a_readable_answers_file(
        short_dir: Path, sock: str) -> None:
    code, out, err = await cli("--socket", str(short_dir / "none"), "commission")
    assert (code, out) == (1, "")
    assert err.startswith("chargepoint: commissioning needs the running controller: the "
                          "controller is not running")
    code, _, err = await cli("--socket", sock, "commission", "--answers", "/nonexistent/a")
    assert code == 2 and "--answers /nonexistent/a" in err
