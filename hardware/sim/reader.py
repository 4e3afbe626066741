"""A virtual RFID reader implementing ``hardware.interfaces.TokenReader``.

``tap(uid)`` presents a card; ``events()`` yields it as a ``Token``. ``fail`` / ``recover``
inject a reader failure for tests of ``ReaderFailure`` handling.
"""

from __future__ import annotations

import asyncio
import string
from collections.abc import AsyncIterator

from hardware.interfaces import ReaderEvent, ReaderFailure, ReaderRecovered, Token

TOKEN_TYPE = "ISO14443A"
MAX_UID_BYTES = 10  # ISO 14443-3: single, double or triple size UIDs (4, 7, 10 bytes)


def normalize_uid(uid: str) -> str:
    """Upper-case hex UID of 1..10 bytes. Raises ValueError for anything else."""
    text = uid.strip()
    if not text or any(c not in string.hexdigits for c in text):
        raise ValueError(f"UID must be hexadecimal (e.g. 04A1B2C3D4E5F6), got {uid!r}")
    if len(text) % 2 or len(text) > 2 * MAX_UID_BYTES:
        raise ValueError(f"UID must be 1..{MAX_UID_BYTES} whole bytes of hex, got {uid!r}")
    return text.upper()


class VirtualReader:
    """A reader whose cards come from ``tap``. One consumer of ``events()`` at a time."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[ReaderEvent | None] = asyncio.Queue()
        self._closed = False
        self.taps = 0

    def tap(self, uid: str) -> Token:
        """Present a card; returns the token ``events()`` will yield. Raises ValueError for a
        bad UID or a closed reader."""
        token = Token(uid=normalize_uid(uid), type=TOKEN_TYPE)
        self._put(token)
        self.taps += 1
        return token

    def fail(self, reason: str = "virtual reader unplugged") -> None:
        self._put(ReaderFailure(reason))

    def recover(self) -> None:
        self._put(ReaderRecovered())

    def _put(self, event: ReaderEvent) -> None:
        if self._closed:
            raise ValueError("the virtual reader is closed")
        self._queue.put_nowait(event)

    async def events(self) -> AsyncIterator[ReaderEvent]:
        """Every tapped card (and injected failure) in order; ends after ``close()``."""
        while True:
            event = await self._queue.get()
            if event is None:
                return
            yield event

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._queue.put_nowait(None)
