"""Security events (whitepaper section 8; A04 Security Event Notification).

``EVENTS`` is the table of section 8: name -> critical. The names are spelled as the 1.6
whitepaper spells them (``FailedToAuthenticationAtCentralSystem``,
``CentralSystemFailedToAuthentication``); an adapter for another version renames on the wire.

``SecurityEvents(log, sink, writer=..., wall=...)`` is the one place an event is raised:
``raise_event(kind, tech_info)`` returns at once (safe on the event loop and in sync code). It
writes the event to the security log (A04.FR.04, every event) and hands it to ``sink`` - the
adapter's durable queue, which sends it once registered and keeps it across restarts
(A04.FR.01/02). Every event is sent, not only the critical ones: a CSMS (and OCTT 077/078)
expects e.g. InvalidChargePointCertificate.

Flood control: a peer can cause some events at will, without any command of the CSMS (junk
frames, replays, a bad server certificate or TLS setup on every reconnect: ``NOISY``). Each
of those types is recorded at most once per ``quiet_s`` (default 300 s); the events left out
meanwhile are counted into the next one's techInfo ("+N similar"). Other events are never
left out.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from chargepoint.security.seclog import SecurityLogFile
from chargepoint.store.writebehind import WriteBehind

LOG = logging.getLogger("chargepoint.security")

FIRMWARE_UPDATED = "FirmwareUpdated"
FAILED_TO_AUTHENTICATE_AT_CSMS = "FailedToAuthenticationAtCentralSystem"
CSMS_FAILED_TO_AUTHENTICATE = "CentralSystemFailedToAuthentication"
SETTING_SYSTEM_TIME = "SettingSystemTime"
STARTUP_OF_THE_DEVICE = "StartupOfTheDevice"
RESET_OR_REBOOT = "ResetOrReboot"
SECURITY_LOG_WAS_CLEARED = "SecurityLogWasCleared"
RECONFIGURATION_OF_SECURITY_PARAMETERS = "ReconfigurationOfSecurityParameters"
MEMORY_EXHAUSTION = "MemoryExhaustion"
INVALID_MESSAGES = "InvalidMessages"
ATTEMPTED_REPLAY_ATTACKS = "AttemptedReplayAttacks"
TAMPER_DETECTION_ACTIVATED = "TamperDetectionActivated"
INVALID_FIRMWARE_SIGNATURE = "InvalidFirmwareSignature"
INVALID_FIRMWARE_SIGNING_CERTIFICATE = "InvalidFirmwareSigningCertificate"
INVALID_CSMS_CERTIFICATE = "InvalidCentralSystemCertificate"
INVALID_CHARGE_POINT_CERTIFICATE = "InvalidChargePointCertificate"
INVALID_TLS_VERSION = "InvalidTLSVersion"
INVALID_TLS_CIPHER_SUITE = "InvalidTLSCipherSuite"

# Section 8: event -> critical ("should be pushed to the Central System").
EVENTS: dict[str, bool] = {
    FIRMWARE_UPDATED: True,
    FAILED_TO_AUTHENTICATE_AT_CSMS: False,
    CSMS_FAILED_TO_AUTHENTICATE: False,
    SETTING_SYSTEM_TIME: True,
    STARTUP_OF_THE_DEVICE: True,
    RESET_OR_REBOOT: True,
    SECURITY_LOG_WAS_CLEARED: True,
    RECONFIGURATION_OF_SECURITY_PARAMETERS: False,
    MEMORY_EXHAUSTION: True,
    INVALID_MESSAGES: False,
    ATTEMPTED_REPLAY_ATTACKS: False,
    TAMPER_DETECTION_ACTIVATED: True,
    INVALID_FIRMWARE_SIGNATURE: False,
    INVALID_FIRMWARE_SIGNING_CERTIFICATE: False,
    INVALID_CSMS_CERTIFICATE: False,
    INVALID_CHARGE_POINT_CERTIFICATE: False,
    INVALID_TLS_VERSION: False,
    INVALID_TLS_CIPHER_SUITE: False,
}
NOISY = frozenset({INVALID_MESSAGES, ATTEMPTED_REPLAY_ATTACKS, INVALID_CSMS_CERTIFICATE,
                   CSMS_FAILED_TO_AUTHENTICATE, FAILED_TO_AUTHENTICATE_AT_CSMS,
                   INVALID_TLS_VERSION, INVALID_TLS_CIPHER_SUITE})
TECH_INFO_MAX = 255  # SecurityEventNotification techInfo is string[0..255]


@dataclass(frozen=True, slots=True)
class SecurityEvent:
    kind: str
    tech_info: str
    at_iso: str  # wall time of the station when raised (for the log)
    at_mono: float  # monotonic time when raised (the adapter's clock stamps the message)


class EventSink(Protocol):
    """The adapter's side: queue the notification durably (blocking: a worker thread)."""

    def queue(self, event: SecurityEvent) -> None: ...


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class SecurityEvents:
    def __init__(self, log: SecurityLogFile, sink: EventSink | None = None, *,
                 writer: WriteBehind | None = None, quiet_s: float = 300.0,
                 wall: Callable[[], str] = now_iso,
                 mono: Callable[[], float] = time.monotonic) -> None:
        self.log = log
        self.sink = sink
        self._writer = writer or WriteBehind("security-events")
        self._quiet_s = quiet_s
        self._wall = wall
        self._mono = mono
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}
        self.raised: list[SecurityEvent] = []  # this run's events, in order (status, tests)
        self.listeners: list[Callable[[SecurityEvent], None]] = []  # called on each raise
        log.on_cleared = self._log_cleared

    def raise_event(self, kind: str, tech_info: str = "") -> None:
        """Record ``kind`` (a name of ``EVENTS``; see ``raised`` for what was recorded).
        Unknown names are our bug: ``ValueError``."""
        if kind not in EVENTS:
            raise ValueError(f"unknown security event {kind!r}")
        now = self._mono()
        if kind in NOISY:
            last = self._last.get(kind)
            if last is not None and now - last < self._quiet_s:
                self._suppressed[kind] = self._suppressed.get(kind, 0) + 1
                return
            self._last[kind] = now
            extra = self._suppressed.pop(kind, 0)
            if extra:
                tech_info = f"{tech_info} (+{extra} similar)"
        event = SecurityEvent(kind, tech_info[:TECH_INFO_MAX], self._wall(), now)
        self.raised.append(event)
        LOG.warning("security event %s: %s", kind, event.tech_info)
        for listener in list(self.listeners):
            listener(event)
        self._writer.submit(lambda: self._record(event))

    def _record(self, event: SecurityEvent) -> None:
        self.log.append(event.kind, event.tech_info, event.at_iso)
        if self.sink is not None:
            self.sink.queue(event)

    def _log_cleared(self, dropped: int) -> None:
        # Called on the writer thread while recording: record directly (no re-queueing).
        event = SecurityEvent(SECURITY_LOG_WAS_CLEARED,
                              f"log rotated: {dropped} oldest events dropped",
                              self._wall(), self._mono())
        self.raised.append(event)
        self.log.append(event.kind, event.tech_info, event.at_iso)
        if self.sink is not None:
            self.sink.queue(event)

    def flush(self, timeout: float | None = None) -> None:
        """Blocking: every event raised so far is in the log and handed to the sink."""
        self._writer.flush(timeout)

    def events(self) -> list[dict[str, str]]:
        """Blocking: the security log (the ``security_log`` source of GetLog SecurityLog)."""
        self.flush()
        return self.log.events()

    def close(self) -> None:
        self._writer.close()
