"""Runs every figure in one invocation and writes the table and the JSON.

``main(argv)`` is ``python -m bench``: ``--quick`` (smoke run, well under 30 s), ``--out DIR``
(default ``bench/results``), ``--only KEY[,KEY]`` (a subset of figures). Exit status 0 when
every figure was measured, 1 when one failed (its entry says why; the others still run).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import (
    child,
    fig_footprint2c,
    fig_latency201,
    fig_meter,
    fig_process,
    fig_replay,
    fig_replay201,
    fig_safety,
    fig_site,
)
from bench.report import Figure, document, table, write_json

RESULTS = Path(__file__).resolve().parent / "results"
KEYS = ("safety_reaction", "footprint", "footprint_2c", "startup", "meter_polling",
        "request_latency", "request_latency_201", "offline_replay", "offline_replay_201",
        "site_load")


@dataclass(frozen=True, slots=True)
class Sizes:
    """How much each figure measures."""

    polls: int
    replay_messages: int
    safety_events: int
    freeze_events: int
    store_mb: int
    starts: int
    idle_window_s: float
    load_s: float
    profile_s: float
    site_noise_s: float


FULL = Sizes(polls=30, replay_messages=10_000, safety_events=2000, freeze_events=20,
             store_mb=100, starts=3,
             idle_window_s=45.0, load_s=10.0, profile_s=10.0, site_noise_s=600.0)
QUICK = Sizes(polls=3, replay_messages=200, safety_events=20, freeze_events=1, store_mb=2,
              starts=1, idle_window_s=2.0,
              load_s=1.0, profile_s=1.0, site_noise_s=5.0)

Job = Callable[[Sizes, Path], Awaitable[list[Figure]]]


async def _meter(s: Sizes, _: Path) -> list[Figure]:
    return [await fig_meter.run(polls=s.polls)]


async def _replay(s: Sizes, work: Path) -> list[Figure]:
    return [await fig_replay.run(messages=s.replay_messages, workdir=work)]


async def _replay201(s: Sizes, work: Path) -> list[Figure]:
    return [await fig_replay201.run(messages=s.replay_messages, workdir=work)]


async def _latency201(s: Sizes, work: Path) -> list[Figure]:
    return [await fig_latency201.run(workdir=work, load_s=s.load_s)]


async def _safety(s: Sizes, work: Path) -> list[Figure]:
    return [await fig_safety.run(events=s.safety_events, workdir=work,
                                 freeze_events=s.freeze_events, store_mb=s.store_mb)]


async def _process(s: Sizes, work: Path) -> list[Figure]:
    return await fig_process.run(workdir=work, starts=s.starts, window_s=s.idle_window_s,
                                 load_s=s.load_s, profile_s=s.profile_s)


async def _footprint2c(s: Sizes, work: Path) -> list[Figure]:
    return [await fig_footprint2c.run(workdir=work, window_s=s.idle_window_s)]


async def _site(s: Sizes, work: Path) -> list[Figure]:
    return [await fig_site.run(workdir=work, noise_s=s.site_noise_s)]


# (keys a job produces, job); cheap figures on finished parts first
JOBS: list[tuple[tuple[str, ...], Job]] = [
    (("meter_polling",), _meter),
    (("offline_replay",), _replay),
    (("offline_replay_201",), _replay201),
    (("safety_reaction",), _safety),
    (("footprint", "startup", "request_latency"), _process),
    (("footprint_2c",), _footprint2c),
    (("request_latency_201",), _latency201),
    (("site_load",), _site),
]


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, check=False, cwd=Path(__file__).resolve().parent)
    except OSError:
        return None
    return out.stdout.strip() or None


async def run_all(sizes: Sizes, only: set[str] | None, work: Path) -> list[Figure]:
    """Run the selected figures one after the other (each alone on the machine)."""
    figures: dict[str, Figure] = {}
    for keys, job in JOBS:
        if only is not None and not only.intersection(keys):
            continue
        t0 = time.monotonic()
        sub = work / keys[0]
        sub.mkdir()
        try:
            produced = await job(sizes, sub)
        except Exception as exc:
            traceback.print_exc()
            produced = [Figure(k, k).not_measured(f"error: {exc!r}") for k in keys]
        took = time.monotonic() - t0
        for fig in produced:
            fig.elapsed_s = round(took, 2)
            figures[fig.key] = fig
        print(table(produced), flush=True)
    return [figures[k] for k in KEYS if k in figures]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke run (small sizes)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory for the JSON")
    parser.add_argument("--only", help=f"comma-separated figure keys: {', '.join(KEYS)}")
    args = parser.parse_args(argv)
    only = set(args.only.split(",")) if args.only else None
    if only is not None and not only <= set(KEYS):
        parser.error(f"unknown figure(s): {', '.join(sorted(only - set(KEYS)))}")
    sizes = QUICK if args.quick else FULL
    compiled = child.compile_bytecode()  # the station starts from bytecode, as installed
    started = datetime.now(UTC)
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="chargepoint-bench-") as tmp:
        figures = asyncio.run(run_all(sizes, only, Path(tmp)))
    meta: dict[str, Any] = {
        "started": started.isoformat(timespec="seconds"),
        "duration_s": round(time.monotonic() - t0, 1),
        "mode": "quick" if args.quick else "full",
        "sizes": asdict(sizes),
        "host": {"python": sys.version.split()[0], "platform": platform.platform(),
                 "cpus": os.cpu_count(), "loadavg": os.getloadavg()},
        "commit": _git_commit(),
        "bytecode_compiled": compiled,
    }
    path = write_json(document(figures, meta), args.out, started.strftime("%Y%m%dT%H%M%SZ"))
    print("\n=== summary ===\n" + table(figures))
    print(f"\nwritten {path} ({meta['duration_s']} s)")
    return 0 if all(f.measured for f in figures) else 1
