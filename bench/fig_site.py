"""Figure: local load management on the simulated bench (docs/site.md).

The real app (``start_station``, in this process) with two connectors, free vend, and
``[site]`` at 32 A with the virtual grid meter (a real pymodbus RTU unit on the bench's bus)
reading house load plus what the virtual EVs draw; both EVs charge throughout. Defaults as
shipped (``margin_a`` 1 A, ``hold_s`` 5 s, the grid meter read every second).

- **step**: the house load steps 0 -> 15 A, then back to 0. From the step (``sim house``) to
  the first change of the offered current, to the offers settled (unchanged for ``hold_s`` +
  2 s), and the longest stretch the grid meter read above the fuse.
- **noise**: the house load follows a seeded synthetic profile for ``noise_s`` (8 A base,
  +-0.4 A noise each second, appliances of 2-5 A switching on and off): PWM changes per
  connector per hour, beside the appliance switchings per hour of the profile (an ideal
  controller follows each of those once and ignores the noise).

Baselines: the issue's promises (react to a rise within 5 s, use new headroom within 10 s, never
above the fuse for longer than 5 s) and the profile's own switchings.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from pathlib import Path
from typing import Any

from bench.csms import Csms
from bench.report import Figure
from bench.station_config import config_text
from chargepoint.app import RunningStation, start_station
from chargepoint.config import config_from_toml

FUSE_A = 32.0
STEP_A = 15.0
HOLD_S = 5.0  # [site] hold_s as shipped
SITE = f"""
[charging]
free_vend = true

[site]
max_current_a = {FUSE_A}
fallback_current_a = 6.0
"""
SAMPLE_S = 0.05
STEP_TIMEOUT_S = 40.0


def _offers(running: RunningStation) -> tuple[float | None, ...]:
    return tuple(running.controller.offered_current(c) for c in (1, 2))


def _grid_max(running: RunningStation) -> float | None:
    site = running.site
    if site is None:
        return None
    grid = site.status().get("grid_current_a")
    return max(grid) if grid else None


async def _step(running: RunningStation, house_a: float) -> dict[str, float]:
    """Set the house load; time the first change, the settling and the time above the fuse."""
    assert running.bench is not None
    before = _offers(running)
    running.bench.house(house_a)
    t0 = time.monotonic()
    first: float | None = None
    last_change = t0
    current = before
    above_since: float | None = None
    longest_above = 0.0
    while time.monotonic() - t0 < STEP_TIMEOUT_S:
        await asyncio.sleep(SAMPLE_S)
        now = time.monotonic()
        offers = _offers(running)
        if offers != current:
            current, last_change = offers, now
            first = first if first is not None else now
        grid = _grid_max(running)
        if grid is not None and grid > FUSE_A:
            above_since = above_since if above_since is not None else now
            longest_above = max(longest_above, now - above_since)
        else:
            above_since = None
        if first is not None and now - last_change >= HOLD_S + 2.0:
            break
    return {"first_change_s": round((first or now) - t0, 2),
            "settled_s": round(last_change - t0, 2),
            "longest_above_fuse_s": round(longest_above, 2),
            "offers_before": list(before), "offers_after": list(current)}


async def _noise(running: RunningStation, seconds: float, seed: int = 61851) -> dict[str, Any]:
    """The synthetic house profile for ``seconds``; PWM changes per connector."""
    assert running.bench is not None
    running.bench.house(8.0)  # the base load first: its step is not part of the count
    await asyncio.sleep(HOLD_S + 2.0)
    rng = random.Random(seed)
    appliances = 0.0
    switchings = 0
    changes = [0, 0]
    current = _offers(running)
    start = time.monotonic()
    next_tick = start
    while time.monotonic() - start < seconds:
        if time.monotonic() >= next_tick:
            next_tick += 1.0
            if rng.random() < 1 / 60:  # an appliance switches about once a minute
                appliances = 0.0 if appliances else rng.uniform(2.0, 5.0)
                switchings += 1
            running.bench.house(round(8.0 + appliances + rng.uniform(-0.4, 0.4), 2))
        await asyncio.sleep(SAMPLE_S)
        offers = _offers(running)
        for i in (0, 1):
            if offers[i] != current[i]:
                changes[i] += 1
        current = offers
    hours = seconds / 3600.0
    return {"seconds": seconds, "switchings": switchings,
            "switchings_per_hour": round(switchings / hours, 1),
            "changes": changes,
            "changes_per_connector_hour": round(max(changes) / hours, 1)}


async def _charging(running: RunningStation) -> None:
    assert running.bench is not None
    running.bench.plug(1)
    running.bench.plug(2)
    for _ in range(int(60 / SAMPLE_S)):
        if all((o or 0.0) >= 6.0 for o in _offers(running)):
            return
        await asyncio.sleep(SAMPLE_S)
    raise RuntimeError(f"both connectors did not start charging: offers {_offers(running)}")


async def run(*, workdir: Path, noise_s: float) -> Figure:
    fig = Figure("site_load", "Local load management: house-load steps and a noisy house "
                 f"(2 connectors, {FUSE_A:.0f} A fuse, simulated bench)")
    csms = Csms()
    await csms.start()
    running: RunningStation | None = None
    try:
        text = config_text(workdir, "CP-SITE", csms.url)
        text = text.replace("connectors = 1", "connectors = 2") + SITE
        running = await start_station(config_from_toml(text))
        await _charging(running)
        await asyncio.sleep(HOLD_S + 2.0)  # settled at house 0 A
        up = await _step(running, STEP_A)
        down = await _step(running, 0.0)
        noise = await _noise(running, noise_s)
        fig.row(f"house 0 -> {STEP_A:.0f} A: offers cut after", "s", up["first_change_s"],
                5.0, "issue: within 5 s")
        fig.row(f"house 0 -> {STEP_A:.0f} A: offers settled after", "s", up["settled_s"],
                5.0, "issue: within 5 s")
        fig.row("grid above the fuse after the step, longest", "s",
                up["longest_above_fuse_s"], 5.0, "issue: at most 5 s")
        fig.row(f"house {STEP_A:.0f} -> 0 A: offers raised after", "s",
                down["first_change_s"], 10.0, "issue: within 10 s")
        fig.row(f"house {STEP_A:.0f} -> 0 A: offers settled after", "s", down["settled_s"],
                10.0, "issue: within 10 s")
        fig.row("noisy house: PWM changes per connector per hour", "/h",
                noise["changes_per_connector_hour"], max(noise["switchings_per_hour"], 1.0),
                "appliance switchings per hour in the profile")
        fig.details = {"step_up": up, "step_down": down, "noise": noise,
                       "fuse_a": FUSE_A, "hold_s": HOLD_S}
    finally:
        if running is not None:
            with contextlib.suppress(Exception):
                await running.stop()
        await csms.stop()
    return fig
