"""The simulated bench: every part of a station, virtual, behind the real interfaces.

Per connector: a ``VirtualEV`` answering a ``SimPilot`` and a ``SimProximity``; the REAL relay
classes on a gpiozero ``MockFactory`` whose feedback pins follow the outputs (``SimBoard``); the
REAL Modbus meter driver reading a ``VirtualMeter`` over a pty (one unit id per connector, one
bus). One ``VirtualReader`` and one mains supply (``SimMains``: the real power-fail input on a
mock pin, ``power(on)``) for the station. A background task integrates energy in real time,
every ``energy_tick_s`` while any main contacts are closed; while every contactor is open
nothing can draw, and it sleeps until contacts close (or ``next_tick()`` asks for a step).

The commands of ``chargepoint sim`` (docs/cli.md) are methods here; their
bad arguments raise ``ValueError`` with a message fit for an error reply. Calling ``hardware``
before ``start()`` (or after ``stop()``) is misuse and raises ``RuntimeError``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from functools import partial
from typing import Any

from gpiozero.pins.mock import MockFactory

from hardware.interfaces import ConnectorHardware, StationHardware
from hardware.sim.board import SimBoard
from hardware.sim.ev import NOMINAL_FREQUENCY_HZ, EvFault, VirtualEV
from hardware.sim.mains import SimMains
from hardware.sim.meter_rig import MeterRig
from hardware.sim.pilot import SimPilot, SimProximity
from hardware.sim.reader import VirtualReader

log = logging.getLogger(__name__)

FAULT_KINDS = ("welded", "lock", "meter", "rcd", "pilot", "diode", "none")
SITE_FAULT_KINDS = ("meter", "none")
MAX_CONNECTORS = SimBoard.MAX_CONNECTORS
# The virtual grid meter of ``[site]`` (docs/site.md): one more unit on the bench's RS-485 bus
# (a shared bus, as many installations wire it), reading house load plus every EV's draw.
GRID_UNIT = 100


class SimConnector:
    """Everything virtual behind one connector (before and after the bench started)."""

    def __init__(self, connector: int) -> None:
        self.connector = connector
        self.ev = VirtualEV()
        self.pilot = SimPilot(self.ev)
        self.proximity = SimProximity(self.ev)
        self.board: SimBoard | None = None
        self.faults: set[str] = set()
        self.energy_wh = 0.0  # what the EV drew since the bench started
        self.draw_a = 0.0
        self.power_w = 0.0

    def contacts_closed(self) -> bool:
        return self.board is not None and self.board.contacts_closed()


class SimBench:
    """A whole simulated station. ``start()`` it once inside the running loop, ``stop()`` it
    after (or use ``async with``).

    ``feedback_delay_s``: how long mirror and lock feedback take to follow the outputs;
    ``lock_kind``: ``"motor"`` (lock/unlock pulses) or ``"solenoid"`` (held output).

    ``meter_model=None`` runs without a meter; when the virtual meter does not start the bench
    also runs without one (``describe()["meter"]["note"]`` says why). An unknown meter model
    raises ``ValueError`` from ``start()``. ``meter_drivers=False``: the virtual meter runs but
    no driver reads it here (``hardware`` has no meters; another process reads the port).
    """

    def __init__(
        self,
        connectors: int = 1,
        *,
        meter_model: str | None = "sdm630",
        has_lock: bool = True,
        pin_factory: Any = None,
        energy_tick_s: float = 0.2,
        feedback_delay_s: float = 0.0,
        lock_kind: str = "motor",
        meter_drivers: bool = True,
    ) -> None:
        if not 1 <= connectors <= MAX_CONNECTORS:
            raise ValueError(f"connectors must be 1..{MAX_CONNECTORS}, got {connectors!r}")
        if pin_factory is not None and not isinstance(pin_factory, MockFactory):
            raise ValueError("the bench needs a gpiozero MockFactory as pin_factory")
        if not energy_tick_s > 0:
            raise ValueError(f"energy_tick_s must be positive, got {energy_tick_s!r}")
        self._connectors = [SimConnector(n) for n in range(1, connectors + 1)]
        self._meter_model = meter_model
        self._meter_drivers = meter_drivers
        self._has_lock = has_lock
        if lock_kind not in ("motor", "solenoid"):
            raise ValueError(f"lock_kind must be 'motor' or 'solenoid', got {lock_kind!r}")
        self._lock_kind = lock_kind
        self._factory: Any = pin_factory
        self._energy_tick_s = energy_tick_s
        self._feedback_delay_s = feedback_delay_s
        self.reader = VirtualReader()
        self._meter: MeterRig | None = None
        self._mains: SimMains | None = None
        self._mains_on = True
        self._meter_note = "no meter configured" if meter_model is None else "not started"
        self._hardware: StationHardware | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopped = False
        self._ticked = asyncio.Event()
        self._contacts_moved = asyncio.Event()  # set (thread-safe) when contacts open/close
        self._house_a = 0.0
        self._grid_silent = False

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Build the relays, start the virtual meter and the energy task. Call once."""
        if self._hardware is not None:
            raise RuntimeError("the bench is already started")
        if self._stopped:
            raise RuntimeError("a stopped bench cannot be started again; make a new one")
        loop = asyncio.get_running_loop()
        if self._factory is None:
            self._factory = MockFactory()
        units = [c.connector for c in self._connectors] + [GRID_UNIT]
        if self._meter_model is not None:
            self._meter, self._meter_note = await MeterRig.start(
                self._meter_model, units, drivers=self._meter_drivers)
            if self._meter is not None:
                for c in self._connectors:  # a single-phase meter: a single-phase EV
                    c.ev.phases = self._meter.phases
        try:
            hw: list[ConnectorHardware] = []
            for c in self._connectors:
                c.board = SimBoard(
                    self._factory,
                    c.connector,
                    has_lock=self._has_lock,
                    lock_kind=self._lock_kind,
                    feedback_delay_s=self._feedback_delay_s,
                    loop=loop,
                )
                c.board.watch_contacts(partial(self._contacts_moved_on, c.board, loop))
                hw.append(
                    ConnectorHardware(
                        connector=c.connector,
                        pilot=c.pilot,
                        contactor=c.board.contactor,
                        proximity=c.proximity,
                        lock=c.board.lock,
                        rcd=c.board.rcd,
                        meter=None if self._meter is None else self._meter.meter(c.connector),
                    )
                )
            mains = self._mains = SimMains(self._factory)
            mains.set(self._mains_on)
        except BaseException:
            await self._teardown()
            self._stopped = True
            raise
        self._hardware = StationHardware(
            connectors=hw, reader=self.reader, power=mains.input
        )
        self._update_meter(0.0)
        self._task = asyncio.create_task(self._integrate(), name="sim-bench-energy")

    async def stop(self) -> None:
        """Stop the energy task, the meter and the relays; close the reader. Idempotent."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._teardown()
        self._hardware = None
        self._stopped = True

    async def _teardown(self) -> None:
        for c in self._connectors:
            if c.board is not None:
                c.board.close()
                c.board = None
        if self._mains is not None:
            self._mains.close()
            self._mains = None
        if self._meter is not None:
            await self._meter.stop()
            self._meter = None
        await self.reader.close()

    async def __aenter__(self) -> SimBench:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def hardware(self) -> StationHardware:
        """The station's devices. Raises RuntimeError unless started."""
        if self._hardware is None:
            raise RuntimeError("the bench is not started")
        return self._hardware

    @property
    def pin_factory(self) -> Any:
        """The gpiozero MockFactory the relays live on (None before ``start()``)."""
        return self._factory

    # -- the commands of `chargepoint sim` ---------------------------------------------------

    def connector(self, connector: int) -> SimConnector:
        """The virtual parts of connector ``connector`` (1-based). Raises ValueError."""
        if isinstance(connector, bool) or not isinstance(connector, int):
            raise ValueError(f"connector must be an integer, got {connector!r}")
        if not 1 <= connector <= len(self._connectors):
            raise ValueError(
                f"no connector {connector}: this bench has 1..{len(self._connectors)}"
            )
        return self._connectors[connector - 1]

    def plug(
        self, connector: int, max_current_a: float = 32.0, *, cable_rating_a: int = 32
    ) -> None:
        """An EV that wants energy is plugged in (pilot B, C once PWM is offered)."""
        c = self.connector(connector)
        c.proximity.set_rating(cable_rating_a)
        c.ev.plug(max_current_a)

    def preset_meter(self, connector: int, energy_wh: float) -> None:
        """Set the virtual meter's import register to ``energy_wh`` before charging starts: a
        station restarted on the bench counts on from its persisted reading, as a real meter
        keeps its register across a controller restart."""
        c = self.connector(connector)
        if self._meter is None:
            raise ValueError("the bench runs without a meter")
        if not energy_wh >= 0:
            raise ValueError(f"energy_wh must be >= 0, got {energy_wh!r}")
        delta = energy_wh - self._meter.energy_wh(c.connector)
        self._meter.virtual.add_energy_wh(c.connector, delta)

    def adapter(self, connector: int, state: str, cable_a: int | None = None) -> None:
        """An EV test adapter in the socket: its CP switch at ``state`` (``A``..``E``,
        ``diode`` for C with the diode shorted, ``off`` removes it) and its PP selector at
        ``cable_a`` (13, 20, 32, 63; None: open). Raises ValueError."""
        c = self.connector(connector)
        if cable_a is not None and cable_a not in SimProximity.VALID_RATINGS:
            raise ValueError(f"cable rating must be one of {SimProximity.VALID_RATINGS}, got "
                             f"{cable_a!r}")
        c.ev.set_adapter(state, cable_a)

    def unplug(self, connector: int) -> None:
        """The EV leaves (pilot A)."""
        self.connector(connector).ev.unplug()

    def ev(self, connector: int, charge: bool | str) -> None:
        """The EV asks for energy (``True`` / ``"charge"``) or pauses (``False`` /
        ``"pause"``: B). Raises ValueError when no EV is plugged in or for another word."""
        c = self.connector(connector)
        if isinstance(charge, str):
            if charge not in ("charge", "pause"):
                raise ValueError(f"EV action must be charge or pause, got {charge!r}")
            charge = charge == "charge"
        if not c.ev.plugged:
            raise ValueError(f"no EV is plugged in at connector {connector}")
        c.ev.wants_energy = charge

    def tap(self, uid: str) -> None:
        """Present a card with this hex UID to the reader. Raises ValueError for a bad UID."""
        self.reader.tap(uid)

    def fault(self, connector: int, kind: str) -> None:
        """Inject a fault (``FAULT_KINDS``); ``none`` clears every injected fault.

        welded: the mirror stays closed after open; lock: the lock feedback does not follow;
        meter: the meter's unit stays silent; rcd: the RCD input trips; pilot: state E (CP
        shorted); diode: the EV's diode fails (PWM low level missing).
        """
        c = self.connector(connector)
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}: one of {', '.join(FAULT_KINDS)}")
        if kind == "lock" and not self._has_lock:
            raise ValueError(f"connector {connector} has no lock (fixed cable)")
        if kind == "meter" and self._meter is None:
            raise ValueError(f"connector {connector} has no meter ({self._meter_note})")
        if kind in ("welded", "lock", "rcd") and c.board is None:
            raise ValueError("the bench is not started")
        if kind == "none":
            self._clear_faults(c)
            return
        c.faults.add(kind)
        if kind == "pilot":
            c.ev.fault = EvFault.STATE_E
        elif kind == "diode":
            c.ev.fault = EvFault.DIODE
        elif kind == "meter":
            assert self._meter is not None
            self._meter.set_silent(connector, True)
        else:
            assert c.board is not None
            c.board.inject(kind, True)

    def house(self, amps: float) -> None:
        """The household load on every phase, as the virtual grid meter sees it (plus what
        the EVs draw). Raises ValueError for a negative or non-finite current."""
        if isinstance(amps, bool) or not isinstance(amps, int | float) or not (
                0.0 <= amps <= 1000.0):
            raise ValueError(f"house load must be 0..1000 A, got {amps!r}")
        self._house_a = float(amps)
        self._update_grid()

    def site_fault(self, kind: str) -> None:
        """``meter``: the grid meter stops answering; ``none``: it answers again."""
        if kind not in SITE_FAULT_KINDS:
            raise ValueError(f"unknown site fault {kind!r}: one of {', '.join(SITE_FAULT_KINDS)}")
        if self._meter is None:
            raise ValueError(f"the bench has no virtual meters ({self._meter_note})")
        self._grid_silent = kind == "meter"
        self._meter.set_silent(GRID_UNIT, self._grid_silent)

    def grid_current_a(self) -> float:
        """What the virtual grid meter reads on each phase now."""
        return self._house_a + sum(c.draw_a for c in self._connectors)

    def _update_grid(self) -> None:
        if self._meter is None:
            return
        try:
            self._meter.virtual.set_electrical(
                GRID_UNIT, [230.0] * self._meter.phases,
                [self.grid_current_a()] * self._meter.phases, NOMINAL_FREQUENCY_HZ)
        except Exception:  # the bench must keep integrating whatever the meter does
            log.exception("virtual grid meter update failed")

    def power(self, on: bool | str) -> None:
        """Mains present (``True`` / ``"on"``) or failed (``False`` / ``"off"``): the station
        runs on, as on a UPS, and sees its power-fail input change. Raises ValueError for
        another word. Before ``start()`` it sets the level the bench starts with."""
        if isinstance(on, str):
            if on not in ("on", "off"):
                raise ValueError(f"power must be on or off, got {on!r}")
            on = on == "on"
        self._mains_on = on
        if self._mains is not None:
            self._mains.set(on)

    def _clear_faults(self, c: SimConnector) -> None:
        c.ev.fault = EvFault.NONE
        if c.board is not None:
            for kind in ("welded", "lock", "rcd"):
                c.board.inject(kind, False)
        if self._meter is not None:
            self._meter.set_silent(c.connector, False)
        c.faults.clear()

    def describe(self) -> dict[str, Any]:
        """JSON-friendly state of the bench (for ``chargepoint sim`` output)."""
        return {
            "started": self._hardware is not None,
            "meter": {
                "model": self._meter_model,
                "port": None if self._meter is None else self._meter.port,
                "note": self._meter_note,
            },
            "reader": {"taps": self.reader.taps},
            "site": {"unit": GRID_UNIT, "house_a": self._house_a,
                     "grid_a": round(self.grid_current_a(), 3), "silent": self._grid_silent},
            "power": {
                "mains": "on" if self._mains_on else "off",
                "mains_ok": None if self._mains is None else self._mains.input.mains_ok(),
            },
            "connectors": [self._describe_connector(c) for c in self._connectors],
        }

    def _describe_connector(self, c: SimConnector) -> dict[str, Any]:
        reading = c.pilot.read()
        board = c.board
        return {
            "id": c.connector,
            "ev": {
                "plugged": c.ev.plugged,
                "wants_energy": c.ev.wants_energy,
                "max_current_a": c.ev.max_current_a,
                "phases": c.ev.phases,
                "voltage_v": c.ev.voltage_v,
            },
            "adapter": None if c.ev.adapter is None else {
                "state": "diode" if c.ev.adapter_diode_short else c.ev.adapter.value,
                "cable_a": c.ev.adapter_cable_a},
            "pilot": reading.state.value,
            "duty_percent": c.pilot.duty_percent,
            "offered_a": round(c.ev.offered_a, 2),
            "cable_rating_a": c.proximity.cable_rating_a(),
            "contactor": None if board is None else board.describe_contactor(),
            "lock": None if board is None else board.describe_lock(),
            "rcd_tripped": None if board is None else board.rcd.tripped(),
            "current_a": round(c.draw_a, 3),
            "power_w": round(c.power_w, 1),
            "energy_wh": round(c.energy_wh, 3),
            "faults": sorted(c.faults),
        }

    # -- energy ------------------------------------------------------------------------------

    async def _integrate(self) -> None:
        """Every tick: what each EV draws through closed contacts goes into the meter. With
        every contactor open (and nothing drawn since the last step) it waits for contacts
        to close instead of ticking: an idle bench does not wake its thread."""
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            if self._at_rest():
                self._contacts_moved.clear()
                if self._at_rest():
                    await self._contacts_moved.wait()
                    last = loop.time()  # nothing could be drawn while at rest
            await asyncio.sleep(self._energy_tick_s)
            now = loop.time()
            self._update_meter(now - last)
            last = now
            ticked, self._ticked = self._ticked, asyncio.Event()
            ticked.set()

    def _at_rest(self) -> bool:
        return not any(c.draw_a or c.contacts_closed() for c in self._connectors)

    def _contacts_moved_on(self, board: SimBoard, loop: asyncio.AbstractEventLoop) -> None:
        """Contacts moved (in the thread that switched them). A closing wakes the integration;
        an opening does not: the integration, running while they were closed, sees it at its
        next step, and the opening (the safety island's reaction, which the bench times)
        gets no cross-thread wake-up in its thread."""
        if not board.contacts_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop is already closed
            loop.call_soon_threadsafe(self._contacts_moved.set)

    async def next_tick(self) -> None:
        """Return after the next energy integration step (meter registers updated); at rest
        it asks for one."""
        if self._task is None:
            raise RuntimeError("the bench is not started")
        ticked = self._ticked
        self._contacts_moved.set()
        await ticked.wait()

    def _update_meter(self, dt_s: float) -> None:
        for c in self._connectors:
            closed = c.contacts_closed()
            c.draw_a = c.ev.draw_a(closed)
            c.power_w = c.ev.power_w(closed)
            wh = c.power_w * dt_s / 3600.0
            c.energy_wh += wh
            if self._meter is None:
                continue
            try:
                self._meter.update(
                    c.connector,
                    voltage_v=c.ev.voltage_v,
                    current_a=c.draw_a,
                    frequency_hz=NOMINAL_FREQUENCY_HZ,
                    add_wh=wh,
                )
            except Exception:  # the bench must keep integrating whatever the meter does
                log.exception("virtual meter update failed for connector %d", c.connector)
        self._update_grid()
