"""The runtime: the asyncio layer around the pure core.

It owns three kinds of tasks and nothing else:

- the **control loop** (``_control_loop``): it samples the mains supervision input, the pilot,
  the feedback contacts, the RCD input and the relay supervisors, turns every change into a
  core event, and performs the hardware actions the core answers with *before the next
  sample*; it wakes for the core's next timer, at most every idle tick (50 ms). The hardware
  is the safety island's (``chargepoint.island``), which opens contactors on its own and
  pushes every pin change (``hardware_changed`` samples at once). It never awaits the
  network, the store or the meter: the only ``await`` in it is its sleep.
- the **meter pollers**: one per meter, feeding ``MeterUpdated`` / meter faults to the core.
- the **reader loop**: cards become ``CardPresented``; reader failures become faults.

Protocol actions (transactions, statuses, authorization requests) are handed to the protocol
adapter, which persists and sends them in its own tasks (durable before acknowledged).
Small durable facts (last meter reading, latched faults, availability) are written by a single
background writer so that the control loop never waits on sqlite.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from chargepoint.aio import cancel_all
from chargepoint.core import actions as act
from chargepoint.core import events as ev
from chargepoint.core.station import Station
from chargepoint.core.types import FaultKind, PilotState, StopReason
from chargepoint.logs import context
from chargepoint.ports import ProtocolAction, ProtocolAdapter
from chargepoint.store.api import StoreAPI
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

# How often a changed meter reading is persisted: it becomes the meterStop of a transaction
# that a power cut stops (reason PowerLoss), so while charging every poll counts; idle, the
# register barely moves and each write is an fsync on the SD card.
METER_SAVE_CHARGING_S = 1.0
METER_SAVE_IDLE_S = 60.0

_MISMATCH_FAULTS = {
    MismatchKind.WELDED: FaultKind.WELDED,
    MismatchKind.FAILED_TO_CLOSE: FaultKind.CONTACTOR,
    MismatchKind.LOCK_FAILED: FaultKind.LOCK,
    MismatchKind.UNLOCK_FAILED: FaultKind.LOCK,
}


@dataclass(slots=True)
class _Observed:
    """What the control loop last saw of one connector (to report changes only)."""

    pilot: PilotState | None = None
    diode_ok: bool = True
    mirror: bool | None = None
    locked: bool | None = None
    rcd: bool = False
    cable: int | None = -1  # -1: never read
    mismatches: set[FaultKind] = field(default_factory=set)
    meter_fault: bool = False
    read_error: bool = False


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
    ) -> None:
        self._station = station
        self._hw = hardware
        self._store = store
        self._clock = clock
        self._tick_s = tick_s
        self._idle_tick_s = max(idle_tick_s, tick_s)
        self._meter_interval_s = meter_interval_s
        self._adapter: ProtocolAdapter | None = None
        self._pending_protocol: list[ProtocolAction] = []
        self._timers: dict[str, float] = {}
        self._observed = {c.connector: _Observed() for c in hardware.connectors}
        self._readings: dict[int, MeterReading] = {}
        self._writes: asyncio.Queue[Callable[[], None]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self.last_tick = clock()
        self.restart: str | None = None  # "soft" / "hard" once a Reset asked for a restart
        self.restart_requested = asyncio.Event()
        self.listeners: list[Callable[[ev.Event | act.Action], None]] = []
        self._token_waiters: list[asyncio.Future[Token]] = []
        self._operative: dict[int, bool] = {}
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
        if isinstance(event, ev.FaultRaised | ev.FaultCleared):
            _log_fault(event)
        for listener in self.listeners:
            listener(event)
        self._perform(actions, now)
        if any(isinstance(a, act.ReportStatus) for a in actions):
            self._persist_availability()
        return actions

    def _persist_availability(self) -> None:
        """Inoperative survives a reboot: write availability changes (OCTT 034)."""
        view = self._station.snapshot()
        now_operative = {0: view.operative, **{c.id: c.operative for c in view.connectors}}
        for connector, operative in now_operative.items():
            if self._operative.get(connector, True) != operative:
                self._write(partial(self._store.set_availability, connector, operative))
        self._operative = now_operative

    def meter_reading(self, connector: int) -> MeterReading | None:
        return self._readings.get(connector)

    def observe(self, callback: Callable[[ev.Event | act.Action], None]) -> Callable[[], None]:
        self.listeners.append(callback)
        return lambda: self.listeners.remove(callback) if callback in self.listeners else None

    def offered_current(self, connector: int) -> float | None:
        self.hardware_of(connector)  # validates the id
        return self._station.snapshot().connectors[connector - 1].pwm_a

    def request_restart(self, hard: bool) -> None:
        reason = StopReason.HARD_RESET if hard else StopReason.SOFT_RESET
        self.submit(ev.StopRequested(0, reason))
        self.restart = "hard" if hard else "soft"
        self.restart_requested.set()

    # -- wiring ----------------------------------------------------------------------------
    def attach(self, adapter: ProtocolAdapter) -> None:
        """Attach the protocol adapter; actions produced before this are handed over now."""
        self._adapter = adapter
        pending, self._pending_protocol = self._pending_protocol, []
        for action in pending:
            adapter.perform(action)

    def hardware_of(self, connector: int) -> ConnectorHardware:
        for hw in self._hw.connectors:
            if hw.connector == connector:
                return hw
        raise ValueError(f"no connector {connector} (this station has {self.connector_count})")

    async def run(self) -> None:
        """Start the station and run until ``stop()``."""
        now = self._clock()
        self._operative = dict(await asyncio.to_thread(self._store.availability))
        self._perform(self._station.startup(now), now)
        self._tasks = [asyncio.create_task(self._control_loop(), name="control-loop")]
        self._tasks.append(asyncio.create_task(self._writer(), name="store-writer"))
        for hw in self._hw.connectors:
            if hw.meter is not None:
                self._tasks.append(
                    asyncio.create_task(self._meter_loop(hw), name=f"meter-{hw.connector}")
                )
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
        if not self.restart:
            self.submit(ev.StopRequested(0, StopReason.REBOOT))
        deadline = self._clock() + safe_stop_timeout_s
        while self._clock() < deadline and self._any_closed():
            await asyncio.sleep(self._tick_s)
        if self._any_closed():  # out of time: the core opens at once, keeping each reason
            self.submit(ev.StopRequested(0, StopReason.EMERGENCY_STOP))
        now = self._clock()
        for hw in self._hw.connectors:  # whatever happened: leave the station safe
            hw.contactor.open(now)
            hw.pilot.set_off()
        with contextlib.suppress(TimeoutError):  # what the loop produced is written first
            await asyncio.wait_for(self._writes.join(), 5.0)
        await cancel_all(self._tasks)
        if self._hw.reader is not None:
            await self._hw.reader.close()

    def _any_closed(self) -> bool:
        return any(hw.contactor.commanded_closed for hw in self._hw.connectors)

    # -- performing actions ----------------------------------------------------------------
    def _perform(self, actions: list[act.Action], now: float) -> None:
        for action in actions:
            for listener in self.listeners:
                listener(action)
            match action:
                case act.SetPwm(connector=c, duty_percent=duty):
                    self.hardware_of(c).pilot.set_duty(duty)
                case act.PwmOff(connector=c):
                    self.hardware_of(c).pilot.set_off()
                case act.SetStateF(connector=c):
                    self.hardware_of(c).pilot.set_state_f()
                case act.CloseContactor(connector=c):
                    self.hardware_of(c).contactor.close(now)
                case act.OpenContactor(connector=c):
                    self.hardware_of(c).contactor.open(now)
                case act.LockConnector(connector=c):
                    lock = self.hardware_of(c).lock
                    if lock is not None:
                        lock.lock(now)
                case act.UnlockConnector(connector=c):
                    lock = self.hardware_of(c).lock
                    if lock is not None:
                        lock.unlock(now)
                case act.StartTimer(timer_id=tid, deadline=deadline):
                    self._timers[tid] = deadline
                case act.CancelTimer(timer_id=tid):
                    self._timers.pop(tid, None)
                case act.ClearReservation(reservation_id=rid):
                    self._write(partial(self._store.reservation_remove, rid))
                case (
                    act.StartTransaction()
                    | act.StopTransaction()
                    | act.ReportStatus()
                    | act.RequestAuthorization()
                ):
                    _log_protocol_action(action)
                    if self._adapter is None:
                        self._pending_protocol.append(action)
                    else:
                        self._adapter.perform(action)
                case act.Reply():
                    pass
                case _:
                    log.warning("unhandled action %r", action)

    def _write(self, job: Callable[[], None]) -> None:
        """Queue a small durable write for the background writer (never blocks the caller)."""
        self._writes.put_nowait(job)

    async def _writer(self) -> None:
        while True:
            job = await self._writes.get()
            try:
                await asyncio.to_thread(job)
            except Exception:
                log.exception("durable write failed")
            finally:
                self._writes.task_done()

    # -- the control loop ------------------------------------------------------------------
    async def _control_loop(self) -> None:
        while True:
            now = self._clock()
            self.last_tick = now
            try:
                self._sample(now)
            except Exception:  # a broken sample must not stop the loop that opens contactors
                log.exception("control loop sample failed")
            # The safety island opens contactors on its own and pushes every pin change
            # (``hardware_changed``); this loop only has to be on time for the core's timers.
            # It sleeps until the next one is due, at most one idle tick (a safety net for
            # hardware that does not push).
            next_due = min(self._timers.values(), default=now + self._idle_tick_s)
            await asyncio.sleep(min(self._idle_tick_s, max(self._tick_s / 10, next_due - now)))

    @property
    def mains_ok(self) -> bool | None:
        """Mains as the control loop last saw it; ``None`` without a power-fail input."""
        return None if self._hw.power is None else self._mains_ok

    def _sample(self, now: float) -> None:
        self._sample_power()
        for hw in self._hw.connectors:
            self._sample_guarded(hw, now)
        due = [tid for tid, deadline in self._timers.items() if deadline <= now]
        for tid in due:
            if self._timers.pop(tid, None) is not None:
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
        seen = self._observed[hw.connector]
        try:
            self._sample_connector(hw, now)
        except Exception as exc:
            if not seen.read_error:
                seen.read_error = True
                log.exception("connector %d: hardware read failed", hw.connector,
                              extra=context(connector=hw.connector))
                self.submit(ev.FaultRaised(hw.connector, FaultKind.PILOT,
                                           f"hardware read failed: {exc}"))
            return
        if seen.read_error:
            seen.read_error = False
            log.info("connector %d: hardware reads again", hw.connector,
                     extra=context(connector=hw.connector))
            self.submit(ev.FaultCleared(hw.connector, FaultKind.PILOT))
            seen.diode_ok = True  # a diode fault still present is raised again next tick

    def _sample_connector(self, hw: ConnectorHardware, now: float) -> None:
        seen = self._observed[hw.connector]
        c = hw.connector
        reading = hw.pilot.read()
        state = PilotState(reading.state.value)
        if state is not seen.pilot:
            seen.pilot = state
            self.submit(ev.PilotChanged(c, state))
        if reading.diode_ok != seen.diode_ok:
            seen.diode_ok = reading.diode_ok
            if reading.diode_ok:
                self.submit(ev.FaultCleared(c, FaultKind.PILOT))
            else:
                self.submit(ev.FaultRaised(c, FaultKind.PILOT, "diode check failed"))
        mirror = hw.contactor.mirror_closed()
        if mirror != seen.mirror:
            seen.mirror = mirror
            self.submit(ev.ContactorFeedback(c, mirror))
        if hw.lock is not None:
            locked = hw.lock.is_locked()
            if locked != seen.locked:
                seen.locked = locked
                self.submit(ev.LockFeedback(c, locked))
        if hw.rcd is not None:
            tripped = hw.rcd.tripped()
            if tripped != seen.rcd:
                seen.rcd = tripped
                if tripped:
                    self.submit(ev.FaultRaised(c, FaultKind.RCD, "residual current trip"))
                else:
                    self.submit(ev.FaultCleared(c, FaultKind.RCD))
        if hw.proximity is not None:
            cable = hw.proximity.cable_rating_a()
            if cable != seen.cable:
                seen.cable = cable
                self.submit(ev.CableRating(c, cable))
        self._check_relays(hw, seen, now)

    def _check_relays(self, hw: ConnectorHardware, seen: _Observed, now: float) -> None:
        found: set[FaultKind] = set()
        mismatches = [hw.contactor.check(now)]
        if hw.lock is not None:
            mismatches.append(hw.lock.check(now))
        for mismatch in mismatches:
            if mismatch is not None:
                found.add(_MISMATCH_FAULTS[mismatch.kind])
        for kind in found - seen.mismatches:
            self.submit(ev.FaultRaised(hw.connector, kind, kind.error_code))
            if kind.latched:
                self._write(partial(self._store.set_latched_fault, hw.connector, kind.value, True))
        for kind in seen.mismatches - found:
            if not kind.latched:
                self.submit(ev.FaultCleared(hw.connector, kind))
        seen.mismatches = found

    def clear_fault(self, connector: int) -> list[str]:
        """A technician clears latched faults on ``connector`` after repair."""
        self.hardware_of(connector)  # validates the id
        cleared = [k.value for k in FaultKind if k.latched]
        for kind in FaultKind:
            if kind.latched:
                self.submit(ev.FaultCleared(connector, kind, technician=True))
                self._write(partial(self._store.set_latched_fault, connector, kind.value, False))
        self._observed[connector].mismatches.clear()
        return cleared

    # -- meter and reader ------------------------------------------------------------------
    async def _meter_loop(self, hw: ConnectorHardware) -> None:
        assert hw.meter is not None
        seen = self._observed[hw.connector]
        last_saved, saved_wh = -METER_SAVE_IDLE_S, -1.0
        while True:
            started = self._clock()
            result = await hw.meter.poll()
            if isinstance(result, MeterFault):
                if not seen.meter_fault:
                    seen.meter_fault = True
                    self.submit(ev.FaultRaised(hw.connector, FaultKind.METER, result.reason))
            else:
                if seen.meter_fault:
                    seen.meter_fault = False
                    self.submit(ev.FaultCleared(hw.connector, FaultKind.METER))
                self._readings[hw.connector] = result
                self.submit(ev.MeterUpdated(hw.connector, result.energy_import_wh, result.power_w))
                every = METER_SAVE_CHARGING_S if self._station_charging(hw.connector) else (
                    METER_SAVE_IDLE_S)
                if result.energy_import_wh != saved_wh and started - last_saved >= every:
                    last_saved, saved_wh = started, result.energy_import_wh
                    self._write(self._meter_saver(hw.connector, result.energy_import_wh))
            elapsed = self._clock() - started
            await asyncio.sleep(max(0.0, self._meter_interval_s - elapsed))

    def _meter_saver(self, connector: int, energy_wh: float) -> Callable[[], None]:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        return lambda: self._store.save_meter_reading(connector, energy_wh, stamp)

    def _station_charging(self, connector: int) -> bool:
        return self.hardware_of(connector).contactor.commanded_closed

    async def _reader_loop(self) -> None:
        assert self._hw.reader is not None
        async for item in self._hw.reader.events():
            if isinstance(item, Token):
                waiters, self._token_waiters = self._token_waiters, []
                live = [w for w in waiters if not w.done()]
                for waiter in live:  # a technician's `rfid read`: the card is not a session
                    waiter.set_result(item)
                if not live:
                    self.submit(ev.CardPresented(item.uid))
            elif isinstance(item, ReaderFailure):
                self.submit(ev.FaultRaised(0, FaultKind.READER, item.reason))
            elif isinstance(item, ReaderRecovered):
                self.submit(ev.FaultCleared(0, FaultKind.READER))

    async def next_token(self, timeout_s: float) -> Token | None:
        """The next card presented, diverted from the core (for ``chargepoint rfid read``)."""
        waiter: asyncio.Future[Token] = asyncio.get_running_loop().create_future()
        self._token_waiters.append(waiter)
        try:
            return await asyncio.wait_for(waiter, timeout_s)
        except TimeoutError:
            return None
        finally:
            if waiter in self._token_waiters:
                self._token_waiters.remove(waiter)

    # -- views -----------------------------------------------------------------------------
    def hardware_view(self, connector: int) -> dict[str, Any]:
        """What the hardware says right now (for status and selftest)."""
        hw = self.hardware_of(connector)
        seen = self._observed[connector]
        return {
            "pilot": seen.pilot.value if seen.pilot else None,
            "contactor": "closed" if hw.contactor.mirror_closed() else "open",
            "lock": None if hw.lock is None else ("locked" if hw.lock.is_locked() else "unlocked"),
        }


def _log_fault(event: ev.FaultRaised | ev.FaultCleared) -> None:
    extra = context(connector=event.connector)
    if isinstance(event, ev.FaultRaised):
        log.warning("connector %d: fault %s (%s) %s", event.connector, event.kind.value,
                    event.kind.error_code, event.info, extra=extra)
    else:
        log.info("connector %d: fault %s cleared%s", event.connector, event.kind.value,
                 " by a technician" if event.technician else "", extra=extra)


def _log_protocol_action(action: ProtocolAction) -> None:
    """The one place that logs every connector status change and transaction boundary."""
    match action:
        case act.ReportStatus(connector=c, status=status, error_code=code):
            log.info("connector %d: %s%s", c, status.value,
                     "" if code == "NoError" else f" ({code})", extra=context(connector=c))
        case act.StartTransaction(connector=c, id_tag=tag, meter_start_wh=wh):
            log.info("connector %d: transaction starts for %s at %.0f Wh", c, tag, wh,
                     extra=context(connector=c))
        case act.StopTransaction(connector=c, reason=reason, meter_stop_wh=wh):
            log.info("connector %d: transaction stops (%s) at %.0f Wh", c, reason.value, wh,
                     extra=context(connector=c))
        case _:
            pass
