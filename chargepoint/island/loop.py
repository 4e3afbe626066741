"""The island's loop: sample every connector's pins, open what must open, obey commands.

Synchronous on purpose: one thread, no asyncio, no disk, no network, no logging on the hot path
(a log line is written only when something happens). Between ticks it waits in ``select`` on
the link to the main process, so a command is carried out as soon as it arrives and a tick is
never later than its deadline because of a command.

Tick: ``tick_s`` (2 ms) while a contactor is closed, its mirror reads closed or a relay test
is settling; otherwise, when nothing live can be left energised, ``idle_tick_s`` (100 ms), or
``rest_tick_s`` (200 ms) while every connector's pilot reads A (nothing plugged anywhere). A
pilot whose decoder saw a change it has not confirmed yet (``settling``) is looked at again
after ``CONFIRM_TICK_S``, so a plug-in is reported within ``rest_tick_s`` plus the debounce
(about 240 ms with the CP driver's three bursts; the simulated pilot needs no debounce).

Messages to the main process only on a change (``state``, ``power``), on an event (``opened``,
``refused``) and ``alive`` every ``wire.ALIVE_S``: a tick that changes nothing sends nothing.
"""

from __future__ import annotations

import gc
import logging
import select
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chargepoint.island import rules, wire
from chargepoint.island.rules import Lease, LeaseKind, OpenReason, Sample
from hardware.interfaces import ConnectorHardware, PilotReading, PilotState, PowerSupervisor

log = logging.getLogger("chargepoint.island")

TEST_SETTLE_S = 0.06  # after lifting state F for a relay test: let the EV's pilot settle
# A change the pilot decoder has seen but not confirmed: sample again this soon (its three
# bursts then span at least 40 ms, which still filters a bouncing plug).
CONFIRM_TICK_S = 0.02


@dataclass(slots=True)
class _Connector:
    """The island's knowledge of one connector."""

    hw: ConnectorHardware
    lease: Lease | None = None
    sample: Sample = field(default_factory=lambda: Sample(pilot=PilotState.F))
    sent: dict[str, Any] = field(default_factory=dict)
    test_at: float | None = None  # a relay test waits for the pilot to settle until then
    restore_f: bool = False  # the pilot was in state F before a relay test lifted it
    read_error: str | None = None
    settling: bool = False  # the pilot's decoder awaits more bursts to confirm a change
    volts: tuple[float, float | None] = (0.0, None)  # last CP high / low level (for selftest)


class Island:
    """Owns one station's safety pins. ``run()`` until the main process says ``shutdown`` or
    goes away; every output is left safe when it returns (``safe_stop``).

    ``on_open(connector, reason, perf_counter_at, late_s)`` is told every opening of a closed
    contactor (the bench timestamps reactions with it); ``late_s`` is how long after its
    lease ran out a contactor opened for ``LEASE``, else ``None``."""

    def __init__(
        self,
        connectors: list[ConnectorHardware],
        power: PowerSupervisor | None,
        link: socket.socket,
        *,
        clock: Callable[[], float] = time.monotonic,
        tick_s: float = 0.002,
        idle_tick_s: float = 0.1,
        rest_tick_s: float = 0.2,
        hello: dict[str, Any] | None = None,
        on_open: Callable[[int, OpenReason, float, float | None], None] | None = None,
        full_gc_every_s: float | None = None,
    ) -> None:
        self._connectors = {hw.connector: _Connector(hw) for hw in connectors}
        self._power = power
        self._mains_ok: bool | None = None
        self._link = link
        self._link.setblocking(False)
        self._clock = clock
        self._tick_s = tick_s
        self._idle_tick_s = max(idle_tick_s, tick_s)
        self._rest_tick_s = max(rest_tick_s, self._idle_tick_s)
        self._confirm_tick_s = min(max(CONFIRM_TICK_S, tick_s), self._idle_tick_s)
        self._hello = {
            "op": "hello",
            "connectors": sorted(self._connectors),
            "parts": {str(hw.connector): _parts(hw) for hw in connectors},
            "power": power is not None,
            **(hello or {}),
        }
        self._on_open = on_open
        self._full_gc_every_s = full_gc_every_s
        self._full_gc_at: float | None = None  # counted from the first tick
        self._alive_at = 0.0
        self._stop: OpenReason | None = None

    # -- running ---------------------------------------------------------------------------
    def request_stop(self, reason: OpenReason = OpenReason.SHUTDOWN) -> None:
        """Ask ``run()`` to end at its next tick (safe from a signal handler)."""
        self._stop = reason

    def run(self) -> OpenReason:
        """Serve until ``shutdown``, a lost link or ``request_stop``; returns why it ended."""
        self._send(self._hello)
        while self._stop is None:
            now = self._clock()
            self.step(now)
            self._wait_and_serve(now + self.period())
        self.safe_stop(self._stop)
        return self._stop

    def _collect_garbage(self, now: float) -> None:
        """A full garbage collection, only while nothing is live (``full_gc_every_s``).

        CPython's automatic full pass walks every object of the process while holding the
        GIL (measured here: 12 ms); the island process turns it off (``process.py``) and runs
        it from here, where a late tick costs nothing."""
        if self._full_gc_every_s is None:
            return
        if self._full_gc_at is None:
            self._full_gc_at = now
        if now - self._full_gc_at >= self._full_gc_every_s:
            self._full_gc_at = now
            gc.collect()

    def period(self) -> float:
        """How long until the next tick, from what the last one saw (module docstring)."""
        if self._live():
            return self._tick_s
        conns = self._connectors.values()
        if any(conn.settling for conn in conns):
            return self._confirm_tick_s
        if all(conn.sample.pilot is PilotState.A and conn.read_error is None
               for conn in conns):
            return self._rest_tick_s
        return self._idle_tick_s

    def _live(self) -> bool:
        for conn in self._connectors.values():
            hw = conn.hw
            if hw.contactor.commanded_closed or conn.test_at is not None:
                return True
            if conn.sent.get("mirror"):
                return True
        return False

    def _wait_and_serve(self, deadline: float) -> None:
        while self._stop is None:
            timeout = deadline - self._clock()
            if timeout <= 0:
                return
            try:
                ready, _, _ = select.select([self._link], [], [], timeout)
            except (OSError, ValueError):  # the link was closed under us
                self._stop = OpenReason.LINK_LOST
                return
            if ready:
                self._serve_link()
                # a command made a contactor live (or the pilot is settling): look sooner
                deadline = min(deadline, self._clock() + self.period())

    def _serve_link(self) -> None:
        while self._stop is None:
            try:
                data = self._link.recv(wire.MAX_DATAGRAM)
            except BlockingIOError:
                return
            except OSError:
                self._stop = OpenReason.LINK_LOST
                return
            if not data:
                self._stop = OpenReason.LINK_LOST
                return
            try:
                self.handle(wire.decode(data), self._clock())
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("island: bad command %r: %s", data[:120], exc)

    # -- one tick --------------------------------------------------------------------------
    def step(self, now: float) -> None:
        """Sample every connector, open what must open, report what changed; collect
        garbage when it is due and nothing is live."""
        for conn in self._connectors.values():
            self._step_connector(conn, now)
        if self._power is not None:
            try:
                mains = self._power.mains_ok()
            except Exception:  # a broken input reads as a failure (fail safe)
                mains = False
            if mains != self._mains_ok:
                self._mains_ok = mains
                self._send({"op": "power", "mains_ok": mains})
        if now - self._alive_at >= wire.ALIVE_S:
            self._alive_at = now
            self._send({"op": "alive", "at": now, "volts": {
                str(c): conn.volts for c, conn in self._connectors.items()}})
        if not self._live():
            self._collect_garbage(now)

    def _step_connector(self, conn: _Connector, now: float) -> None:
        hw = conn.hw
        try:
            reading = hw.pilot.read()
            mirror = hw.contactor.mirror_closed()
            mismatch = hw.contactor.check(now)
            locked = None if hw.lock is None else hw.lock.is_locked()
            lock_mismatch = None if hw.lock is None else hw.lock.check(now)
            rcd = False if hw.rcd is None else hw.rcd.tripped()
            cable = None if hw.proximity is None else hw.proximity.cable_rating_a()
        except Exception as exc:  # a pin that cannot be read is a reason to open, not to die
            if conn.read_error is None:
                log.exception("island: connector %d: hardware read failed", hw.connector)
            conn.read_error = str(exc) or type(exc).__name__
            conn.settling = False
            self._open(conn, now, OpenReason.MIRROR)
            self._report(conn, {"op": "state", "c": hw.connector, "read_error": conn.read_error})
            return
        conn.read_error = None
        conn.settling = bool(getattr(hw.pilot, "settling", False))
        conn.volts = (round(reading.high_v, 1),
                      None if reading.low_v is None else round(reading.low_v, 1))
        conn.sample = Sample(
            pilot=reading.state,
            diode_ok=reading.diode_ok,
            rcd_tripped=rcd,
            mirror_fault=mismatch is not None,
            pwm_on=hw.pilot.duty_percent is not None,
            cable=cable is not None,
        )
        if hw.contactor.commanded_closed:
            reason = rules.must_open(conn.lease, conn.sample, now)
            if reason is not None:
                self._open(conn, now, reason)
        if conn.test_at is not None and now >= conn.test_at:
            conn.test_at = None
            self._grant_test(conn, now)
        self._report(conn, _state(hw, reading, mirror, locked, rcd, cable, mismatch,
                                  lock_mismatch))

    def _report(self, conn: _Connector, state: dict[str, Any]) -> None:
        if state != conn.sent:
            conn.sent = state
            self._send(state)

    # -- commands --------------------------------------------------------------------------
    def handle(self, message: dict[str, Any], now: float) -> None:
        """Carry out one command from the main process."""
        op = message["op"]
        if op == "shutdown":
            self._stop = OpenReason.SHUTDOWN
            return
        if op == "renew":
            for c in message["c"]:
                conn = self._connectors.get(c)
                if conn is not None and conn.lease is not None:
                    conn.lease = rules.renew(conn.lease, now, float(message["lease_s"]))
            return
        conn = self._connectors[int(message["c"])]
        hw = conn.hw
        if op in ("duty", "pwm_off", "state_f", "close"):
            # The main process drives the pilot again: a relay test still settling is over
            # (and must not put state F back under a session that starts now).
            conn.test_at = None
            conn.restore_f = False
        match op:
            case "duty":
                hw.pilot.set_duty(float(message["duty"]))
            case "pwm_off":
                hw.pilot.set_off()
            case "state_f":
                hw.pilot.set_state_f()
            case "close":
                self._close(conn, now, float(message["lease_s"]))
            case "open":
                self._open(conn, now, OpenReason.COMMANDED)
            case "lock" if hw.lock is not None:
                hw.lock.lock(now)
            case "unlock" if hw.lock is not None:
                hw.lock.unlock(now)
            case "test_close":
                self._start_test(conn, now)
            case _:
                raise ValueError(f"unknown or inapplicable command {op!r}")
        self._step_connector(conn, now)  # the command's effect is reported at once

    def _close(self, conn: _Connector, now: float, lease_s: float) -> None:
        hw = conn.hw
        if hw.contactor.commanded_closed and conn.lease is not None:
            conn.lease = rules.renew(conn.lease, now, lease_s)
            return
        verdict = rules.grant(LeaseKind.CHARGE, conn.sample, now, lease_s)
        if isinstance(verdict, str):
            self._send({"op": "refused", "c": hw.connector, "what": "close", "reason": verdict})
            return
        conn.lease = verdict
        hw.contactor.close(now)

    def _start_test(self, conn: _Connector, now: float) -> None:
        """A relay test: with the pilot in state F the EV cannot be seen, so lift F (+12 V,
        PWM off) and look again after ``TEST_SETTLE_S`` before deciding."""
        pilot = conn.hw.pilot
        if pilot.duty_percent is None and conn.sample.pilot is PilotState.F:
            pilot.set_off()
            conn.restore_f = True
            conn.test_at = now + TEST_SETTLE_S
            return
        self._grant_test(conn, now)

    def _grant_test(self, conn: _Connector, now: float) -> None:
        hw = conn.hw
        verdict = rules.grant(LeaseKind.TEST, conn.sample, now, rules.TEST_LEASE_S)
        if isinstance(verdict, str):
            self._end_test(conn)
            self._send({"op": "refused", "c": hw.connector, "what": "test_close",
                        "reason": verdict})
            return
        conn.lease = verdict
        hw.contactor.close(now)

    def _end_test(self, conn: _Connector) -> None:
        if conn.restore_f:
            conn.restore_f = False
            conn.hw.pilot.set_state_f()

    def _open(self, conn: _Connector, now: float, reason: OpenReason) -> None:
        hw = conn.hw
        was_closed = hw.contactor.commanded_closed
        hw.contactor.open(now)
        stamp = time.perf_counter()
        lease = conn.lease
        test = lease is not None and lease.kind is LeaseKind.TEST
        late = now - lease.until if reason is OpenReason.LEASE and lease is not None else None
        conn.lease = None
        if test:
            self._end_test(conn)
        if not was_closed:
            return
        if self._on_open is not None:
            self._on_open(hw.connector, reason, stamp, late)
        if reason is not OpenReason.COMMANDED:
            # The EV leaving C is how every session ends; the rest are faults or a stall.
            level = logging.INFO if reason is OpenReason.PILOT else logging.WARNING
            log.log(level, "island: connector %d: contactor opened: %s", hw.connector,
                    reason.value)
            self._send({"op": "opened", "c": hw.connector, "reason": reason.name, "at": now})

    # -- the end ---------------------------------------------------------------------------
    def safe_stop(self, reason: OpenReason) -> None:
        """Open every contactor, pilot to state F, release the pins. Never raises."""
        now = self._clock()
        for conn in self._connectors.values():
            hw = conn.hw
            try:
                self._open(conn, now, reason)
            except Exception:
                log.exception("island: connector %d: opening failed", hw.connector)
            try:
                hw.pilot.set_state_f()
            except Exception:
                log.exception("island: connector %d: pilot to state F failed", hw.connector)
            for device in (hw.pilot, hw.contactor, hw.lock):
                release = getattr(device, "release", None)
                if release is not None:
                    try:
                        release()
                    except Exception:
                        log.exception("island: connector %d: release failed", hw.connector)

    def _send(self, message: dict[str, Any]) -> None:
        """Never blocks: a main process that does not read loses old news, not our time."""
        try:
            self._link.send(wire.encode(message))
        except BlockingIOError:
            pass
        except OSError:
            self._stop = self._stop or OpenReason.LINK_LOST


def _parts(hw: ConnectorHardware) -> list[str]:
    """Which optional parts a connector has (the main process builds proxies for these)."""
    named = (("proximity", hw.proximity), ("lock", hw.lock), ("rcd", hw.rcd))
    return [name for name, part in named if part is not None]


def _state(hw: ConnectorHardware, reading: PilotReading, mirror: bool, locked: bool | None,
           rcd: bool, cable: int | None, mismatch: Any, lock_mismatch: Any) -> dict[str, Any]:
    """The ``state`` message of one connector (what the main process's proxies show)."""
    return {
        "op": "state",
        "c": hw.connector,
        "pilot": reading.state.value,
        "diode_ok": reading.diode_ok,
        "duty": hw.pilot.duty_percent,
        "closed": hw.contactor.commanded_closed,
        "mirror": mirror,
        "lock_cmd": None if hw.lock is None else hw.lock.commanded_locked,
        "locked": locked,
        "rcd": rcd,
        "cable": cable,
        "mismatch": None if mismatch is None else [mismatch.kind.value, mismatch.since],
        "lock_mismatch": None if lock_mismatch is None else [lock_mismatch.kind.value,
                                                             lock_mismatch.since],
    }
