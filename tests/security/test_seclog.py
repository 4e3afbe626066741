"""The persistent, rotated security log and the events service (A04.FR.04, N01.FR.05)."""

from __future__ import annotations

import json
import stat
import tarfile
from pathlib import Path

import pytest

from chargepoint.diagnostics.bundle import BundleSources, build_security_log
from chargepoint.security.events import SecurityEvent, SecurityEvents
from chargepoint.security.seclog import SecurityLogFile
from chargepoint.store.db import Store


class Sink:
    def __init__(self) -> None:
        self.queued: list[SecurityEvent] = []

    def queue(self, event: SecurityEvent) -> None:
        self.queued.append(event)


def test_a04_fr04_every_event_logged_and_kept_across_a_restart(tmp_path: Path) -> None:
    events = SecurityEvents(SecurityLogFile(tmp_path), Sink())
    events.raise_event("StartupOfTheDevice", "boot")
    events.raise_event("InvalidMessages", "junk")
    events.close()
    again = SecurityLogFile(tmp_path)  # a new process reads the same file
    assert [e["type"] for e in again.events()] == ["StartupOfTheDevice", "InvalidMessages"]
    assert stat.S_IMODE(again.path.stat().st_mode) == 0o600


def test_security_log_was_cleared_when_rotation_drops_events(tmp_path: Path) -> None:
    """SecurityLogWasCleared (critical): the rolling log (A04.FR.04 note) dropped its oldest
    generation; the event itself is logged and queued for the CSMS."""
    sink = Sink()
    events = SecurityEvents(SecurityLogFile(tmp_path, max_bytes=1024), sink)
    for i in range(40):
        events.raise_event("ResetOrReboot", f"reset number {i:03d}")
    events.flush()
    cleared = [e for e in sink.queued if e.kind == "SecurityLogWasCleared"]
    assert cleared and "oldest events dropped" in cleared[0].tech_info
    kept = events.log.events()
    assert kept[-1]["techInfo"].startswith(("reset number 039", "log rotated"))
    assert "reset number 000" not in {e["techInfo"] for e in kept}
    assert any(e["type"] == "SecurityLogWasCleared" for e in kept)
    events.close()


def test_flood_control_for_events_a_peer_can_cause_at_will(tmp_path: Path) -> None:
    now = [0.0]
    sink = Sink()
    events = SecurityEvents(SecurityLogFile(tmp_path), sink, quiet_s=300,
                            mono=lambda: now[0])
    for _ in range(50):
        events.raise_event("InvalidMessages", "junk")
    events.raise_event("ReconfigurationOfSecurityParameters", "a")
    events.raise_event("ReconfigurationOfSecurityParameters", "b")  # commands: all kept
    now[0] = 301.0
    events.raise_event("InvalidMessages", "junk")
    events.flush()
    assert [(e.kind, e.tech_info) for e in sink.queued] == [
        ("InvalidMessages", "junk"), ("ReconfigurationOfSecurityParameters", "a"),
        ("ReconfigurationOfSecurityParameters", "b"), ("InvalidMessages", "junk (+49 similar)")]
    with pytest.raises(ValueError, match="unknown security event"):
        events.raise_event("SomethingElse")
    events.close()


async def test_n01_fr03_get_log_security_log_uploads_this_log(tmp_path: Path) -> None:
    """N01.FR.03: the GetLog SecurityLog file is built from the persistent log."""
    events = SecurityEvents(SecurityLogFile(tmp_path / "security"))
    events.raise_event("StartupOfTheDevice", "boot")
    store = Store.open(tmp_path / "state.db")
    try:
        path = await build_security_log(BundleSources(store, "CP-1", security_log=events),
                                        tmp_path / "out.tar.gz", None, None)
    finally:
        store.close()
        events.close()
    with tarfile.open(path) as tar:
        member = tar.extractfile("security.log")
        assert member is not None
        lines = [json.loads(line) for line in member.read().decode().splitlines()]
    assert [line["type"] for line in lines] == ["StartupOfTheDevice"]
