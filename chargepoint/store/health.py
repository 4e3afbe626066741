"""Whether the store can still write: the state behind the station's storage fault.

``WriteHealth`` is fed by ``StoreBase._write`` after every durable write: ``record(None)`` when
it committed, ``record(text)`` when sqlite refused it for a reason of the medium (disk full,
I/O error, read-only file, corruption). Listeners hear each change (failing <-> healthy), not
each write, in the thread that made the write: an asyncio listener hands it to its loop with
``call_soon_threadsafe``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("chargepoint.store")

Listener = Callable[[str | None], None]


class WriteHealth:
    """The outcome of the last durable write. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failure: str | None = None
        self._listeners: list[Listener] = []

    @property
    def failure(self) -> str | None:
        """Why the last write failed (sqlite's message), None while writes succeed."""
        return self._failure

    def listen(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(failure)`` on every change; returns the function that stops it."""
        with self._lock:
            self._listeners.append(listener)

        def stop() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return stop

    def record(self, failure: str | None) -> None:
        """The outcome of one write (None: committed)."""
        with self._lock:
            if (failure is None) == (self._failure is None):
                self._failure = failure
                return
            self._failure = failure
            listeners = list(self._listeners)
        if failure is None:
            log.warning("store writes succeed again")
        else:
            log.error("store write failed: %s", failure)
        for listener in listeners:
            try:
                listener(failure)
            except Exception:  # a listener's bug must not turn a good write into an error
                log.exception("store health listener failed")
