"""TriggerMessage and ExtendedTriggerMessage follow-ups, coalesced.

A CSMS may trigger the same message hundreds of times a second. Each trigger is answered
Accepted, but at most one message per (message, connector) waits behind the one in flight:
it is built when it goes, so it answers every trigger that came before it. Both trigger
requests share one ``TriggerFollowUps`` (the adapter's), so they cannot be combined into a
storm either (docs/security.md, "The station's own CALLs").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable

Key = tuple[str, int | None]


class TriggerFollowUps:
    def __init__(self) -> None:
        self._under_way: Counter[Key] = Counter()

    def idle(self) -> bool:
        """No follow-up is waiting or in flight."""
        return not +self._under_way

    async def run(self, key: Key, send: Callable[[], Awaitable[None]]) -> None:
        """``send()`` unless one for ``key`` is in flight and another waits behind it."""
        if self._under_way[key] >= 2:
            return
        self._under_way[key] += 1
        try:
            await send()
        finally:
            self._under_way[key] -= 1
