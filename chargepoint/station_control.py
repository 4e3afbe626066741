"""``StationControl``: the running station's side of the control socket (``ControlTarget``).

Every command of INTERFACE.md that needs the daemon lands here. Reads come from the core's
snapshot, the hardware and the store; the only things it changes are what a technician may
change: latched faults (``fault clear``), relays while nothing is connected (``relay``), and
the simulated bench (``sim``).

The contactor test closes the power path outside the core's interlock, so it checks for itself
that nothing is connected: no cable on PP, and the pilot reads A with +12 V applied (PWM off).
A connector held in state F (Inoperative, or a blocking fault) cannot see an EV through the
pilot, so the test drives +12 V for the probe and gives F back afterwards (docs/cli.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from chargepoint import __version__, systemd
from chargepoint.config.model import Config
from chargepoint.control import logquery
from chargepoint.control.logquery import LogQuery
from chargepoint.control.protocol import Refused
from chargepoint.core import actions as act
from chargepoint.core.types import ConnectorStatus, FaultKind, PilotState
from chargepoint.island.link import IslandLink
from chargepoint.logbuffer import LogBuffer
from chargepoint.ports import ProtocolAdapter
from chargepoint.runtime import Controller
from chargepoint.store.db import Store
from hardware.interfaces import ConnectorHardware, ControlPilot, MeterFault
from hardware.interfaces import PilotState as HwPilotState
from hardware.meter import reading_json

if TYPE_CHECKING:
    from chargepoint.island.simclient import SimClient
    from chargepoint.site import SiteManager

_RELAY_SAFE = (ConnectorStatus.AVAILABLE, ConnectorStatus.UNAVAILABLE)
RELAY_CONFIRM_S = 2.0  # how long a relay test waits for the feedback contact
PILOT_PROBE_S = 0.5  # how long the pilot input may take to follow +12 V after state F


class ControlledParts(Protocol):
    """What the control socket reaches of a running station (``chargepoint.app.RunningStation``
    has these; the app imports this module, never the other way round)."""

    @property
    def config(self) -> Config: ...
    @property
    def store(self) -> Store: ...
    @property
    def controller(self) -> Controller: ...
    @property
    def adapter(self) -> ProtocolAdapter: ...
    @property
    def island(self) -> IslandLink: ...
    @property
    def bench(self) -> SimClient | None: ...
    @property
    def logs(self) -> LogBuffer: ...
    @property
    def site(self) -> SiteManager | None: ...


class StationControl:
    """Implements ``chargepoint.control.protocol.ControlTarget`` for a running station."""

    def __init__(self, running: ControlledParts) -> None:
        self._running = running
        self._testing: set[int] = set()  # connectors whose contactor test runs

    # -- reads ------------------------------------------------------------------------------
    async def status(self) -> dict[str, Any]:
        r = self._running
        view = r.controller.station.snapshot()
        link = r.adapter.link_state()
        # from the store's memory: status never waits on the store's lock (a long write)
        open_tx = {tx.connector: tx for tx in r.store.open_transactions()}
        connectors = []
        for conn in view.connectors:
            hw = r.controller.hardware_view(conn.id)
            tx = open_tx.get(conn.id)
            source = conn.session if conn.session is not None else tx  # the core's, else stored
            transaction = None if source is None else {
                "id": (r.adapter.transaction_id(tx.csms_id)
                       if tx is not None and tx.csms_id is not None else None),
                # the stored tag is the one on the wire (2.0.1 free vend: "")
                "id_tag": tx.id_tag if tx is not None else source.id_tag,
                "meter_start_wh": source.meter_start_wh,
            }
            faults = sorted({kind.error_code for kind in (*conn.faults, *view.faults)})
            connectors.append({
                "id": conn.id,
                "status": conn.status.value,
                "error_code": conn.error_code,
                "pilot": hw["pilot"] or conn.pilot.value,
                "contactor": hw["contactor"],
                "lock": hw["lock"],
                "limit_a": float(conn.pwm_a) if conn.pwm_a is not None else 0.0,
                "energy_wh": _round(conn.energy_wh),
                "power_w": _round(conn.power_w),
                "faults": faults,
                "transaction": transaction,
            })
        return {
            "station": {
                "id": r.config.station.id,
                "firmware": r.config.station.firmware_version or __version__,
                "status": view.status.value,
                "simulated": r.bench is not None,
                "mains": _mains(r.controller.mains_ok),
            },
            "ocpp": {
                "version": link.version,
                "connected": link.connected,
                "registration": link.registration,
                "queued": link.queued,
            },
            "connectors": connectors,
            **({"site": r.site.status()} if r.site is not None else {}),
        }

    async def meter(self) -> dict[str, Any]:
        rows = []
        views = self._running.controller.station.snapshot().connectors
        controller = self._running.controller
        for hw in controller.hardware.connectors:
            row: dict[str, Any] = {"id": hw.connector}
            # a reading as of now (an idle meter is read slowly), else the last good one
            reading = (await controller.fresh_meter_reading(hw.connector)
                       or controller.meter_reading(hw.connector))
            age = controller.meter_reading_age(hw.connector)
            if hw.meter is None:
                row["error"] = "no meter configured"
            elif reading is None:
                row["error"] = "no reading yet"
            else:
                row.update(reading_json(reading))
                row["model"] = hw.meter.model
                row["age_s"] = None if age is None else round(age, 1)
            if FaultKind.METER in views[hw.connector - 1].faults:
                row["fault"] = "PowerMeterFailure"
            rows.append(row)
        return {"connectors": rows}

    async def selftest(self) -> dict[str, Any]:
        parts: list[dict[str, Any]] = []
        r = self._running
        for hw in r.controller.hardware.connectors:
            parts.extend(await _selftest_connector(hw))
        reader_fault = any(k.value == "reader" for k in r.controller.station.snapshot().faults)
        if r.controller.hardware.reader is not None:
            parts.append(_part("reader", not reader_fault,
                               "ReaderFailure reported" if reader_fault else "open"))
        parts.append(_island_part(r.island))
        integrity = await asyncio.to_thread(r.store.integrity_check)
        parts.append(_part("store", integrity == "ok", f"integrity_check: {integrity}"))
        link = r.adapter.link_state()
        parts.append(_part("ocpp", link.connected and link.registration == "Accepted",
                           f"connected={link.connected} registration={link.registration}"))
        return {"ok": all(p["ok"] for p in parts), "parts": parts}

    async def logs(self, since: str | None, query: LogQuery | None = None) -> Any:
        try:
            if query is None:
                return self._running.logs.lines(since)
            return await logquery.answer(self._running.logs, since, query,
                                         journald=systemd.under_systemd(),
                                         file=self._running.config.logging.file)
        except ValueError as exc:
            raise Refused(f"--since: {exc}") from None

    async def commission(self, op: str, args: dict[str, Any]) -> Any:
        from chargepoint.commission.desk import CommissionDesk, DeskError  # only when asked

        r = self._running
        desk = CommissionDesk(r.config, r.controller.hardware, simulated=r.bench is not None,
                              clock=r.adapter.wall_now)
        try:
            return await desk.handle(op, args)
        except DeskError as exc:
            raise Refused(str(exc)) from None
        except OSError as exc:
            raise Refused(f"commission {op}: {exc.strerror or exc}") from None

    async def ocpp_ping(self) -> float:
        try:
            return await self._running.adapter.ping()
        except ConnectionError as exc:
            raise Refused(f"CSMS not reachable: {exc}") from None

    async def rfid_read(self, timeout_s: float) -> dict[str, Any] | None:
        if self._running.controller.hardware.reader is None:
            raise Refused("no RFID reader configured")
        token = await self._running.controller.next_token(timeout_s)
        return None if token is None else {"uid": token.uid, "type": token.type}

    # -- technician actions -----------------------------------------------------------------
    async def fault_clear(self, connector: int) -> str:
        try:
            cleared = self._running.controller.clear_fault(connector)
        except ValueError as exc:
            raise Refused(str(exc)) from None
        view = self._running.controller.station.snapshot().connectors[connector - 1]
        return (f"connector {connector}: cleared latched faults ({', '.join(cleared)}); "
                f"status now {view.status.value}")

    async def relay(self, connector: int, which: str, op: str) -> str:
        controller = self._running.controller
        try:
            hw = controller.hardware_of(connector)
        except ValueError as exc:
            raise Refused(str(exc)) from None
        view = controller.station.snapshot().connectors[connector - 1]
        if view.status not in _RELAY_SAFE or view.session is not None:
            raise Refused(f"connector {connector} is {view.status.value}: relay tests only on an"
                          " Available (no EV) or Unavailable connector")
        if which == "lock":
            if view.pilot not in (PilotState.A, PilotState.F) and view.status is _RELAY_SAFE[0]:
                raise Refused(f"connector {connector}: an EV is connected "
                              f"(pilot {view.pilot.value})")
            return await _relay_lock(controller.now, hw, op)
        if op == "off":  # opening is always safe
            return await _relay_contactor(controller.now, hw, op)
        if op == "on":
            raise Refused("the contactor is only switched by `relay N contactor test` (close, "
                          "confirm, open, confirm); leaving it closed would bypass the safety "
                          "interlock")
        if connector in self._testing:
            raise Refused(f"connector {connector}: a contactor test is already running")
        self._testing.add(connector)
        try:
            return await self._contactor_test(hw)
        finally:
            self._testing.discard(connector)

    async def _contactor_test(self, hw: ConnectorHardware) -> str:
        """Close and open the contactor, only with nothing connected (module docstring)."""
        c = hw.connector
        cable = hw.proximity.cable_rating_a() if hw.proximity is not None else None
        if cable is not None:
            raise Refused(f"connector {c}: a cable is plugged in (PP reads {cable} A); the "
                          "contactor test needs an empty socket")
        if hw.pilot.duty_percent is not None:
            raise Refused(f"connector {c}: the pilot offers PWM; no contactor test now")
        controller = self._running.controller
        core_set_pilot: list[act.Action] = []

        def watch(item: object) -> None:  # the core drives this pilot while we probe it
            if isinstance(item, act.SetPwm | act.PwmOff | act.SetStateF) and item.connector == c:
                core_set_pilot.append(item)

        unwatch = controller.observe(watch)
        give_back_f = False
        try:
            state = hw.pilot.read().state
            if state is HwPilotState.F:  # we drive -12 V: +12 V for a moment, to see an EV
                hw.pilot.set_off()
                give_back_f = True
                state = await _settled_pilot(hw.pilot)
            if state is not HwPilotState.A:
                raise Refused(f"connector {c}: the pilot reads {state.value} with +12 V applied "
                              "(an EV or a fault is on the connector); contactor test refused")
            return await _relay_contactor(
                controller.now, hw, "test",
                abort=lambda: hw.pilot.read().state is not HwPilotState.A)
        finally:
            unwatch()
            if give_back_f and not core_set_pilot:  # (else the core's own setting stands)
                hw.pilot.set_state_f()

    async def sim(self, command: str, args: dict[str, Any]) -> dict[str, Any]:
        bench = self._running.bench
        if bench is None:
            raise Refused("not a simulated station ([hardware] simulate = false)")
        try:
            match command:
                case "plug":
                    bench.plug(int(args["connector"]),
                               float(args.get("max_current_a", 32.0)))
                case "unplug":
                    bench.unplug(int(args["connector"]))
                case "ev":
                    bench.ev(int(args["connector"]), str(args.get("mode", "charge")) == "charge")
                case "tap":
                    bench.tap(str(args["uid"]))
                case "fault" | "house" if (
                        args.get("connector") == "site" or command == "house"
                ) and self._running.config.site is None:
                    raise Refused(f"sim {command}: this station has no [site] section")
                case "fault" if args.get("connector") == "site":  # the [site] grid meter
                    bench.fault("site", str(args["kind"]))
                case "fault":
                    bench.fault(int(args["connector"]), str(args["kind"]))
                case "house":
                    bench.house(float(args["amps"]))
                case "power":
                    bench.power(str(args["state"]))
                case "adapter":
                    cable = args.get("cable_a")
                    bench.adapter(int(args["connector"]), str(args["state"]),
                                  None if cable is None else int(cable))
                case "describe":
                    pass
                case _:
                    raise Refused(f"unknown sim command {command!r}")
        except KeyError as exc:
            raise Refused(f"sim {command}: missing argument {exc}") from None
        except (ValueError, TypeError) as exc:
            raise Refused(f"sim {command}: {exc}") from None
        return bench.describe()


def _mains(ok: bool | None) -> str | None:
    """``status`` station.mains: "ok", "failed", or None without a power-fail input."""
    return None if ok is None else "ok" if ok else "failed"


def _island_part(island: IslandLink) -> dict[str, Any]:
    """The safety island: alive, its scheduling, and how it reads the pilot ADC (software
    SPI is ten times slower per sample: a fail until spidev is installed)."""
    hello = island.hello
    spi = hello.get("spi", "unknown")
    ok = island.healthy() and spi != "software"
    return _part("island", ok, f"{'running' if island.healthy() else 'LOST'} (pid "
                 f"{island.pid}), {hello.get('realtime', 'unknown')}, SPI {spi}")


def _part(name: str, ok: bool, detail: str) -> dict[str, Any]:
    return {"part": name, "ok": ok, "detail": detail}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


async def _selftest_connector(hw: ConnectorHardware) -> list[dict[str, Any]]:
    c = hw.connector
    parts = []
    reading = hw.pilot.read()
    pilot_ok = reading.state.value in "ABCD" and reading.diode_ok
    parts.append(_part(f"pilot {c}", pilot_ok,
                       f"state {reading.state.value}, high {reading.high_v:.1f} V"
                       + ("" if reading.diode_ok else ", diode check FAILED")))
    mirror = hw.contactor.mirror_closed()
    parts.append(_part(f"contactor {c}", mirror == hw.contactor.commanded_closed,
                       f"commanded {'closed' if hw.contactor.commanded_closed else 'open'}, "
                       f"mirror {'closed' if mirror else 'open'}"))
    if hw.lock is not None:
        locked = hw.lock.is_locked()
        parts.append(_part(f"lock {c}", locked == hw.lock.commanded_locked,
                           f"commanded {'locked' if hw.lock.commanded_locked else 'unlocked'}, "
                           f"feedback {'locked' if locked else 'unlocked'}"))
    if hw.rcd is not None:
        tripped = hw.rcd.tripped()
        parts.append(_part(f"rcd {c}", not tripped, "tripped" if tripped else "not tripped"))
    if hw.meter is not None:
        result = await hw.meter.poll()
        if isinstance(result, MeterFault):
            parts.append(_part(f"meter {c}", False, result.reason))
        else:
            parts.append(_part(f"meter {c}", True,
                               f"{hw.meter.model}: {result.energy_import_wh:.0f} Wh"))
    return parts


async def _relay_lock(now: Callable[[], float], hw: ConnectorHardware, op: str) -> str:
    lock = hw.lock
    if lock is None:
        raise Refused(f"connector {hw.connector} has no lock (fixed cable)")
    steps = {"on": [True], "off": [False], "test": [True, False]}[op]
    report = []
    for want in steps:
        (lock.lock if want else lock.unlock)(now())
        ok = await _await_feedback(lock.is_locked, want)
        report.append(f"{'lock' if want else 'unlock'} {'confirmed' if ok else 'NOT confirmed'}")
        if not ok:
            raise Refused(f"connector {hw.connector}: " + ", ".join(report))
    return f"connector {hw.connector} lock: " + ", ".join(report)


async def _relay_contactor(now: Callable[[], float], hw: ConnectorHardware, op: str,
                           abort: Callable[[], bool] | None = None) -> str:
    """``op`` "off" or "test"; ``abort()`` true while the contactor may be closed opens it at
    once and refuses (the pilot left A: an EV arrived)."""
    contactor = hw.contactor
    steps = {"off": [False], "test": [True, False]}[op]
    report = []
    try:
        for want in steps:
            if want:  # the island closes only under a test lease: no EV, no cable
                test_close = getattr(contactor, "test_close", None)
                test_close() if test_close is not None else contactor.close(now())
            else:
                contactor.open(now())

            def refused() -> bool:
                return bool(getattr(contactor, "refusal", None))

            ok = await _await_feedback(
                (lambda: contactor.mirror_closed() or refused()) if want
                else contactor.mirror_closed, want, abort=abort if want else None)
            if want and refused():
                raise Refused(f"connector {hw.connector}: the safety island refused to close:"
                              f" {getattr(contactor, 'refusal', '')}")
            if want and abort is not None and abort():
                contactor.open(now())
                raise Refused(f"connector {hw.connector}: the pilot left A during the test "
                              "(an EV?); contactor opened at once")
            report.append(f"{'close' if want else 'open'} "
                          f"{'confirmed' if ok else 'NOT confirmed'}")
            if not ok:
                raise Refused(f"connector {hw.connector}: " + ", ".join(report))
    finally:
        contactor.open(now())
    return f"connector {hw.connector} contactor: " + ", ".join(report)


async def _await_feedback(
    read: Callable[[], bool], want: bool, limit_s: float = RELAY_CONFIRM_S,
    abort: Callable[[], bool] | None = None,
) -> bool:
    """Whether the feedback ``read()`` reaches ``want`` within ``limit_s`` (False at once
    when ``abort()`` becomes true)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    while loop.time() < deadline:
        if abort is not None and abort():
            return False
        if read() == want:
            return True
        await asyncio.sleep(0.01)
    return read() == want


async def _settled_pilot(pilot: ControlPilot, limit_s: float = PILOT_PROBE_S) -> HwPilotState:
    """The pilot's state once it has left F and two readings 10 ms apart agree (or what it
    reads after ``limit_s``)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    last = pilot.read().state
    while loop.time() < deadline:
        await asyncio.sleep(0.01)
        state = pilot.read().state
        if state is last and state is not HwPilotState.F:
            return state
        last = state
    return pilot.read().state
