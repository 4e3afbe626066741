"""Where diagnostics come from: log providers and a security log.

``LogProvider``: ``lines(since, until) -> list[LogLine]`` (epoch seconds, None = open end),
blocking (callers use ``asyncio.to_thread``). Implementations: ``FileLog`` (the
``[logging] file``, format of ``chargepoint.logs.ContextFormatter``) and ``JournalLog``
(``journalctl --since/--until -o json``). ``default_log_provider(file)`` picks journald when
``journalctl`` exists and no file is configured. OCPP frames are the records of the
``chargepoint.frames`` logger in the same stream; ``LogLine.logger`` tells them apart.

``SecurityLog(store, writer=None)`` keeps the last ``limit`` security events in store kv (GetLog
SecurityLog). With a ``WriteBehind`` writer, ``append`` returns at once (for code on the event
loop) and ``events`` first waits for the appends handed over; without one both are blocking.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from chargepoint.logs import FRAME_LOGGER
from chargepoint.store.api import StoreAPI
from chargepoint.store.writebehind import WriteBehind

KV_SECURITY_LOG = "security.log"


@dataclass(frozen=True, slots=True)
class LogLine:
    at: float | None  # epoch seconds (None: unknown, e.g. a traceback line)
    logger: str
    text: str

    @property
    def is_frame(self) -> bool:
        return self.logger == FRAME_LOGGER


class LogProvider(Protocol):
    def lines(self, since: float | None, until: float | None) -> list[LogLine]: ...


def _inside(at: float | None, since: float | None, until: float | None) -> bool:
    return at is not None and (since is None or at >= since) and (until is None or at <= until)


class FileLog:
    """Lines ``2026-01-01 12:00:00,123 INFO    logger [ctx] message`` (local time); lines
    without a timestamp belong to the record above them. Reads ``path.1`` first if present."""

    def __init__(self, path: Path, max_lines: int = 200_000) -> None:
        self.path = path
        self.max_lines = max_lines

    def lines(self, since: float | None, until: float | None) -> list[LogLine]:
        out: list[LogLine] = []
        keep = False
        logger = ""
        for path in (self.path.with_name(self.path.name + ".1"), self.path):
            if not path.is_file():
                continue
            with path.open(encoding="utf-8", errors="replace") as f:
                for raw in f:
                    line = raw.rstrip("\n")
                    at = self._time(line)
                    if at is not None:
                        keep = _inside(at, since, until)
                        parts = line.split(None, 4)
                        logger = parts[3] if len(parts) > 3 else ""
                    if keep:
                        out.append(LogLine(at, logger, line))
        return out[-self.max_lines:]

    @staticmethod
    def _time(line: str) -> float | None:
        try:
            return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
        except ValueError:
            return None


class JournalLog:
    def __init__(self, identifier: str = "chargepoint", timeout_s: float = 60.0,
                 max_lines: int = 200_000) -> None:
        self.identifier = identifier
        self.timeout_s = timeout_s
        self.max_lines = max_lines

    def lines(self, since: float | None, until: float | None) -> list[LogLine]:
        argv = ["journalctl", "--no-pager", "-o", "json", f"SYSLOG_IDENTIFIER={self.identifier}",
                "-n", str(self.max_lines)]
        if since is not None:
            argv += ["--since", f"@{int(since)}"]
        if until is not None:
            argv += ["--until", f"@{int(until) + 1}"]
        done = subprocess.run(argv, capture_output=True, timeout=self.timeout_s, check=False)
        out: list[LogLine] = []
        for raw in done.stdout.decode(errors="replace").splitlines():
            try:
                entry = json.loads(raw)
                at = int(entry.get("__REALTIME_TIMESTAMP", "0")) / 1e6
                message = entry.get("MESSAGE", "")
                if isinstance(message, list):  # journald gives bytes as a list of ints
                    message = bytes(message).decode(errors="replace")
            except (ValueError, TypeError):
                continue
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at))
            logger = str(entry.get("LOGGER", ""))
            out.append(LogLine(at, logger, f"{stamp} {entry.get('PRIORITY', '')} {logger} "
                                            f"{message}"))
        return out


def default_log_provider(file: str | None) -> LogProvider | None:
    if file:
        return FileLog(Path(file))
    if shutil.which("journalctl"):
        return JournalLog()
    return None


class SecurityLog:
    """Bounded list of security events persisted in store kv (newest last)."""

    def __init__(self, store: StoreAPI, limit: int = 500, *,
                 writer: WriteBehind | None = None) -> None:
        self._store = store
        self._limit = limit
        self._writer = writer

    def append(self, kind: str, tech_info: str, at_iso: str) -> None:
        def write() -> None:
            events = self._read()
            events.append({"type": kind, "timestamp": at_iso, "techInfo": tech_info})
            self._store.kv_set(KV_SECURITY_LOG, json.dumps(events[-self._limit:]))

        if self._writer is None:
            write()
        else:
            self._writer.submit(write)

    def events(self) -> list[dict[str, str]]:
        """Blocking (a worker thread): every event appended so far, oldest first."""
        if self._writer is not None:
            self._writer.flush()
        return self._read()

    def _read(self) -> list[dict[str, str]]:
        raw = self._store.kv_get(KV_SECURITY_LOG)
        try:
            data = json.loads(raw) if raw else []
        except ValueError:
            data = []
        return data if isinstance(data, list) else []
