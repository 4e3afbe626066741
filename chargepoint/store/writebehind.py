"""Store writes handed over by synchronous code on the event loop, done by a thread of their own.

Some writes start in code that must not wait and cannot ``await`` (the wall clock's anchors
when a BootNotification.conf sets it, a security event raised inside a firmware check).
``WriteBehind`` runs them on ONE dedicated thread, in the order they were handed over (two
``asyncio.to_thread`` calls could overtake each other; a later value must never be overwritten
by an earlier one). A failing job is logged; the store's health already reports a refused
write (storage fault). ``flush()`` waits until what was handed over so far is done.

``CachedKv(store, writer)`` is the ``kv_get`` / ``kv_set`` pair such code needs: reads come from
memory once a key was read or set, writes go through ``writer``.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

log = logging.getLogger("chargepoint.store")
_ALL: weakref.WeakSet[WriteBehind] = weakref.WeakSet()


def flush_all(timeout: float | None = None) -> None:
    """Blocking: every ``WriteBehind`` of the process has done what it was handed (call before
    closing the store)."""
    for writer in list(_ALL):
        writer.flush(timeout)


class WriteBehind:
    def __init__(self, name: str = "store-write-behind") -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._closed = False
        _ALL.add(self)

    def submit(self, job: Callable[[], object]) -> Future[None]:
        """Run ``job`` after every job submitted before it; returns at once."""
        def run() -> None:
            try:
                job()
            except Exception:
                log.exception("store write (write-behind) failed")
        return self._pool.submit(run)

    def flush(self, timeout: float | None = None) -> None:
        """Block until every job submitted so far is done (not from a job itself); after
        ``close`` there is nothing left to wait for."""
        if self._closed:
            return
        self._pool.submit(lambda: None).result(timeout)

    def close(self) -> None:
        """Finish the jobs handed over, then stop the thread."""
        self._closed = True
        _ALL.discard(self)
        self._pool.shutdown(wait=True)


class KvStore(Protocol):
    def kv_get(self, key: str) -> str | None: ...

    def kv_set(self, key: str, value: str | None) -> None: ...


class CachedKv:
    """``kv_get`` from memory after the first read of a key (that one reads the store: do it
    in a worker thread or at start-up); ``kv_set`` in memory at once, in the store behind."""

    def __init__(self, store: KvStore, writer: WriteBehind | None = None) -> None:
        self._store = store
        self._writer = writer or WriteBehind()
        self._lock = threading.Lock()
        self._values: dict[str, str | None] = {}

    @property
    def writer(self) -> WriteBehind:
        return self._writer

    def kv_get(self, key: str) -> str | None:
        with self._lock:
            if key in self._values:
                return self._values[key]
        value = self._store.kv_get(key)
        with self._lock:
            return self._values.setdefault(key, value)

    def kv_set(self, key: str, value: str | None) -> None:
        with self._lock:
            self._values[key] = value
        self._writer.submit(lambda: self._store.kv_set(key, value))
