"""The daemon's own recent log, for ``chargepoint logs`` when journald is not there.

``LogBuffer`` keeps the last records of the ``chargepoint`` logger tree, each with a sequence
number, so that ``logs --follow`` can ask for what came after the last one it showed
(``query(after=seq)``) and wait for it (``wait_after``) instead of polling. Records may come
from any thread; waiters on the event loop are woken through ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chargepoint.timespec import parse_since


@dataclass(frozen=True, slots=True)
class LogRecord:
    seq: int
    at: float  # epoch seconds
    level: str
    logger: str
    connector: int | None
    transaction_id: int | None
    message: str

    def line(self) -> str:
        """``2026-01-01T12:00:00.123+00:00 INFO chargepoint.app [CONNECTOR=1] message``."""
        ctx = []
        if self.connector is not None:
            ctx.append(f"CONNECTOR={self.connector}")
        if self.transaction_id is not None:
            ctx.append(f"TRANSACTION_ID={self.transaction_id}")
        prefix = f"[{' '.join(ctx)}] " if ctx else ""
        stamp = datetime.fromtimestamp(self.at, UTC).isoformat(timespec="milliseconds")
        return f"{stamp} {self.level} {self.logger}: {prefix}{self.message}"

    def json(self) -> dict[str, Any]:
        return {"seq": self.seq,
                "time": datetime.fromtimestamp(self.at, UTC).isoformat(timespec="milliseconds"),
                "level": self.level, "logger": self.logger, "connector": self.connector,
                "transaction_id": self.transaction_id, "message": self.message}


_FORMATTER = logging.Formatter()


def _int_field(record: logging.LogRecord, name: str) -> int | None:
    value = getattr(record, name, None)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class LogBuffer(logging.Handler):
    """Keeps the last ``capacity`` records of the ``chargepoint`` logger tree."""

    def __init__(self, capacity: int = 5000) -> None:
        super().__init__(logging.DEBUG)
        self._records: collections.deque[LogRecord] = collections.deque(maxlen=capacity)
        self._seq = 0
        self._guard = threading.Lock()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self._logger_name = "chargepoint"

    @classmethod
    def attach(cls, logger_name: str = "chargepoint", capacity: int = 5000) -> LogBuffer:
        handler = cls(capacity)
        logging.getLogger(logger_name).addHandler(handler)
        handler._logger_name = logger_name
        return handler

    def detach(self) -> None:
        logging.getLogger(self._logger_name).removeHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if record.exc_info:
                message += "\n" + _FORMATTER.formatException(record.exc_info)
            with self._guard:
                self._seq += 1
                self._records.append(LogRecord(
                    self._seq, record.created, record.levelname, record.name,
                    _int_field(record, "CONNECTOR"), _int_field(record, "TRANSACTION_ID"),
                    message))
                waiters = list(self._waiters)
            for loop, event in waiters:
                with contextlib.suppress(RuntimeError):  # that loop is closed
                    loop.call_soon_threadsafe(event.set)
        except Exception:  # never let logging break the caller
            self.handleError(record)

    @property
    def last_seq(self) -> int:
        return self._seq

    def query(self, *, since: float | None = None, connector: int | None = None,
              after: int | None = None, limit: int | None = None) -> list[LogRecord]:
        """Records oldest first: at or after epoch ``since``, of ``connector`` only, with a
        sequence number above ``after``; the last ``limit`` of them."""
        with self._guard:
            records = list(self._records)
        found = [r for r in records
                 if (since is None or r.at >= since)
                 and (connector is None or r.connector == connector)
                 and (after is None or r.seq > after)]
        return found[-limit:] if limit else found

    async def wait_after(self, seq: int, timeout_s: float) -> None:
        """Return once a record with a sequence number above ``seq`` exists, or after
        ``timeout_s``."""
        loop = asyncio.get_running_loop()
        event = asyncio.Event()
        entry = (loop, event)
        with self._guard:
            if self._seq > seq:
                return
            self._waiters.add(entry)
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout_s):  # (wait_for can swallow a cancel)
                    await event.wait()
        finally:
            with self._guard:
                self._waiters.discard(entry)

    def lines(self, since: str | None = None) -> list[str]:
        """Lines oldest first, each prefixed with its UTC time; ``since`` in any form of
        ``chargepoint.timespec`` (raises ``ValueError`` otherwise)."""
        start = parse_since(since).timestamp() if since else None
        return [r.line() for r in self.query(since=start)]
