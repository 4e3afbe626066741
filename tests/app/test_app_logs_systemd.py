"""Logging set-up, frame redaction and sd_notify over a real datagram socket."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from chargepoint import app, systemd
from chargepoint.config import LoggingConfig
from chargepoint.logs import context, log_frame, redact_frame, setup_logging


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    frames = logging.getLogger("chargepoint.frames")
    frames_level = frames.level
    yield
    for h in list(root.handlers):
        root.removeHandler(h)
    for h in handlers:
        root.addHandler(h)
    root.setLevel(level)
    frames.setLevel(frames_level)


# --- redaction -------------------------------------------------------------------------------

def test_change_configuration_authorization_key_is_redacted() -> None:
    frame = json.dumps([2, "42", "ChangeConfiguration",
                        {"key": "AuthorizationKey", "value": "0123456789abcdef0123"}])
    out = redact_frame(frame)
    assert "0123456789abcdef0123" not in out
    assert json.loads(out) == [2, "42", "ChangeConfiguration",
                               {"key": "AuthorizationKey", "value": "***"}]


def test_get_configuration_reply_and_password_fields_are_redacted() -> None:
    frame = json.dumps([3, "7", {"configurationKey": [
        {"key": "HeartbeatInterval", "readonly": False, "value": "300"},
        {"key": "authorizationkey", "readonly": False, "value": "secret-secret-secret"}],
        "password": "hunter2hunter2hunter2"}])
    out = json.loads(redact_frame(frame))
    assert out[2]["configurationKey"][0]["value"] == "300"
    assert out[2]["configurationKey"][1]["value"] == "***"
    assert out[2]["password"] == "***"


def test_2_0_1_basic_auth_password_variable_is_redacted() -> None:
    frame = json.dumps([2, "1", "SetVariables", {"setVariableData": [
        {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "BasicAuthPassword"},
         "attributeValue": "topsecretpassword1"}]}])
    assert "topsecretpassword1" not in redact_frame(frame)


def test_text_patterns_basic_auth_urls_private_keys() -> None:
    assert redact_frame("Authorization: Basic Q1AtMTpzZWNyZXQ=") == "Authorization: Basic ***"
    assert redact_frame("connect wss://CP-1:pass@csms/ocpp") == "connect wss://CP-1:***@csms/ocpp"
    pem = "x -----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY----- y"
    assert redact_frame(pem) == "x -----*** PRIVATE KEY----- y"
    broken = '[2,"1","ChangeConfiguration",{"key":"AuthorizationKey","value":"abcdefgh'
    assert "abcdefgh" not in redact_frame(broken + '"} trailing')


def test_frames_without_secrets_are_unchanged_in_content() -> None:
    frame = [2, "9", "MeterValues", {"connectorId": 1, "meterValue": []}]
    assert json.loads(redact_frame(json.dumps(frame))) == frame


# --- logging set-up --------------------------------------------------------------------------

def test_stderr_shows_context_fields(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(LoggingConfig(level="info"), under_systemd=False)
    logging.getLogger("chargepoint.test").info("started", extra=context(connector=1,
                                                                       transaction_id=17))
    logging.getLogger("chargepoint.test").debug("hidden")
    err = capsys.readouterr().err
    assert "INFO    chargepoint.test [CONNECTOR=1 TRANSACTION_ID=17] started" in err
    assert "hidden" not in err


def test_frame_log_is_off_unless_enabled_and_always_redacted(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    frame = '[2,"1","ChangeConfiguration",{"key":"AuthorizationKey","value":"s3cr3t-s3cr3t-s3"}]'
    setup_logging(LoggingConfig(level="debug", frames=False), under_systemd=False)
    log_frame("->", frame, action="ChangeConfiguration", unique_id="1")
    assert "ChangeConfiguration" not in capsys.readouterr().err
    log_file = tmp_path / "cp.log"
    setup_logging(LoggingConfig(level="warning", frames=True, file=str(log_file)),
                  under_systemd=False)
    log_frame("<-", frame, action="ChangeConfiguration", unique_id="1")
    err = capsys.readouterr().err
    assert "[OCPP_ACTION=ChangeConfiguration OCPP_UNIQUE_ID=1] <- " in err
    assert "s3cr3t" not in err and '"value":"***"' in err
    assert "s3cr3t" not in log_file.read_text() and "***" in log_file.read_text()


def test_under_systemd_logs_to_the_journal() -> None:
    journal = pytest.importorskip("systemd.journal")
    setup_logging(LoggingConfig(), under_systemd=True)
    assert any(isinstance(h, journal.JournalHandler) for h in logging.getLogger().handlers)


# --- sd_notify -------------------------------------------------------------------------------

@pytest.fixture
def notify_socket(short_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(short_dir / "notify"))
    sock.settimeout(10)
    monkeypatch.setenv("NOTIFY_SOCKET", str(short_dir / "notify"))
    yield sock
    sock.close()


def test_notify_messages(notify_socket: socket.socket) -> None:
    assert systemd.ready("connected")
    assert notify_socket.recv(1024) == b"READY=1\nSTATUS=connected"
    assert systemd.status("charging on 1")
    assert notify_socket.recv(1024) == b"STATUS=charging on 1"
    assert systemd.watchdog()
    assert notify_socket.recv(1024) == b"WATCHDOG=1"
    assert systemd.stopping()
    assert notify_socket.recv(1024) == b"STOPPING=1"


class StatusSource:
    """What ``_status_loop`` reads of a running station: its summary and the core's events."""

    def __init__(self) -> None:
        self.text = "CSMS offline · 1 Available"
        self.observers: list[Callable[[object], None]] = []
        self.controller = self

    def summary_line(self) -> str:
        return self.text

    def observe(self, callback: Callable[[object], None]) -> Callable[[], None]:
        self.observers.append(callback)
        return lambda: self.observers.remove(callback)


async def test_the_status_line_follows_core_events_not_a_clock(
        notify_socket: socket.socket, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app, "STATUS_REFRESH_S", 3600.0)  # only an event can refresh it
    source = StatusSource()
    loop = asyncio.get_running_loop()
    notify_socket.setblocking(False)
    task = asyncio.create_task(app._status_loop(source))  # type: ignore[arg-type]
    try:
        first = await asyncio.wait_for(loop.sock_recv(notify_socket, 1024), 10)
        assert first == b"STATUS=CSMS offline \xc2\xb7 1 Available"
        source.text = "CSMS connected · 1 Preparing"
        for observer in source.observers:
            observer(object())  # the core handled an event
        changed = await asyncio.wait_for(loop.sock_recv(notify_socket, 1024), 10)
        assert changed.decode() == "STATUS=CSMS connected · 1 Preparing"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert source.observers == []


async def test_without_a_service_manager_no_status_loop_runs(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    source = StatusSource()
    await asyncio.wait_for(app._status_loop(source), 1)  # type: ignore[arg-type]
    assert source.observers == []


def test_notify_without_systemd_is_a_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert systemd.ready() is False
    assert systemd.watchdog() is False


def test_watchdog_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    assert systemd.watchdog_interval() is None
    monkeypatch.setenv("WATCHDOG_USEC", "10000000")
    assert systemd.watchdog_interval() == 10.0
    monkeypatch.setenv("WATCHDOG_PID", "1")  # meant for another process
    assert systemd.watchdog_interval() is None


def test_under_systemd_detection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INVOCATION_ID", raising=False)
    monkeypatch.delenv("JOURNAL_STREAM", raising=False)
    assert not systemd.under_systemd()
    monkeypatch.setenv("JOURNAL_STREAM", "1:2")  # not our stderr
    assert not systemd.under_systemd()
    monkeypatch.setenv("INVOCATION_ID", "abc")
    assert systemd.under_systemd()


async def test_run_watchdog_pings_only_while_healthy(
        notify_socket: socket.socket, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    monkeypatch.setenv("WATCHDOG_USEC", "20000")
    answers = iter([False, False])
    checks = 0

    def healthy() -> bool:
        nonlocal checks
        checks += 1
        return next(answers, True)

    task = asyncio.create_task(systemd.run_watchdog(healthy))
    try:
        assert await asyncio.to_thread(notify_socket.recv, 1024) == b"WATCHDOG=1"
        assert checks >= 3  # the two unhealthy checks sent nothing
    finally:
        task.cancel()


async def test_run_watchdog_returns_without_watchdog(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    await asyncio.wait_for(systemd.run_watchdog(), 5)


def test_credentials_in_any_url_scheme_are_redacted() -> None:
    frame = ('[2,"9","GetDiagnostics",{"location":"ftp://diag:s3cretPw@127.0.0.1/up"}]')
    out = redact_frame(frame)
    assert "s3cretPw" not in out
    assert "ftp://diag:" in out
    update = '[2,"10","UpdateFirmware",{"location":"https://u:pw9876@127.0.0.1/fw.tgz"}]'
    assert "pw9876" not in redact_frame(update)


def test_the_controllers_buffer_keeps_info_while_the_output_shows_warnings(
        capsys: pytest.CaptureFixture[str]) -> None:
    """`chargepoint demo --keep` logs at warning: `chargepoint logs` still tells the session."""
    from chargepoint.logbuffer import LogBuffer

    setup_logging(LoggingConfig(level="warning"), under_systemd=False)
    buffer = LogBuffer.attach("chargepoint.test.quiet")
    try:
        logging.getLogger("chargepoint.test.quiet").info("connector 1: Charging")
        assert [r.message for r in buffer.query()] == ["connector 1: Charging"]
        assert "Charging" not in capsys.readouterr().err
    finally:
        buffer.detach()
