"""The daemon's own recent log, for ``chargepoint logs`` when journald is not there."""

from __future__ import annotations

import collections
import logging
from datetime import UTC, datetime


class LogBuffer(logging.Handler):
    """Keeps the last ``capacity`` formatted records of the ``chargepoint`` logger tree."""

    def __init__(self, capacity: int = 5000) -> None:
        super().__init__(logging.DEBUG)
        self._lines: collections.deque[tuple[float, str]] = collections.deque(maxlen=capacity)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    @classmethod
    def attach(cls, logger_name: str = "chargepoint", capacity: int = 5000) -> LogBuffer:
        handler = cls(capacity)
        logging.getLogger(logger_name).addHandler(handler)
        handler._logger_name = logger_name
        return handler

    _logger_name = "chargepoint"

    def detach(self) -> None:
        logging.getLogger(self._logger_name).removeHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._lines.append((record.created, self.format(record)))
        except Exception:  # never let logging break the caller
            self.handleError(record)

    def lines(self, since: str | None = None) -> list[str]:
        """Lines oldest first, each prefixed with its UTC time; ``since`` is ISO 8601."""
        start = 0.0
        if since:
            when = datetime.fromisoformat(since.replace("Z", "+00:00"))
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            start = when.timestamp()
        return [
            f"{datetime.fromtimestamp(t, UTC).isoformat(timespec='milliseconds')} {text}"
            for t, text in list(self._lines)
            if t >= start
        ]
