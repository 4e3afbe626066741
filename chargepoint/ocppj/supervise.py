"""Failures of protocol tasks: logged without flooding the log, tasks kept alive.

- ``FailureLog(logger).failed(where, exc)``: one log record per failure at counts 1, 2, 4,
  8 ... of the same (where, exception type); the traceback only with the first. A CSMS that
  sends the same poisonous frame a thousand times costs ten lines, not a thousand tracebacks.
- ``Supervisor(failures, backoff_min_s=1.0)``: ``start(name, factory)`` runs
  ``await factory()`` as a task and starts it again after an exception (or a return) with a
  backoff of 1 s doubling to 60 s.
  ``healthy()`` is False when a supervised task is gone or failed ``MAX_CONSECUTIVE``
  times in a row (each run shorter than ``STABLE_S``): the systemd watchdog then restarts the
  process. ``close()`` cancels every task.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from chargepoint.aio import cancel_all

MAX_CONSECUTIVE = 5  # failures in a row after which a task counts as unhealthy
STABLE_S = 60.0  # a run this long resets the count and the backoff
_BACKOFF_MIN_S = 1.0
_BACKOFF_MAX_S = 60.0
_MAX_KEYS = 256  # distinct failures remembered (bounded under a flood of new ones)


class FailureLog:
    def __init__(self, logger: logging.Logger) -> None:
        self._log = logger
        self._counts: dict[tuple[str, str], int] = {}

    def failed(self, where: str, exc: BaseException) -> None:
        """Log that ``where`` failed with ``exc`` (rate-limited, see the module docstring)."""
        key = (where, type(exc).__name__)
        if key not in self._counts and len(self._counts) >= _MAX_KEYS:
            self._counts.clear()
        count = self._counts.get(key, 0) + 1
        self._counts[key] = count
        if count & (count - 1):
            return  # not a power of two
        text = str(exc)[:200]
        if count == 1:
            self._log.error("%s failed: %s: %s", where, type(exc).__name__, text, exc_info=exc)
        else:
            self._log.error("%s failed again (%d times so far): %s: %s", where, count,
                            type(exc).__name__, text)

    def count(self, where: str) -> int:
        """How often ``where`` failed (any exception type)."""
        return sum(n for (w, _), n in self._counts.items() if w == where)


@dataclass
class _Run:
    task: asyncio.Task[None]
    consecutive: int = 0  # failures in a row
    started: float = 0.0  # monotonic time the current run started

    def ok(self, now: float) -> bool:
        return not self.task.done() and (
            self.consecutive < MAX_CONSECUTIVE or now - self.started >= STABLE_S)


class Supervisor:
    def __init__(self, failures: FailureLog, *, backoff_min_s: float = _BACKOFF_MIN_S) -> None:
        self._failures = failures
        self._backoff_min = backoff_min_s
        self._runs: dict[str, _Run] = {}

    def start(self, name: str, factory: Callable[[], Awaitable[None]]) -> asyncio.Task[None]:
        """Run ``factory()`` as the supervised task ``name`` (restarted when it ends)."""
        run = _Run(asyncio.get_running_loop().create_task(self._keep(name, factory),
                                                          name=name))
        self._runs[name] = run
        return run.task

    async def _keep(self, name: str, factory: Callable[[], Awaitable[None]]) -> None:
        delay = self._backoff_min
        while True:
            started = self._runs[name].started = time.monotonic()
            try:
                await factory()
                self._failures.failed(name, RuntimeError("task ended"))
            except Exception as exc:  # the task is restarted: one input must not stop it
                self._failures.failed(name, exc)
            run = self._runs[name]
            if time.monotonic() - started >= STABLE_S:
                run.consecutive = 0
                delay = self._backoff_min
            run.consecutive += 1
            await asyncio.sleep(delay)
            delay = min(delay * 2, _BACKOFF_MAX_S)

    def healthy(self) -> bool:
        """Every supervised task runs and none is failing over and over."""
        return not self.unhealthy()

    def unhealthy(self) -> list[str]:
        """Names of the tasks that make ``healthy()`` False."""
        now = time.monotonic()
        return [name for name, run in self._runs.items() if not run.ok(now)]

    async def close(self) -> None:
        await cancel_all([run.task for run in self._runs.values()])
