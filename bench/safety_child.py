"""Figure 1's station process: the real app (``start_station``) on the simulated bench, with
the pilot leaving C injected at the HAL boundary and the contactor's ``open()`` timestamped.

Run: ``python -m bench.safety_child CONFIG EVENTS [sim|driver]``. ``sim`` (default) reads the
pilot through the simulated bench's ``SimPilot`` (the HAL boundary, no debounce); ``driver``
swaps in the REAL ``GpioControlPilot`` with the production ``PilotDecoder`` (debounce over 3
bursts) on the analog ``CpLine`` of the same virtual EV, to show what the decoder adds.
It prints ``READY`` once the first session charges (the parent may start loading the station
then) and finally one line ``RESULT <json>`` with the reaction times in seconds, split by the
state injected, and the number of meter polls (the meter is polled every second all along).

Each event: wait a random part of a control tick (so injections fall at every phase of the
loop), timestamp, make the EV leave C (``B``: it pauses; every ``A_EVERY``-th event ``A``: it
unplugs), await the contactor's ``open()`` call, then bring the session back to charging.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time

from chargepoint.app import RunningStation, start_station
from chargepoint.config import load_config
from hardware.interfaces import Contactor, RelayMismatch
from hardware.pilot import GpioControlPilot, PilotDecoder
from hardware.sim.analog import CpLine

CARD = "04B3C4D5E6F701"
A_EVERY = 20  # one unplug (A) per this many events, the rest are pauses (B)
TICK_S = 0.01  # start_station's default control tick (the random injection phase spans it)
REARM_TIMEOUT_S = 60.0
OPEN_TIMEOUT_S = 5.0  # no open by then is reported as a failure, not as a figure


class TimedContactor:
    """Wraps a ``Contactor``: records when ``open()`` is called on a closed contactor and
    signals each open/close (``Contactor`` protocol, delegating)."""

    def __init__(self, inner: Contactor) -> None:
        self.inner = inner
        self.opened_at = 0.0
        self._opened = asyncio.Event()
        self._closed = asyncio.Event()

    def close(self, now: float) -> None:
        self.inner.close(now)
        self._opened.clear()
        self._closed.set()

    def open(self, now: float) -> None:
        was_closed = self.inner.commanded_closed
        stamp = time.perf_counter()
        self.inner.open(now)
        if was_closed:
            self.opened_at = stamp
            self._closed.clear()
            self._opened.set()

    @property
    def commanded_closed(self) -> bool:
        return self.inner.commanded_closed

    def mirror_closed(self) -> bool:
        return self.inner.mirror_closed()

    def check(self, now: float) -> RelayMismatch | None:
        return self.inner.check(now)

    async def wait_closed(self) -> None:
        await asyncio.wait_for(self._closed.wait(), REARM_TIMEOUT_S)

    async def wait_opened(self) -> float:
        await asyncio.wait_for(self._opened.wait(), OPEN_TIMEOUT_S)
        return self.opened_at


def use_real_pilot_driver(running: RunningStation) -> None:
    """Replace connector 1's simulated pilot by the real driver on the EV's analog line.

    Call before any session: both start with PWM off. The line runs on simulated time, so a
    burst costs no real waiting; debouncing counts bursts, i.e. control ticks."""
    assert running.bench is not None
    line = CpLine(running.bench.connector(1).ev)
    running.controller.hardware_of(1).pilot = GpioControlPilot(
        line, line, PilotDecoder(), clock=line.clock)


async def main(config_path: str, events: int, pilot: str) -> None:
    config = load_config(config_path)
    # The reaction measured is the 10 ms tick that runs while a contactor is closed (the
    # default). The idle tick only delays re-arming between events: keep it short so that
    # thousands of events fit the bench's time budget.
    running = await start_station(config, control_socket=False, idle_tick_s=TICK_S)
    bench = running.bench
    assert bench is not None, "the config must simulate the hardware"
    if pilot == "driver":
        use_real_pilot_driver(running)
    elif pilot != "sim":
        raise ValueError(f"pilot must be sim or driver, not {pilot!r}")
    hw = running.controller.hardware_of(1)
    timed = TimedContactor(hw.contactor)
    hw.contactor = timed
    reactions: dict[str, list[float]] = {"A": [], "B": []}
    rng = random.Random(61851)
    try:
        await asyncio.wait_for(running.adapter.registered.wait(), 60)
        bench.plug(1)
        bench.tap(CARD)
        await timed.wait_closed()
        print("READY", flush=True)
        started = time.perf_counter()
        for n in range(events):
            state = "A" if n % A_EVERY == A_EVERY - 1 else "B"
            await asyncio.sleep(rng.uniform(0.0, TICK_S))
            t0 = time.perf_counter()
            if state == "A":
                bench.unplug(1)
            else:
                bench.ev(1, "pause")
            try:
                opened = await timed.wait_opened()
            except TimeoutError:
                raise RuntimeError(f"event {n}: the contactor did not open within "
                                   f"{OPEN_TIMEOUT_S} s after the EV went to {state}") from None
            reactions[state].append(opened - t0)
            if state == "A":
                bench.plug(1)
                bench.tap(CARD)
            else:
                bench.ev(1, "charge")
            await timed.wait_closed()
        # printed before stopping: the parent needs the figures, not the shutdown
        polls = getattr(getattr(hw.meter, "counters", None), "polls", None)
        print("RESULT " + json.dumps({"reactions_s": reactions, "meter_polls": polls,
                                      "elapsed_s": time.perf_counter() - started}), flush=True)
    finally:
        await running.stop(hard=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "sim"))
