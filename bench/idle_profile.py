"""Where an idle ``chargepoint run`` spends its CPU: the real app under ``cProfile``.

Run: ``python -m bench.idle_profile CONFIG SECONDS``. Starts the station (simulated bench,
control socket off), waits for registration and a short settling, profiles the event loop
thread for ``SECONDS`` and prints one line ``RESULT <json>``: own time per package (the
epoll wait, i.e. sleeping, left out) and the busiest functions. Profiling slows Python code
down, so read the shares, not the absolute values. Worker threads (sqlite) are not seen.
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import pstats
import sys
from collections import defaultdict
from typing import Any

from chargepoint.app import start_station
from chargepoint.config import load_config

SETTLE_S = 2.0
IDLE_WAIT = "'poll' of 'select.epoll' objects"  # sleeping in the event loop


def package_of(filename: str, function: str) -> str:
    """A short owner name for a profiled function: our package, a library, or stdlib."""
    path = filename.replace("\\", "/")
    for ours in ("chargepoint", "hardware"):
        marker = f"/{ours}/"
        if marker in path and "site-packages" not in path:
            rest = path.split(marker, 1)[1].split("/")
            return f"{ours}.{rest[0].removesuffix('.py')}"
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1].split("/")[0]
    if path == "~":
        return "builtins"
    parts = path.split("/")
    if "asyncio" in parts:
        return "asyncio"
    return parts[-1].removesuffix(".py")


def summarize(stats: pstats.Stats, seconds: float) -> dict[str, Any]:
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    by_package: dict[str, float] = defaultdict(float)
    functions: list[tuple[float, str]] = []
    for (filename, line, name), (_, calls, tottime, _, _) in raw.items():
        label = f"{name} ({filename.rsplit('/', 1)[-1]}:{line})" if filename != "~" else name
        if IDLE_WAIT in name:
            continue
        by_package[package_of(filename, name)] += tottime
        functions.append((tottime, f"{label} x{calls}"))
    total = sum(by_package.values())
    top = sorted(by_package.items(), key=lambda kv: -kv[1])[:12]
    return {
        "window_s": seconds,
        "busy_s": round(total, 4),
        "share_by_package": {k: round(v / total, 3) for k, v in top} if total else {},
        "top_functions": [f"{t * 1000:.1f} ms {label}"
                          for t, label in sorted(functions, reverse=True)[:10]],
    }


async def main(config_path: str, seconds: float) -> None:
    running = await start_station(load_config(config_path), control_socket=False)
    try:
        await asyncio.wait_for(running.adapter.registered.wait(), 60)
        await asyncio.sleep(SETTLE_S)  # start-up work (statuses, first polls) is not idle
        profile = cProfile.Profile()
        profile.enable()
        await asyncio.sleep(seconds)  # the idle window being profiled
        profile.disable()
        print("RESULT " + json.dumps(summarize(pstats.Stats(profile), seconds)), flush=True)
    finally:
        await running.stop(hard=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2])))
