"""Figure 1's station process: the real app (``start_station``) on the simulated bench. The
contactor is the safety island's (its own process); the EV is read through the REAL pilot
driver and decoder on the virtual CP line (``[hardware.island] sim_pilot = "driver"``, hardware
SPI sample cost, simulated ADC clock).

Run: ``python -m bench.safety_child CONFIG EVENTS [UNPLUG_EVERY]`` (0: pauses only). Prints
``READY <json>`` once the first session charges (``pid``, ``island_pid``, ``sim``: the island's
sim socket, so the parent can drive the EV while this process is frozen), then one line
``RESULT <json>`` with the reaction times in seconds split by the state injected, and keeps
running until terminated (the parent measures the frozen-process figures after RESULT).

Each event: wait a random part of an island tick (so injections fall at every phase of its
loop), make the EV leave C (``B``: it pauses; every ``A_EVERY``-th event ``A``: it unplugs),
wait for the contactor to open, and take both instants from the island (``timing``: when the
bench changed the EV, when the island opened), then bring the session back to charging.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time
from collections.abc import Callable
from typing import Any

from chargepoint.app import RunningStation, start_station
from chargepoint.config import load_config
from chargepoint.core.types import PilotState

CARD = "04B3C4D5E6F701"
A_EVERY = 20  # one unplug (A) per this many events, the rest are pauses (B)
REARM_TIMEOUT_S = 60.0
TAP_AGAIN_S = 10.0
# How long this (main) process waits to *hear* of an opening. The figure itself is timed in
# the island; under the hostile mix with a 100 MB store the main loop was seen busy for more
# than 5 s at a time (noted), so the wait is generous. No news by then is a failure.
OPEN_TIMEOUT_S = 60.0


class Contacts:
    """The island's reports of connector 1's contactor, as events."""

    def __init__(self) -> None:
        self.closed = asyncio.Event()
        self.opened = asyncio.Event()

    def __call__(self, message: dict[str, Any]) -> None:
        if message.get("op") == "state" and message.get("c") == 1:
            if message["closed"]:
                self.opened.clear()
                self.closed.set()
            else:
                self.closed.clear()
                self.opened.set()


async def _core_sees(running: RunningStation, pilot: PilotState) -> None:
    """Until the core has seen connector 1's pilot in ``pilot`` with the last session over
    (the island reports each change at once, but the main process may be busy with the
    load; a card tapped while the old session still winds down would stop that one)."""
    def seen() -> bool:
        view = running.controller.station.snapshot().connectors[0]
        return view.pilot is pilot and view.session is None

    async def wait() -> None:
        while not seen():
            await asyncio.sleep(0.005)
    await asyncio.wait_for(wait(), REARM_TIMEOUT_S)


async def _charging_again(running: RunningStation, contacts: Contacts,
                          tap: Callable[[str], None]) -> None:
    """After plug and tap: wait for the contactor; a card that did not start a session (no
    session after TAP_AGAIN_S, as when it raced the end of the last one) is tapped again, as
    a driver would. Raises TimeoutError after REARM_TIMEOUT_S."""
    deadline = time.monotonic() + REARM_TIMEOUT_S
    while True:
        try:
            await asyncio.wait_for(contacts.closed.wait(), TAP_AGAIN_S)
            return
        except TimeoutError:
            if time.monotonic() > deadline:
                raise
        if running.controller.station.snapshot().connectors[0].session is None:
            print("bench: no session after the tap: tapped again", file=sys.stderr, flush=True)
            tap(CARD)


async def main(config_path: str, events: int, unplug_every: int = A_EVERY) -> None:
    config = load_config(config_path)
    running = await start_station(config, control_socket=False)
    bench = running.bench
    assert bench is not None, "the config must simulate the hardware"
    tick_s = config.hardware.island.tick_ms / 1000.0
    contacts = Contacts()
    running.island.listeners.append(contacts)
    reactions: dict[str, list[float]] = {"A": [], "B": []}
    rng = random.Random(61851)
    try:
        await asyncio.wait_for(running.adapter.registered.wait(), 60)
        bench.plug(1)
        bench.tap(CARD)
        await asyncio.wait_for(contacts.closed.wait(), REARM_TIMEOUT_S)
        print("READY " + json.dumps({"pid": os.getpid(), "island_pid": running.island.pid,
                                     "sim": bench.path}), flush=True)
        started = time.perf_counter()
        for n in range(events):
            state = "A" if unplug_every and n % unplug_every == unplug_every - 1 else "B"
            await asyncio.sleep(rng.uniform(0.0, tick_s))
            contacts.opened.clear()
            if state == "A":
                bench.unplug(1)
            else:
                bench.ev(1, "pause")
            try:
                await asyncio.wait_for(contacts.opened.wait(), OPEN_TIMEOUT_S)
            except TimeoutError:
                raise RuntimeError(f"event {n}: the contactor did not open within "
                                   f"{OPEN_TIMEOUT_S} s after the EV went to {state}") from None
            timing = bench.timing(1)
            reactions[state].append(timing["opened_at"] - timing["changed_at"])
            if state == "A":  # a driver unplugs, plugs in again, then taps the card
                await _core_sees(running, PilotState.A)
                bench.plug(1)
                await _core_sees(running, PilotState.B)
                bench.tap(CARD)
            else:
                bench.ev(1, "charge")
            try:
                if state == "A":
                    await _charging_again(running, contacts, bench.tap)
                else:
                    await asyncio.wait_for(contacts.closed.wait(), REARM_TIMEOUT_S)
            except TimeoutError:
                view = running.controller.station.snapshot().connectors[0]
                raise RuntimeError(f"event {n} ({state}): the session did not charge again "
                                   f"within {REARM_TIMEOUT_S} s: {view}") from None
        hw = running.controller.hardware_of(1)
        polls = getattr(getattr(hw.meter, "counters", None), "polls", None)
        print("RESULT " + json.dumps({"reactions_s": reactions, "meter_polls": polls,
                                      "elapsed_s": time.perf_counter() - started,
                                      "island": running.island.hello}), flush=True)
        await asyncio.Event().wait()  # the parent freezes us now, then terminates us
    finally:
        await running.stop(hard=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]),
                     int(sys.argv[3]) if len(sys.argv) > 3 else A_EVERY))
