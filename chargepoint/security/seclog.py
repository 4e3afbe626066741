"""The persistent, rotated security log (whitepaper A04.FR.04, N01.FR.05; GetLog SecurityLog).

``SecurityLogFile(directory, max_bytes=256 KiB)``: one JSON object per line in
``security.log``; when a write would make it larger than ``max_bytes`` it is renamed to
``security.log.1`` (the previous ``.1`` is deleted: those events are gone, and ``on_cleared``
is called so the loss itself becomes a SecurityLogWasCleared event). ``append`` and ``events``
are blocking file I/O: call them from a worker thread (``SecurityEvents`` does).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

LOG = logging.getLogger("chargepoint.security")
LOG_NAME = "security.log"
DEFAULT_MAX_BYTES = 256 * 1024


class SecurityLogFile:
    def __init__(self, directory: Path, max_bytes: int = DEFAULT_MAX_BYTES,
                 on_cleared: Callable[[int], None] | None = None) -> None:
        if max_bytes < 1024:
            raise ValueError("max_bytes: at least 1024")
        self.directory = directory
        self.max_bytes = max_bytes
        self.on_cleared = on_cleared  # called with the number of events dropped
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        return self.directory / LOG_NAME

    @property
    def rotated(self) -> Path:
        return self.directory / (LOG_NAME + ".1")

    def append(self, kind: str, tech_info: str, at_iso: str) -> None:
        """Blocking: add one event (written and fsynced before returning)."""
        line = json.dumps({"type": kind, "timestamp": at_iso, "techInfo": tech_info},
                          sort_keys=True) + "\n"
        dropped = 0
        with self._lock:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            size = self.path.stat().st_size if self.path.exists() else 0
            if size and size + len(line) > self.max_bytes:
                if self.rotated.exists():
                    dropped = _count_lines(self.rotated)
                os.replace(self.path, self.rotated)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, line.encode())
                os.fsync(fd)
            finally:
                os.close(fd)
        if dropped and self.on_cleared is not None:
            self.on_cleared(dropped)

    def events(self) -> list[dict[str, str]]:
        """Blocking: every event kept, oldest first (unreadable lines are skipped)."""
        out: list[dict[str, str]] = []
        with self._lock:
            for path in (self.rotated, self.path):
                if not path.exists():
                    continue
                for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
                    try:
                        entry = json.loads(raw)
                    except ValueError:
                        continue
                    if isinstance(entry, dict):
                        out.append({str(k): str(v) for k, v in entry.items()})
        return out


def _count_lines(path: Path) -> int:
    with path.open("rb") as f:
        return sum(1 for _ in f)
