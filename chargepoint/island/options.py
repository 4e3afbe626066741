"""``IslandOptions``: what the island process needs besides the config.

A module of its own so that unpickling the options in the island imports nothing more (the
main process's side, ``link``, needs asyncio; the island on real pins does not).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class IslandOptions:
    """What the island needs besides the config (pickled to its stdin with it)."""

    tick_s: float = 0.002
    idle_tick_s: float = 0.1
    realtime_priority: int = 50  # SCHED_FIFO priority; 0: do not ask for real-time
    sim_socket: str | None = None  # simulated station: where the island serves `sim` commands
    sim_pilot: str = "sim"  # "driver": the real CP driver + decoder on the simulated line
    log_level: str = "info"  # the island logs to stderr (the journal under systemd)
