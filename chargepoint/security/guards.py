"""Two small watchers that raise security events.

- ``ReplayGuard(size)``: OCPP-J message ids of CALLs received on one connection. A CALL whose
  id was already used on it is a replay (OCPP-J 4.1.1: ids are unique per connection; the
  CSMS never resends a CALL with the same id): ``seen(id)`` is True for it
  (AttemptedReplayAttacks; the adapter answers SecurityError and does not act on it).
  Remembers the last ``size`` ids (memory bounded).
- ``MemoryWatch(min_free_bytes, min_free_fraction)``: ``check(free, total) -> bool`` is True
  once when the free space drops below both bounds (MemoryExhaustion), again only after it
  recovered above them.
"""

from __future__ import annotations

from collections import OrderedDict


class ReplayGuard:
    def __init__(self, size: int = 2048) -> None:
        self._size = size
        self._ids: OrderedDict[str, None] = OrderedDict()

    def seen(self, unique_id: str) -> bool:
        """Record ``unique_id``; True when it was seen before on this connection."""
        if unique_id in self._ids:
            return True
        self._ids[unique_id] = None
        if len(self._ids) > self._size:
            self._ids.popitem(last=False)
        return False


class MemoryWatch:
    def __init__(self, min_free_bytes: int = 64 * 2**20, min_free_fraction: float = 0.05) -> None:
        self.min_free_bytes = min_free_bytes
        self.min_free_fraction = min_free_fraction
        self._low = False

    def check(self, free: int, total: int) -> bool:
        low = free < self.min_free_bytes and free < total * self.min_free_fraction
        raise_now = low and not self._low
        self._low = low
        return raise_now
