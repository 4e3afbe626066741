"""Small asyncio helpers shared by the runtime, the app and the adapters."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

log = logging.getLogger("chargepoint")


async def cancel_all(tasks: Iterable[asyncio.Task[Any]], timeout_s: float = 2.0) -> None:
    """Cancel ``tasks`` and wait for them, but never longer than ``timeout_s``.

    A task that swallows its cancellation (seen with a library's ``wait_for`` on Python 3.11)
    must not hang a shutdown: it is logged and left behind."""
    tasks = [t for t in tasks if not t.done()]
    for task in tasks:
        task.cancel()
    if not tasks:
        return
    done, pending = await asyncio.wait(tasks, timeout=timeout_s)
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            log.debug("task %s ended with %r", task.get_name(), task.exception())
    for task in pending:
        log.warning("task %s did not stop within %.1f s of its cancellation; left behind",
                    task.get_name(), timeout_s)
