"""Follow-up messages of trigger requests, coalesced (shared by 1.6 and 2.0.1).

A CSMS may trigger the same message hundreds of times a second. Each trigger is answered, but
at most one follow-up per key (message, connector / EVSE) waits behind the one in flight: it
is built when it goes, so it answers every trigger that came before it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Hashable


class TriggerFollowUps:
    def __init__(self) -> None:
        self._under_way: Counter[Hashable] = Counter()

    def idle(self) -> bool:
        """No follow-up is waiting or in flight."""
        return not +self._under_way

    async def run(self, key: Hashable, send: Callable[[], Awaitable[None]]) -> None:
        """``send()`` unless one for ``key`` is in flight and another waits behind it."""
        if self._under_way[key] >= 2:
            return
        self._under_way[key] += 1
        try:
            await send()
        finally:
            self._under_way[key] -= 1
