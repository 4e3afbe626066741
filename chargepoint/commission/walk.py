"""The commissioning walk: each step, what it expects, what it read, pass or fail.

The walk runs in the CLI and sees the station only through the control socket (``Link``):
``status``, ``meter``, ``selftest``, ``ocpp_ping``, ``rfid_read``, ``relay`` (its own
interlock: empty socket only) and ``commission`` (``info``, ``probe``). It never switches the
contactor itself: the relay test goes through the island's test lease, the supervised charge
through the core's session logic like any EV's.

Steps (``STEPS``), in order; "hands" steps need the technician and are skipped with
``--non-interactive``:

======================  =====  ==============================================================
identity                no     station id, firmware, CSMS connection, registration, clock
selftest                no     every hardware part (as ``chargepoint selftest``)
meter                   no     model, phases, voltages, frequency, energy register
relays                  no     contactor and lock test on the empty socket
reader                  hands  a card tapped on the reader is read
pilot                   hands  test adapter A, B, C, D, E, diode short: levels and reactions
rcd                     hands  RCD test button: GroundFailure, contactor open, reset
proximity               hands  adapter PP selector 13/20/32/63 A read as that rating
charge                  hands  a short supervised charge (EV or test load)
meter-load              hands  the energy register advanced under load
phase-order             hands  load on the expected phases; rotary field confirmed
======================  =====  ==============================================================

A step that cannot run (no reader, no RCD input, a fixed cable, the controller gone) is
skipped with the reason. Ctrl-C ends the walk: the report is kept as INTERRUPTED and, on the
simulated bench, the test adapter is taken out again.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TextIO, TypeVar

from chargepoint.commission.answers import Answers
from chargepoint.commission.report import FORMAT, now_iso, verdict
from chargepoint.control import ControlFailed, ControlUnavailable

T = TypeVar("T")

PILOT_NOMINAL_V = {"A": 12.0, "B": 9.0, "C": 6.0, "D": 3.0, "E": 0.0}
PILOT_TOLERANCE_V = 1.0
PP_CODING = {13: "1.5 kOhm", 20: "680 Ohm", 32: "220 Ohm", 63: "100 Ohm"}
VOLTAGE_RANGE_V = (207.0, 253.0)  # 230 V -10 % / +10 %
FREQUENCY_RANGE_HZ = (49.5, 50.5)
CLOCK_LIMIT_S = 60.0
PILOT_FAULT = "EVCommunicationError"
RCD_FAULT = "GroundFailure"
DIODE_LOG = "diode check failed"
POLL_S = 0.1


class Link(Protocol):
    """The way to the running controller; raises the control client's errors."""

    def __call__(self, cmd: str, args: dict[str, Any] | None = None,
                 timeout_s: float = 10.0) -> Any:
        """One request, its result."""

    def background(self, cmd: str, args: dict[str, Any], timeout_s: float) -> Pending:
        """Start one request in a thread (``rfid_read`` must be waiting before the card
        comes); ``Pending.sent`` is set once the request is on its way."""


class Pending(Protocol):
    sent: threading.Event

    def result(self) -> Any:
        """Wait for the answer; raises what the request raised."""


class Skip(Exception):
    """The step cannot run or was skipped; ``str()`` says why."""


class Quit(Exception):
    """The technician ended the walk."""


class Unreachable(Exception):
    """The controller stopped answering (``str()`` is the reason)."""


def reading(name: str, value: Any, *, unit: str | None = None, expected: str | None = None,
            ok: bool | None = None) -> dict[str, Any]:
    return {"name": name, "value": value, "unit": unit, "expected": expected, "ok": ok,
            "at": now_iso()}


@dataclass
class Step:
    id: str
    title: str
    hands: bool
    readings: list[dict[str, Any]] = field(default_factory=list)
    result: str = "PASS"
    note: str = ""
    started: str = ""
    finished: str = ""
    echo: Callable[[dict[str, Any]], None] | None = None

    def add(self, name: str, value: Any, **kw: Any) -> bool:
        """Record one reading (and show it at once); False when it failed."""
        r = reading(name, value, **kw)
        self.readings.append(r)
        if self.echo is not None:
            self.echo(r)
        return r["ok"] is not False

    def doc(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "result": self.result, "note": self.note,
                "started": self.started, "finished": self.finished,
                "readings": self.readings}


@dataclass
class Options:
    connector: int = 1
    interactive: bool = True
    technician: str = ""
    wait_s: float = 30.0  # how long a step waits for the reading it expects
    charge_s: float = 30.0  # how long the supervised charge is measured


class Walk:
    """One commissioning walk. ``run()`` returns the report document (unsaved)."""

    def __init__(self, link: Link, answers: Answers, out: TextIO, options: Options) -> None:
        self.link = link
        self.answers = answers
        self.out = out
        self.opt = options
        self.steps: list[Step] = []
        self.info: dict[str, Any] = {}
        self.card: str | None = None
        self.samples: list[dict[str, Any]] = []  # meter during the supervised charge
        self.interrupted = False
        self.started = now_iso()

    # -- running ------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        plan: list[tuple[str, str, bool, Callable[[Step], None]]] = [
            ("identity", "Station identity and CSMS connection", False, self.identity),
            ("selftest", "Self-test of every part", False, self.selftest),
            ("meter", "Meter: model, phases, voltages", False, self.meter),
            ("relays", "Contactor and lock on the empty socket", False, self.relays),
            ("reader", "Card reader", True, self.reader),
            ("pilot", "Control pilot with the test adapter", True, self.pilot),
            ("rcd", "RCD test button", True, self.rcd),
            ("proximity", "Proximity pilot (cable rating)", True, self.proximity),
            ("charge", "Supervised charge", True, self.charge),
            ("meter-load", "Energy register under load", True, self.meter_load),
            ("phase-order", "Phase order and rotation", True, self.phase_order),
        ]
        quit_reason = ""
        for sid, title, hands, body in plan:
            step = Step(sid, title, hands, started=now_iso(), echo=self._echo)
            self.steps.append(step)
            self._header(len(self.steps), step)
            try:
                if quit_reason:
                    raise Skip(quit_reason)
                if hands and not self.opt.interactive:
                    raise Skip("needs the technician's hands (run without --non-interactive)")
                body(step)
            except Skip as exc:
                step.result, step.note = "SKIP", str(exc)
            except Quit:
                step.result, step.note = "SKIP", "the technician ended the walk"
                quit_reason = "the technician ended the walk"
            except ControlFailed as exc:
                step.result, step.note = "SKIP", f"the controller refused: {exc}"
            except Unreachable as exc:
                step.result, step.note = "SKIP", f"controller not reachable: {exc}"
                quit_reason = f"controller not reachable: {exc}"
            except KeyboardInterrupt:
                step.result, step.note = "SKIP", "interrupted (Ctrl-C)"
                self.interrupted = True
            if any(r["ok"] is False for r in step.readings):
                step.result = "FAIL"  # a failed reading is never hidden by a later skip
            step.finished = now_iso()
            self._footer(step)
            if self.interrupted:
                self._restore()
                break
        return self.report()

    def report(self) -> dict[str, Any]:
        steps = [s.doc() for s in self.steps]
        result, counts = verdict(steps, self.interrupted)
        station = self.info.get("station", {})
        return {"format": FORMAT, "station": station, "technician": self.opt.technician,
                "mode": "interactive" if self.opt.interactive else "non-interactive",
                "connector": self.opt.connector, "started": self.started,
                "finished": now_iso(), "result": result, "counts": counts, "steps": steps}

    def _restore(self) -> None:
        """After Ctrl-C: take the simulated test adapter out again (a real one is the
        technician's to remove; the relays open on their own when it goes)."""
        self.say("\nInterrupted. Remove the test adapter / EV: the contactor stays open "
                 "without a session; the walk switched nothing by itself.")
        if self.info.get("station", {}).get("simulated"):
            with contextlib.suppress(Exception):  # the bench may be gone with the controller
                self.link("sim", {"command": "adapter",
                                  "args": {"connector": self.opt.connector, "state": "off"}})

    # -- talking to the technician and the station ---------------------------------------------
    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def _header(self, number: int, step: Step) -> None:
        self.say(f"\n== {number}. {step.title} ==")

    def _echo(self, r: dict[str, Any]) -> None:
        mark = {True: "ok  ", False: "FAIL", None: "    "}[r["ok"]]
        unit = f" {r['unit']}" if r["unit"] else ""
        expected = f"   (expected {r['expected']})" if r["expected"] else ""
        self.say(f"  {mark} {r['name']}: {r['value']}{unit}{expected}")

    def _footer(self, step: Step) -> None:
        self.say(f"  -> {step.result}" + (f": {step.note}" if step.note else ""))

    def ask(self, instruction: str, expected: str | None = None) -> str:
        """Show an instruction; the answer ("" to go on). s skips the step, q ends the walk."""
        text = instruction + (f"\n  Expected: {expected}" if expected else "")
        answer = self.answers.ask(f"{text}\n  [Enter] when done, s = skip step, q = quit > ")
        if answer is None:
            raise Skip("no answer (end of input)")
        if answer.lower() in ("s", "skip"):
            raise Skip("skipped by the technician")
        if answer.lower() in ("q", "quit"):
            raise Quit()
        return answer

    def call(self, cmd: str, args: dict[str, Any] | None = None,
             timeout_s: float = 10.0) -> Any:
        try:
            return self.link(cmd, args, timeout_s)
        except ControlUnavailable as exc:
            raise Unreachable(str(exc)) from None

    def status(self) -> dict[str, Any]:
        doc: dict[str, Any] = self.call("status")
        return doc

    def conn(self) -> dict[str, Any]:
        for c in self.status().get("connectors", []):
            if c.get("id") == self.opt.connector:
                return dict(c)
        raise Skip(f"the station has no connector {self.opt.connector}")

    def probe(self) -> dict[str, Any]:
        doc: dict[str, Any] = self.call("commission", {"op": "probe", "args": {
            "connector": self.opt.connector}})
        return doc

    def wait(self, read: Callable[[], T], good: Callable[[T], bool],
             limit_s: float | None = None) -> tuple[T, bool]:
        """Read until ``good`` (True) or ``limit_s`` passed (False, with the last reading):
        a technician's hands take their time, so the walk polls the station."""
        deadline = time.monotonic() + (self.opt.wait_s if limit_s is None else limit_s)
        value = read()
        while not good(value):
            if time.monotonic() >= deadline:
                return value, False
            time.sleep(POLL_S)
            value = read()
        return value, True

    # -- the steps ----------------------------------------------------------------------------
    def identity(self, step: Step) -> None:
        self.info = self.call("commission", {"op": "info"})
        station = self.info["station"]
        step.add("station id", station.get("id"), expected="the id registered at the CSMS")
        step.add("firmware", station.get("firmware"))
        step.add("config hash (SHA-256)", station.get("config_sha256"))
        if self.opt.connector not in self.info.get("connectors", []):
            raise Skip(f"the station has no connector {self.opt.connector}")
        ocpp = self.status().get("ocpp", {})
        step.add("CSMS connected", bool(ocpp.get("connected")), expected="True",
                 ok=bool(ocpp.get("connected")))
        step.add("registration", ocpp.get("registration"), expected="Accepted",
                 ok=ocpp.get("registration") == "Accepted")
        try:
            rtt = float(self.call("ocpp_ping", timeout_s=60.0)) * 1000
            step.add("CSMS round trip (Heartbeat)", round(rtt, 1), unit="ms",
                     expected="an answer", ok=True)
        except ControlFailed as exc:
            step.add("CSMS round trip (Heartbeat)", str(exc), expected="an answer", ok=False)
        clock = self.info.get("clock", {})
        step.add("clock set by the CSMS", bool(clock.get("known")), expected="True",
                 ok=bool(clock.get("known")))
        offset = clock.get("offset_s")
        if offset is not None:
            step.add("system clock - CSMS clock", offset, unit="s",
                     expected=f"within ±{CLOCK_LIMIT_S:g} s (NTP)",
                     ok=abs(float(offset)) <= CLOCK_LIMIT_S)

    def selftest(self, step: Step) -> None:
        doc = self.call("selftest", timeout_s=120.0)
        for part in doc.get("parts", []):
            step.add(str(part.get("part")), part.get("detail"), expected="pass",
                     ok=bool(part.get("ok")))

    def meter(self, step: Step) -> None:
        rows = {r.get("id"): r for r in self.call("meter").get("connectors", [])}
        row = rows.get(self.opt.connector)
        if row is None or row.get("error") == "no meter configured":
            raise Skip("no meter configured for this connector")
        if row.get("error"):
            step.add("meter", row["error"], expected="a reading", ok=False)
            return
        step.add("model", row.get("model"))
        volts = [v for v in row.get("voltage_v") or [] if isinstance(v, int | float)]
        live = [v for v in volts if v > 50.0]
        step.add("phases with voltage", len(live), expected="1 or 3",
                 ok=len(live) in (1, 3))
        low, high = VOLTAGE_RANGE_V
        for n, v in enumerate(volts, 1):
            step.add(f"voltage L{n}", round(v, 1), unit="V", expected=f"{low:g}..{high:g} V",
                     ok=low <= v <= high)
        freq = row.get("frequency_hz")
        if isinstance(freq, int | float):
            fl, fh = FREQUENCY_RANGE_HZ
            step.add("frequency", round(freq, 2), unit="Hz", expected=f"{fl:g}..{fh:g} Hz",
                     ok=fl <= freq <= fh)
        energy = row.get("energy_wh")
        step.add("energy register", round(energy, 1) if isinstance(energy, int | float)
                 else energy, unit="Wh", expected="a number",
                 ok=isinstance(energy, int | float))
        if row.get("fault"):
            step.add("meter fault", row["fault"], expected="none", ok=False)

    def relays(self, step: Step) -> None:
        c = self.conn()
        if c.get("status") not in ("Available", "Unavailable") or c.get("pilot") != "A":
            raise Skip(f"the socket is not empty (status {c.get('status')}, pilot "
                       f"{c.get('pilot')}): the relay test needs nothing plugged in")
        parts = [("contactor", "closes and opens, mirror confirms both")]
        if c.get("lock") is not None:
            parts.append(("lock", "locks and unlocks, feedback confirms both"))
        for which, expected in parts:
            try:
                message = self.call("relay", {"connector": self.opt.connector, "which": which,
                                              "op": "test"}, timeout_s=30.0)
                step.add(f"{which} test", str(message), expected=expected, ok=True)
            except ControlFailed as exc:
                step.add(f"{which} test", str(exc), expected=expected, ok=False)

    def reader(self, step: Step) -> None:
        if not self.info.get("reader"):
            raise Skip("no RFID reader configured")
        pending = self.link.background("rfid_read", {"timeout_s": self.opt.wait_s},
                                       self.opt.wait_s + 10)
        pending.sent.wait(10.0)
        self.ask(f"Hold a test card on the reader now (within {self.opt.wait_s:g} s).",
                 "its UID is shown")
        try:
            card = pending.result()
        except ControlUnavailable as exc:
            raise Unreachable(str(exc)) from None
        except ControlFailed as exc:
            step.add("card", str(exc), expected="a UID", ok=False)
            return
        if card is None:
            step.add("card", f"none within {self.opt.wait_s:g} s", expected="a UID", ok=False)
            return
        self.card = str(card.get("uid"))
        step.add("card", f"{self.card} ({card.get('type', '?')})", expected="a UID", ok=True)

    def _adapter_state(self, step: Step, state: str) -> None:
        nominal = PILOT_NOMINAL_V[state]
        expected = f"pilot {state}, {nominal:+g} V ± {PILOT_TOLERANCE_V:g} V, contactor open"
        self.ask(f"Set the EV test adapter to state {state} ({nominal:+g} V).", expected)

        def settled(p: dict[str, Any]) -> bool:  # the levels follow the state a little later
            high = p.get("high_v")
            return p["pilot"] == state and isinstance(high, int | float) \
                and abs(high - nominal) <= PILOT_TOLERANCE_V

        probe, reached = self.wait(self.probe, settled)
        c = self.conn()
        self._pilot_readings(step, state, probe, c, reached, nominal)

    def _pilot_readings(self, step: Step, state: str, probe: dict[str, Any],
                        c: dict[str, Any], reached: bool, nominal: float) -> None:
        step.add(f"{state}: pilot state", probe["pilot"], expected=state, ok=reached)
        high = probe.get("high_v")
        step.add(f"{state}: pilot high level", high, unit="V",
                 expected=f"{nominal:+g} ± {PILOT_TOLERANCE_V:g} V",
                 ok=isinstance(high, int | float) and abs(high - nominal) <= PILOT_TOLERANCE_V)
        contactor = probe["contactor"]
        step.add(f"{state}: contactor", f"commanded {contactor['commanded']}, mirror "
                 f"{contactor['mirror']}", expected="open (no authorised session)",
                 ok=contactor["commanded"] == "open" and contactor["mirror"] == "open")
        if probe.get("lock") is not None:
            lock = probe["lock"]
            expected = "unlocked" if state == "A" else None
            step.add(f"{state}: lock", lock["feedback"], expected=expected,
                     ok=None if expected is None else lock["feedback"] == expected)
        step.add(f"{state}: connector status", c.get("status"))
        step.add(f"{state}: connector faults", ", ".join(c.get("faults") or []) or "none")

    def pilot(self, step: Step) -> None:
        for state in ("A", "B", "C", "D", "E"):
            self._adapter_state(step, state)
        card = f" ({self.card})" if self.card else ""
        mark = self._log_mark()
        self.ask("Set the adapter to C with DIODE SHORT, then tap the test card"
                 f"{card}: the station offers PWM only to an authorised EV.",
                 f"diode check fails: {PILOT_FAULT}, contactor stays open")
        # The station reacts within milliseconds of the PWM (fault, PWM off, fault gone):
        # its log keeps what a look at the status would miss.
        found = self._log_search(mark, DIODE_LOG)
        step.add("diode short: diode check", found or "no diode fault logged",
                 expected=f"{PILOT_FAULT}: {DIODE_LOG}", ok=found is not None)
        probe = self.probe()
        contactor = probe["contactor"]
        step.add("diode short: contactor", f"commanded {contactor['commanded']}, mirror "
                 f"{contactor['mirror']}", expected="open",
                 ok=contactor["commanded"] == "open" and contactor["mirror"] == "open")
        self.ask("Set the adapter back to A.", "pilot A, no fault")
        c, back = self.wait(self.conn, lambda c: c.get("pilot") == "A"
                            and PILOT_FAULT not in (c.get("faults") or []))
        step.add("back to A", f"pilot {c.get('pilot')}, status {c.get('status')}",
                 expected="pilot A, no pilot fault", ok=back)

    def _log_mark(self) -> int:
        """The controller log's newest record number (``_log_search`` looks after it)."""
        doc = self.call("logs", {"records": True, "limit": 1})
        return int(doc.get("next", 0))

    def _log_search(self, after: int, text: str, limit_s: float | None = None) -> str | None:
        """The first record of this connector after ``after`` that contains ``text``,
        waiting up to ``limit_s`` (default ``wait_s``) for it."""
        deadline = time.monotonic() + (self.opt.wait_s if limit_s is None else limit_s)
        while True:
            left = max(0.0, deadline - time.monotonic())
            doc = self.call("logs", {"records": True, "after": after, "wait_s": round(left, 3),
                                     "connector": self.opt.connector},
                            timeout_s=left + 10.0)
            for rec in doc.get("records", []):
                if text in str(rec.get("message")):
                    return f"{rec.get('time')} {rec.get('message')}"
            after = int(doc.get("next", after))
            if time.monotonic() >= deadline:
                return None

    def rcd(self, step: Step) -> None:
        probe = self.probe()
        if probe.get("rcd") is None:
            raise Skip("no RCD/RCM input configured ([hardware.rcd])")
        self.ask("Press the RCD / RCM test button.",
                 f"{RCD_FAULT}, contactor open")
        c, tripped = self.wait(self.conn, lambda c: RCD_FAULT in (c.get("faults") or []))
        probe = self.probe()
        step.add("RCD input", "tripped" if probe["rcd"]["tripped"] else "not tripped",
                 expected="tripped", ok=tripped)
        step.add("connector fault", ", ".join(c.get("faults") or []) or "none",
                 expected=RCD_FAULT, ok=RCD_FAULT in (c.get("faults") or []))
        step.add("connector status", c.get("status"), expected="Faulted",
                 ok=c.get("status") == "Faulted")
        step.add("contactor", probe["contactor"]["mirror"], expected="open",
                 ok=probe["contactor"]["mirror"] == "open")
        self.ask("Reset the RCD.", "the fault clears by itself")
        c, cleared = self.wait(self.conn, lambda c: RCD_FAULT not in (c.get("faults") or []))
        step.add("after reset", c.get("status"), expected=f"no {RCD_FAULT}", ok=cleared)

    def proximity(self, step: Step) -> None:
        if not self.probe().get("proximity"):
            raise Skip("no proximity input (fixed cable)")
        for rating, resistor in PP_CODING.items():
            self.ask(f"Set the adapter's PP selector to {rating} A ({resistor}).",
                     f"cable rating {rating} A")
            def rated(p: dict[str, Any], r: int = rating) -> bool:
                return p.get("cable_a") == r

            probe, ok = self.wait(self.probe, rated)
            step.add(f"PP {resistor}", probe.get("cable_a"), unit="A",
                     expected=f"{rating} A", ok=ok)

    def charge(self, step: Step) -> None:
        card = f" {self.card}" if self.card else ""
        self.ask(f"Remove the test adapter. Plug in the EV (or the test load) and tap the "
                 f"test card{card}.", "Charging, contactor closed")
        c, started = self.wait(
            self.conn, lambda c: c.get("status") == "Charging" and c.get("contactor") == "closed")
        step.add("status", c.get("status"), expected="Charging", ok=started)
        step.add("contactor", c.get("contactor"), expected="closed", ok=started)
        if c.get("lock") is not None:
            step.add("lock", c.get("lock"), expected="locked", ok=c.get("lock") == "locked")
        if not started:
            return
        c, confirmed = self.wait(  # the id comes with the CSMS's StartTransaction answer
            self.conn, lambda c: (c.get("transaction") or {}).get("id") is not None)
        step.add("transaction", (c.get("transaction") or {}).get("id"),
                 expected="an id from the CSMS", ok=confirmed)
        step.add("offered current", c.get("limit_a"), unit="A")
        first, _ = self.wait(self._meter_row, lambda r: (r.get("power_w") or 0) > 0)
        self.samples.append(first)  # from the moment the meter sees the load
        self.say(f"  measuring for {self.opt.charge_s:g} s ...")
        end = time.monotonic() + self.opt.charge_s
        give_up = end + self.opt.wait_s  # past `end` only until the meter was read anew
        while True:
            time.sleep(min(1.0, max(POLL_S, end - time.monotonic())))
            row = self._meter_row()
            self.samples.append(row)
            now = time.monotonic()
            if now >= give_up or (now >= end and row.get("energy_wh") != first.get(
                    "energy_wh")):
                break
        power = max((r.get("power_w") or 0.0 for r in self.samples), default=0.0)
        step.add("highest power", round(power, 1), unit="W", expected="> 0 W", ok=power > 0)
        self.ask("End the charge: tap the card again or unplug the EV.",
                 "contactor open, transaction ended")
        c, ended = self.wait(self.conn, lambda c: c.get("contactor") == "open"
                             and c.get("transaction") is None)
        step.add("after the charge", f"contactor {c.get('contactor')}, status "
                 f"{c.get('status')}", expected="contactor open, no transaction", ok=ended)

    def _meter_row(self) -> dict[str, Any]:
        rows = {r.get("id"): r for r in self.call("meter").get("connectors", [])}
        row = dict(rows.get(self.opt.connector, {}))
        row["at"] = now_iso()
        return row

    def meter_load(self, step: Step) -> None:
        energies = [float(r["energy_wh"]) for r in self.samples
                    if isinstance(r.get("energy_wh"), int | float)]
        if len(energies) < 2:
            raise Skip("no meter readings under load (the charge did not run)")
        step.add("energy at the start", round(energies[0], 3), unit="Wh")
        step.add("energy at the end", round(energies[-1], 3), unit="Wh")
        gained = round(energies[-1] - energies[0], 3)
        step.add("energy counted", gained, unit="Wh", expected="> 0 Wh", ok=gained > 0)

    def phase_order(self, step: Step) -> None:
        loaded = [r for r in self.samples if (r.get("power_w") or 0) > 0]
        if not loaded:
            raise Skip("no meter readings under load (the charge did not run)")
        # the sample with the most current (a poll that straddles the load's start may carry
        # power from one register block and no current yet from another)
        peak = max(loaded, key=lambda r: sum(
            float(a) for a in r.get("current_a") or [] if isinstance(a, int | float)))
        amps = [float(a) for a in peak.get("current_a") or []]
        step.add("current per phase", [round(a, 2) for a in amps], unit="A")
        carrying = [n for n, a in enumerate(amps, 1) if a > 1.0]
        if len(carrying) == 1:
            step.add("single-phase load on", f"L{carrying[0]}", expected="L1",
                     ok=carrying == [1])
        else:
            mean = sum(amps) / len(amps) if amps else 0.0
            balanced = bool(amps) and all(abs(a - mean) <= 0.2 * mean for a in amps)
            step.add("three-phase load", f"on {', '.join(f'L{n}' for n in carrying)}",
                     expected="L1, L2, L3 within 20 %", ok=len(carrying) == 3 and balanced)
        powers = [float(p) for p in peak.get("power_w_phases") or []
                  if isinstance(p, int | float)]
        if powers:
            step.add("power per phase", [round(p, 1) for p in powers], unit="W",
                     expected=">= 0 W on each (a negative one: CT or phase reversed)",
                     ok=all(p >= 0 for p in powers))
        answer = self.ask("Rotary field tester on the socket (L1-L2-L3): is the field "
                          "clockwise? Answer y, n, or n/a (single-phase supply).",
                          "y (clockwise)")
        word = answer.lower()
        step.add("rotary field (technician)", answer or "(no answer)", expected="y",
                 ok=None if word in ("n/a", "na") else word in ("y", "yes"))
