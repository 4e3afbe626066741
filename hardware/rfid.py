"""RFID / NFC card reader over nfcpy (PN532 on a UART, USB readers, nfcpy's UDP emulation).

nfcpy is blocking, so one worker thread (``asyncio.to_thread``) owns the reader: it opens it,
polls with ``ContactlessFrontend.sense`` for ISO 14443 A, ISO 14443 B and FeliCa (the
technologies charging cards use), turns what it finds into a ``Token`` and hands events to the
event loop. ``sense`` is used rather than ``connect(rdwr=...)`` because we only need the
anticollision identifier, which every card gives, while tag activation fails for cards nfcpy
cannot talk to (e.g. MIFARE Classic, the commonest charging card).

Identifiers (NFC Forum Digital Protocol): ISO 14443 A -> NFCID1 (4, 7 or 10 bytes, from the
anticollision cascade); ISO 14443 B -> PUPI (SENSB_RES bytes 1..4); FeliCa -> IDm (SENSF_RES
bytes 1..8). All are upper-case hex without separators, e.g. ``04A1B2C3D4E5F6``.

A card held on the reader is reported once; it is reported again only after it has been away
for ``debounce_s`` (``CardDebouncer``). A reader that fails (unplugged, UART error, cannot be
opened) yields one ``ReaderFailure``; the worker re-opens it every ``reopen_interval_s`` and
yields ``ReaderRecovered`` when it answers again. Failures never escape as exceptions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncGenerator, Callable, Sequence
from typing import Any, Protocol

from hardware.interfaces import ReaderEvent, ReaderFailure, ReaderRecovered, Token

log = logging.getLogger(__name__)

TECHNOLOGIES = ("106A", "106B", "212F")  # ISO 14443 A, ISO 14443 B, FeliCa 212 kbit/s


class Frontend(Protocol):
    """The part of ``nfc.ContactlessFrontend`` the reader uses."""

    def sense(self, *targets: Any, **options: Any) -> Any: ...

    def close(self) -> None: ...


FrontendFactory = Callable[[str], Frontend]


def open_frontend(device: str) -> Frontend:
    """Open an nfcpy reader at ``device`` (e.g. ``tty:S0:pn532``); ``OSError`` if absent."""
    import nfc

    frontend: Frontend = nfc.ContactlessFrontend(device)
    return frontend


def format_uid(data: bytes | bytearray) -> str:
    """Upper-case hex, no separators."""
    return bytes(data).hex().upper()


def token_from_target(target: Any) -> Token | None:
    """The ``Token`` of an ``nfc.clf.RemoteTarget`` found by ``sense`` (None: no usable id)."""
    brty: str = target.brty
    if brty.endswith("A"):
        rid_res = getattr(target, "rid_res", None)
        if rid_res:  # Type 1 (Topaz): UID0..UID3 of the RID response
            return Token(format_uid(rid_res[2:6]), "ISO14443A")
        sdd_res = getattr(target, "sdd_res", None)
        if sdd_res and len(sdd_res) in (4, 7, 10):
            return Token(format_uid(sdd_res), "ISO14443A")
        return None
    if brty.endswith("B"):
        sensb_res = getattr(target, "sensb_res", None)
        if sensb_res and len(sensb_res) >= 5:
            return Token(format_uid(sensb_res[1:5]), "ISO14443B")
        return None
    if brty.endswith("F"):
        sensf_res = getattr(target, "sensf_res", None)
        if sensf_res and len(sensf_res) >= 9:
            return Token(format_uid(sensf_res[1:9]), "FeliCa")
    return None


class CardDebouncer:
    """Reports a card once while it is held; again only after ``debounce_s`` away. Pure."""

    def __init__(self, debounce_s: float) -> None:
        if debounce_s < 0:
            raise ValueError("debounce_s must be >= 0")
        self._debounce_s = debounce_s
        self._last: Token | None = None
        self._last_seen = 0.0

    def seen(self, token: Token | None, now: float) -> Token | None:
        """Feed one poll result (``None``: no card); returns the token to report, if any."""
        if token is None:
            return None
        again = token == self._last and now - self._last_seen < self._debounce_s
        self._last, self._last_seen = token, now
        return None if again else token


_END = object()


class NfcReader:
    """Implements ``hardware.interfaces.TokenReader`` with nfcpy.

    ``events()`` starts the worker thread on first use; iterate it from one task. ``close()``
    stops the worker (it finishes the ``sense`` in progress, well under a second on a PN532)
    and ends the iteration. ``frontend_factory`` replaces ``open_frontend`` (tests, wrappers).
    """

    def __init__(
        self,
        device: str,
        *,
        debounce_s: float = 2.0,
        poll_interval_s: float = 0.1,
        reopen_interval_s: float = 2.0,
        technologies: Sequence[str] = TECHNOLOGIES,
        frontend_factory: FrontendFactory = open_frontend,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if poll_interval_s < 0 or reopen_interval_s <= 0:
            raise ValueError("poll_interval_s must be >= 0 and reopen_interval_s > 0")
        if not technologies or any(t not in TECHNOLOGIES for t in technologies):
            raise ValueError(f"technologies must be a non-empty subset of {TECHNOLOGIES}")
        self.device = device
        self._debouncer = CardDebouncer(debounce_s)
        self._poll_s = poll_interval_s
        self._reopen_s = reopen_interval_s
        self._technologies = tuple(technologies)
        self._factory = frontend_factory
        self._clock = clock
        self._stop = threading.Event()
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._task: asyncio.Future[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def events(self) -> AsyncGenerator[ReaderEvent, None]:
        """Cards, failures and recoveries as they happen, until ``close()``."""
        if self._task is None and not self._stop.is_set():
            self._loop = asyncio.get_running_loop()
            self._task = asyncio.ensure_future(asyncio.to_thread(self._run))
        while not (self._stop.is_set() and self._queue.empty()):
            item = await self._queue.get()
            if item is _END:
                return
            yield item  # type: ignore[misc]

    @property
    def running(self) -> bool:
        """True while the worker thread runs."""
        return self._task is not None and not self._task.done()

    async def close(self) -> None:
        """Stop the worker and release the reader. Idempotent."""
        self._stop.set()
        if self._task is not None:
            await self._task
        self._queue.put_nowait(_END)

    # --- worker thread -------------------------------------------------------------------

    def _emit(self, event: object) -> None:
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):  # loop already closed: nobody listens
            loop.call_soon_threadsafe(self._queue.put_nowait, event)

    def _run(self) -> None:
        try:
            self._poll_loop()
        except Exception as exc:  # a bug, not the outside world: say so, then end the stream
            log.exception("RFID worker crashed")
            self._emit(ReaderFailure(f"reader worker crashed: {exc!r}"))
        finally:
            self._emit(_END)

    def _poll_loop(self) -> None:
        import nfc.clf

        targets = [nfc.clf.RemoteTarget(brty) for brty in self._technologies]
        frontend: Frontend | None = None
        failed = False
        try:
            while not self._stop.is_set():
                if frontend is None:
                    try:
                        frontend = self._factory(self.device)
                    except Exception as exc:
                        if not failed:
                            failed = True
                            log.warning("RFID reader %s cannot be opened: %s", self.device, exc)
                            self._emit(ReaderFailure(f"cannot open {self.device}: {exc}"))
                        self._stop.wait(self._reopen_s)
                        continue
                    if failed:
                        failed = False
                        log.info("RFID reader %s is back", self.device)
                        self._emit(ReaderRecovered())
                try:
                    target = frontend.sense(*targets, iterations=1)
                except Exception as exc:
                    failed = True
                    log.warning("RFID reader %s failed: %s", self.device, exc)
                    self._emit(ReaderFailure(f"reader {self.device} failed: {exc}"))
                    self._close_quietly(frontend)
                    frontend = None
                    self._stop.wait(self._reopen_s)
                    continue
                token = token_from_target(target) if target is not None else None
                report = self._debouncer.seen(token, self._clock())
                if report is not None:
                    self._emit(report)
                self._stop.wait(self._poll_s)
        finally:
            if frontend is not None:
                self._close_quietly(frontend)

    @staticmethod
    def _close_quietly(frontend: Frontend) -> None:
        try:
            frontend.close()
        except Exception as exc:  # a vanished device may fail to close; it is gone anyway
            log.debug("closing reader: %s", exc)


async def read_one(
    device: str,
    timeout_s: float,
    *,
    frontend_factory: FrontendFactory = open_frontend,
) -> Token | None:
    """Wait up to ``timeout_s`` for one card at ``device`` (``chargepoint rfid read``).

    Returns the card's ``Token`` or ``None`` on timeout; raises ``OSError`` when the reader
    cannot be opened or fails.
    """
    reader = NfcReader(
        device, debounce_s=0.0, poll_interval_s=0.05, reopen_interval_s=timeout_s + 1.0,
        frontend_factory=frontend_factory,
    )
    try:
        async with asyncio.timeout(timeout_s):
            async with contextlib.aclosing(reader.events()) as events:
                async for event in events:
                    if isinstance(event, Token):
                        return event
                    if isinstance(event, ReaderFailure):
                        raise OSError(event.reason)
    except TimeoutError:
        return None
    finally:
        await reader.close()
    return None
