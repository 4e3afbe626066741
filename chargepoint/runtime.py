"""The runtime: the asyncio layer around the pure core.

It owns three kinds of tasks and nothing else:

- the **control loop** (``_control_loop``): it samples the mains supervision input, the pilot,
  the feedback contacts, the RCD input and the relay supervisors, turns every change into a
  core event, and performs the hardware actions the core answers with *before the next
  sample*; it wakes for the core's next timer or when an event is submitted, else at most
  every idle tick (50 ms); when the hardware pushes every change (``pushed=True``) at most
  every ``PUSHED_NET_S`` (1 s) while a contactor is commanded closed and every
  ``PUSHED_IDLE_NET_S`` (5 s) while none is: the safety island (``chargepoint.island``)
  opens contactors on its own and pushes every pin change (``hardware_changed`` samples at
  once) and mains changes (``wake``); the net only finds an island that fell silent. It
  never awaits the network, the store or the meter: the only ``await`` in it is its sleep.
- the **meter pollers** (``chargepoint.meter_poller``): one per meter, feeding
  ``MeterUpdated`` / meter faults to the core; every ``meter_interval_s`` while the connector
  is busy (``_meter_busy``), every ``idle_meter_interval_s`` otherwise. Every event but their
  own ``MeterUpdated`` nudges an idle poller: a connector that became busy is polled at once.
- the **reader loop**: cards become ``CardPresented``; reader failures become faults.

The jobs around them are modules of their own: ``chargepoint.inputs`` turns what is read into
events (one table, changes only), ``chargepoint.performer`` carries out the core's actions
(protocol ones go to the adapter, which persists and sends them in its own tasks),
``chargepoint.persistence`` writes the runtime's durable facts (availability, latched faults,
the last meter reading) from one background task, ``chargepoint.technician`` serves the
technician's reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from chargepoint.aio import cancel_all
from chargepoint.core import actions as act
from chargepoint.core import events as ev
from chargepoint.core.station import Station
from chargepoint.core.types import ConnectorStatus, FaultKind, StopReason
from chargepoint.core.view import ConnectorView
from chargepoint.inputs import CONNECTOR_INPUTS, InputTracker
from chargepoint.logs import context
from chargepoint.meter_poller import MeterPoller
from chargepoint.performer import ActionPerformer
from chargepoint.persistence import Persistence
from chargepoint.ports import ProtocolAdapter
from chargepoint.store.api import StoreAPI
from chargepoint.technician import TokenDiversion, hardware_view
from hardware.interfaces import (
    ConnectorHardware,
    MeterFault,
    MeterReading,
    MismatchKind,
    ReaderFailure,
    ReaderRecovered,
    StationHardware,
    Token,
)

log = logging.getLogger("chargepoint.runtime")

DURABLE_WAIT_S = 5.0  # longest a CSMS request's answer waits for the station's durable writes

_MISMATCH_FAULTS = {
    MismatchKind.WELDED: FaultKind.WELDED,
    MismatchKind.FAILED_TO_CLOSE: FaultKind.CONTACTOR,
    MismatchKind.LOCK_FAILED: FaultKind.LOCK,
    MismatchKind.UNLOCK_FAILED: FaultKind.LOCK,
}


# The control loop's longest sleep when the hardware pushes every change: while a contactor
# is commanded closed, and while none is (nothing to open; a silent island is still found).
PUSHED_NET_S = 1.0
PUSHED_IDLE_NET_S = 5.0


class Controller:
    """Runs one station: core + hardware, with a protocol adapter attached.

    Implements ``chargepoint.ports.StationPort`` for the adapter. Create it, ``attach()`` an
    adapter, then ``await run()``; ``stop()`` ends the tasks after a safe stop of every session.
    """

    def __init__(
        self,
        *,
        station: Station,
        hardware: StationHardware,
        store: StoreAPI,
        clock: Callable[[], float] = time.monotonic,
        tick_s: float = 0.01,
        idle_tick_s: float = 0.05,
        meter_interval_s: float = 1.0,
        idle_meter_interval_s: float | None = None,
        pushed: bool = False,
    ) -> None:
        self._station = station
        self._hw = hardware
        self._store = store
        self._clock = clock
        self._tick_s = tick_s
        self._idle_tick_s = max(idle_tick_s, tick_s)
        # pushed: the hardware reports every change (``hardware_changed`` / ``wake``), so with
        # no timer due the loop sleeps up to PUSHED_NET_S, not one idle tick.
        self._net_s = max(PUSHED_NET_S, self._idle_tick_s) if pushed else self._idle_tick_s
        self._idle_net_s = max(PUSHED_IDLE_NET_S, self._net_s) if pushed else self._net_s
        self._wake = asyncio.Event()
        self._meter_interval_s = meter_interval_s
        idle_s = meter_interval_s if idle_meter_interval_s is None else idle_meter_interval_s
        self._meters = {
            hw.connector: MeterPoller(hw.meter, interval_s=meter_interval_s,
                                      idle_interval_s=idle_s,
                                      busy=partial(self._meter_busy, hw),
                                      on_result=partial(self._metered, hw), clock=clock)
            for hw in hardware.connectors if hw.meter is not None}
        self.listeners: list[Callable[[ev.Event | act.Action], None]] = []
        self._performer = ActionPerformer(hardware, self.listeners)
        self._persistence = Persistence(store)
        self._inputs = InputTracker([c.connector for c in hardware.connectors])
        self._cards = TokenDiversion()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self.last_tick = clock()
        self.due_by = self.last_tick  # the control loop runs again by then at the latest
        self.restart: str | None = None  # "soft" / "hard" once a Reset asked for a restart
        self.restart_requested = asyncio.Event()
        self._mains_ok = True  # as last seen by the control loop (True without an input)

    # -- StationPort -----------------------------------------------------------------------
    @property
    def store(self) -> StoreAPI:
        return self._store

    @property
    def connector_count(self) -> int:
        return len(self._hw.connectors)

    @property
    def station(self) -> Station:
        return self._station

    @property
    def hardware(self) -> StationHardware:
        return self._hw

    def now(self) -> float:
        return self._clock()

    def submit(self, event: ev.Event) -> list[act.Action]:
        """Feed one event to the core and perform what it answers (hardware first)."""
        now = self._clock()
        actions = self._station.handle(event, now)
        self._wake.set()  # a timer may have been set: the loop computes its sleep again
        if isinstance(event, ev.FaultRaised | ev.FaultCleared):
            _log_fault(event)
        for listener in self.listeners:
            listener(event)
        self._performer.perform(actions, now)
        if not isinstance(event, ev.MeterUpdated):  # the pollers' own events change nothing
            for poller in self._meters.values():
                poller.nudge()
        if isinstance(event, ev.AvailabilityChanged) or any(
                isinstance(a, act.ReportStatus) for a in actions):
            self._persistence.availability(self._station.snapshot())  # Inoperative: OCTT 034
        return actions

    def meter_reading(self, connector: int) -> MeterReading | None:
        poller = self._meters.get(connector)
        return None if poller is None else poller.latest

    def meter_reading_age(self, connector: int) -> float | None:
        """Seconds since ``meter_reading(connector)`` was taken; None without one."""
        poller = self._meters.get(connector)
        return None if poller is None else poller.age_s()

    async def fresh_meter_reading(self, connector: int) -> MeterReading | None:
        """A reading at most one ``meter_interval_s`` old: an idle meter is polled now."""
        poller = self._meters.get(connector)
        return None if poller is None else await poller.fresh(self._meter_interval_s)

    def observe(self, callback: Callable[[ev.Event | act.Action], None]) -> Callable[[], None]:
        self.listeners.append(callback)
        return lambda: self.listeners.remove(callback) if callback in self.listeners else None

    def offered_current(self, connector: int) -> float | None:
        self.hardware_of(connector)  # validates the id
        return self._station.snapshot().connectors[connector - 1].pwm_a

    def connector_view(self, connector: int) -> ConnectorView:
        self.hardware_of(connector)  # validates the id
        return self._station.snapshot().connectors[connector - 1]

    def request_restart(self, hard: bool) -> None:
        reason = StopReason.HARD_RESET if hard else StopReason.SOFT_RESET
        self.submit(ev.StopRequested(0, reason))
        self.restart = "hard" if hard else "soft"
        self.restart_requested.set()

    async def durable(self) -> None:
        """Bounded: an answer is never held by a writer that stopped (shutdown) or hangs."""
        try:
            await asyncio.wait_for(self._persistence.flush(), DURABLE_WAIT_S)
        except TimeoutError:
            log.warning("durable writes not done after %.0f s: answering anyway",
                        DURABLE_WAIT_S)

    # -- wiring ----------------------------------------------------------------------------
    def attach(self, adapter: ProtocolAdapter) -> None:
        """Attach the protocol adapter; actions produced before this are handed over now."""
        self._performer.attach(adapter)

    def hardware_of(self, connector: int) -> ConnectorHardware:
        return self._performer.hardware_of(connector)

    async def run(self) -> None:
        """Start the station and run until ``stop()``."""
        await self._persistence.load()
        if self._stopping:  # stop() came while the store was read
            return
        now = self._clock()
        self._performer.perform(self._station.startup(now), now)
        self._tasks = [asyncio.create_task(self._control_loop(), name="control-loop")]
        self._tasks.append(asyncio.create_task(self._persistence.run(), name="store-writer"))
        for connector, poller in self._meters.items():
            self._tasks.append(asyncio.create_task(poller.run(), name=f"meter-{connector}"))
        if self._hw.reader is not None:
            self._tasks.append(asyncio.create_task(self._reader_loop(), name="reader"))
        results = await asyncio.gather(*self._tasks, return_exceptions=True)
        for result in results:
            if isinstance(result, Exception):
                log.error("station task failed: %r", result)

    async def stop(self, *, safe_stop_timeout_s: float = 4.0) -> None:
        """Stop every session safely (PWM off, wait for B, open), then end the tasks."""
        if self._stopping:
            return
        self._stopping = True
        started = bool(self._tasks)  # stopped before run(): the core has no session to stop
        if started and not self.restart:
            self.submit(ev.StopRequested(0, StopReason.REBOOT))
        deadline = self._clock() + safe_stop_timeout_s
        while started and self._clock() < deadline and self._any_closed():
            await asyncio.sleep(self._tick_s)
        if started and self._any_closed():  # out of time: the core opens at once
            self.submit(ev.StopRequested(0, StopReason.EMERGENCY_STOP))
        now = self._clock()
        for hw in self._hw.connectors:  # whatever happened: leave the station safe
            hw.contactor.open(now)
            hw.pilot.set_off()
        with contextlib.suppress(TimeoutError):  # what the loop produced is written first
            await asyncio.wait_for(self._persistence.flush(), 5.0)
        await cancel_all(self._tasks)
        if self._hw.reader is not None:
            await self._hw.reader.close()

    def _any_closed(self) -> bool:
        return any(hw.contactor.commanded_closed for hw in self._hw.connectors)

    # -- the control loop ------------------------------------------------------------------
    async def _control_loop(self) -> None:
        timers = self._performer.timers
        while True:
            self._wake.clear()
            now = self._clock()
            self.last_tick = now
            try:
                self._sample(now)
            except Exception:  # a broken sample must not stop the loop that opens contactors
                log.exception("control loop sample failed")
            # The safety island opens contactors on its own and pushes every pin change
            # (``hardware_changed``); this loop only has to be on time for the core's timers.
            # It sleeps until the next one is due or something changes (``wake``: an event
            # was submitted, the hardware pushed a change), at most ``_net_s`` while a
            # contactor is commanded closed, else ``_idle_net_s`` (both one idle tick for
            # hardware that does not push).
            net = self._net_s if self._any_closed() else self._idle_net_s
            next_due = min(timers.values(), default=now + net)
            delay = min(net, max(self._tick_s / 10, next_due - now))
            self.due_by = now + delay
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()

    def wake(self) -> None:
        """Something the control loop samples changed (the island pushed it): run it now."""
        self._wake.set()

    @property
    def mains_ok(self) -> bool | None:
        """Mains as the control loop last saw it; ``None`` without a power-fail input."""
        return None if self._hw.power is None else self._mains_ok

    def _sample(self, now: float) -> None:
        self._sample_power()
        for hw in self._hw.connectors:
            self._sample_guarded(hw, now)
        timers = self._performer.timers
        due = [tid for tid, deadline in timers.items() if deadline <= now]
        for tid in due:
            if timers.pop(tid, None) is not None:
                self.submit(ev.TimerExpired(tid))

    def hardware_changed(self, connector: int) -> None:
        """The hardware of ``connector`` reported a change (the safety island sends one
        message per change): sample it now, so that no state between two ticks is missed."""
        if self._stopping or not self._tasks:  # before run(): startup() comes first
            return
        for hw in self._hw.connectors:
            if hw.connector == connector:
                self._sample_guarded(hw, self._clock())

    def _sample_power(self) -> None:
        """OCTT 1.6 032_1, on a backup supply: once per outage, stop every transaction with
        reason PowerLoss while the CSMS can still hear it. On return nothing resumes."""
        power = self._hw.power
        if power is None or power.mains_ok() == self._mains_ok:
            return
        self._mains_ok = not self._mains_ok
        if self._mains_ok:
            log.info("mains power is back")
        else:
            log.warning("mains power failed: stopping every transaction (PowerLoss)")
            self.submit(ev.StopRequested(0, StopReason.POWER_LOSS))

    def _sample_guarded(self, hw: ConnectorHardware, now: float) -> None:
        """Sample one connector; a hardware read that raises must neither starve the other
        connectors and the timers nor leave this one charging blind: it becomes a blocking
        fault (the contactor opens) until reads succeed again. Logged once per episode."""
        c = hw.connector
        try:
            self._sample_connector(hw, now)
        except Exception as exc:
            if not self._inputs.in_read_failure(c):
                log.exception("connector %d: hardware read failed", c,
                              extra=context(connector=c))
            self._submit_all(self._inputs.read_failed(c, str(exc)))
            return
        if self._inputs.in_read_failure(c):
            log.info("connector %d: hardware reads again", c, extra=context(connector=c))
        self._submit_all(self._inputs.read_ok(c))

    def _sample_connector(self, hw: ConnectorHardware, now: float) -> None:
        """Every input of ``CONNECTOR_INPUTS`` in table order: each change's events are
        submitted (and the actions performed) before the next input is read."""
        reading = hw.pilot.read()
        for item in CONNECTOR_INPUTS:
            if item.present(hw):
                self._submit_all(self._inputs.changed(hw.connector, item,
                                                      item.read(hw, reading)))
        self._check_relays(hw, now)

    def _check_relays(self, hw: ConnectorHardware, now: float) -> None:
        found: set[FaultKind] = set()
        mismatches = [hw.contactor.check(now)]
        if hw.lock is not None:
            mismatches.append(hw.lock.check(now))
        for mismatch in mismatches:
            if mismatch is not None:
                found.add(_MISMATCH_FAULTS[mismatch.kind])
        for event in self._inputs.relays(hw.connector, found):
            self.submit(event)
            if isinstance(event, ev.FaultRaised) and event.kind.latched:
                self._persistence.latched_fault(hw.connector, event.kind, True)

    def _submit_all(self, events: list[ev.Event]) -> None:
        for event in events:
            self.submit(event)

    def clear_fault(self, connector: int) -> list[str]:
        """A technician clears latched faults on ``connector`` after repair."""
        self.hardware_of(connector)  # validates the id
        cleared = [k.value for k in FaultKind if k.latched]
        for kind in FaultKind:
            if kind.latched:
                self.submit(ev.FaultCleared(connector, kind, technician=True))
                self._persistence.latched_fault(connector, kind, False)
        self._inputs.forget_relays(connector)
        return cleared

    # -- meter and reader ------------------------------------------------------------------
    def _meter_busy(self, hw: ConnectorHardware) -> bool:
        """Energy flows or may start soon on ``hw``: its meter is polled at the fast rate
        (a contactor commanded closed, a session, or one starting: Preparing)."""
        if hw.contactor.commanded_closed:
            return True
        view = self._station.snapshot().connectors[hw.connector - 1]
        return view.session is not None or view.status is ConnectorStatus.PREPARING

    def _metered(self, hw: ConnectorHardware, result: MeterReading | MeterFault,
                 started: float) -> None:
        """One poll of ``hw``'s meter, taken at ``started``: into the core and the store."""
        c = hw.connector
        if isinstance(result, MeterFault):
            self._submit_all(self._inputs.meter(c, result.reason))
            return
        self._submit_all(self._inputs.meter(c, None))
        self.submit(ev.MeterUpdated(c, result.energy_import_wh, result.power_w))
        self._persistence.meter_reading(c, result.energy_import_wh, started,
                                        charging=hw.contactor.commanded_closed)

    async def _reader_loop(self) -> None:
        assert self._hw.reader is not None
        async for item in self._hw.reader.events():
            if isinstance(item, Token):
                if not self._cards.take(item):  # a technician's `rfid read` is no session
                    self.submit(ev.CardPresented(item.uid))
            elif isinstance(item, ReaderFailure):
                self.submit(ev.FaultRaised(0, FaultKind.READER, item.reason))
            elif isinstance(item, ReaderRecovered):
                self.submit(ev.FaultCleared(0, FaultKind.READER))

    @property
    def card_awaited(self) -> bool:
        """A technician's ``rfid read`` waits for the next card."""
        return self._cards.awaited

    async def next_token(self, timeout_s: float) -> Token | None:
        """The next card presented, diverted from the core (for ``chargepoint rfid read``)."""
        return await self._cards.next_token(timeout_s)

    # -- views -----------------------------------------------------------------------------
    def hardware_view(self, connector: int) -> dict[str, Any]:
        """What the hardware says right now (for status and selftest)."""
        return hardware_view(self.hardware_of(connector), self._inputs)


def _log_fault(event: ev.FaultRaised | ev.FaultCleared) -> None:
    extra = context(connector=event.connector)
    if isinstance(event, ev.FaultRaised):
        log.warning("connector %d: fault %s (%s) %s", event.connector, event.kind.value,
                    event.kind.error_code, event.info, extra=extra)
    else:
        log.info("connector %d: fault %s cleared%s", event.connector, event.kind.value,
                 " by a technician" if event.technician else "", extra=extra)
