"""The demo's timeline: every OCPP frame and bench step, printed as it happens, plus a summary.

``Timeline.frame(direction, raw)`` takes OCPP-J frames as they cross the wire (the CSMS feeds
it); ``note(text)`` adds what the demo did to the bench. ``wait_for`` lets the scenario await a
frame instead of sleeping.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

TO_CSMS = "CP -> CSMS"
TO_CP = "CSMS -> CP"
BENCH = "bench"

CALL, CALLRESULT, CALLERROR = 2, 3, 4


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of the timeline. ``action`` is the OCPP action (results carry their call's)."""

    t: float  # seconds since the timeline started
    direction: str  # TO_CSMS, TO_CP or BENCH
    kind: str  # "call", "result", "error" or "note"
    action: str
    payload: dict[str, Any] = field(default_factory=dict)
    text: str = ""  # the human summary
    unique_id: str = ""  # OCPP-J message id (a result carries its call's)


def _energy_wh(payload: dict[str, Any]) -> float | None:
    """The energy register (Wh) of a message's meter values, None if it has none."""
    for mv in payload.get("meterValue", []):
        for sv in mv.get("sampledValue", []):
            if (sv.get("measurand", "Energy.Active.Import.Register")
                    == "Energy.Active.Import.Register" and not sv.get("phase")):
                try:
                    value = float(sv.get("value"))
                except (TypeError, ValueError):
                    continue
                return value * 1000 if _unit(sv, "Wh") == "kWh" else value
    return None


def _unit(sv: dict[str, Any], default: str) -> str:
    """A sampled value's unit: 1.6 ``unit``, 2.0.1 ``unitOfMeasure.unit``."""
    return str(sv.get("unit") or (sv.get("unitOfMeasure") or {}).get("unit") or default)


def _sampled(payload: dict[str, Any]) -> str:
    """The key meter values of a MeterValues.req or TransactionEvent: energy and power."""
    parts = []
    for mv in payload.get("meterValue", []):
        for sv in mv.get("sampledValue", []):
            measurand = sv.get("measurand", "Energy.Active.Import.Register")
            if sv.get("phase"):
                continue
            unit = _unit(sv, "Wh")
            try:
                value = float(sv.get("value"))
            except (TypeError, ValueError):
                continue
            if measurand == "Energy.Active.Import.Register":
                wh = value * 1000 if unit == "kWh" else value
                parts.append(f"{wh:.1f} Wh")
            elif measurand == "Power.Active.Import":
                w = value * 1000 if unit == "kW" else value
                parts.append(f"{w / 1000:.2f} kW")
    return ", ".join(parts) or "no energy/power sample"


def _transaction_event(p: dict[str, Any]) -> str:
    """A 2.0.1 TransactionEvent: its type, transaction, trigger, token and energy."""
    info = p.get("transactionInfo") or {}
    parts = [f"{p.get('eventType')} #{p.get('seqNo')}",
             f"EVSE {(p.get('evse') or {}).get('id', '?')}",
             f"transaction {str(info.get('transactionId', '?'))[:8]}",
             f"trigger {p.get('triggerReason')}"]
    if "idToken" in p:
        parts.append(f"idToken {(p.get('idToken') or {}).get('idToken') or '-'}")
    if info.get("stoppedReason"):
        parts.append(f"reason {info['stoppedReason']}")
    return ", ".join(parts) + f": {_sampled(p)}"


def _summarize_201(kind: str, action: str, p: dict[str, Any]) -> str | None:
    """The 2.0.1 frames whose payloads differ from 1.6's; None for any other."""
    if kind == "call":
        match action:
            case "BootNotification" if "chargingStation" in p:
                station = p["chargingStation"]
                return (f"{station.get('vendorName')} {station.get('model')}, firmware "
                        f"{station.get('firmwareVersion', '?')}, reason {p.get('reason')}")
            case "StatusNotification" if "evseId" in p:
                return f"EVSE {p.get('evseId')}: {p.get('connectorStatus')}"
            case "Authorize" if "idToken" in p:
                return f"idToken {(p.get('idToken') or {}).get('idToken')}"
            case "TransactionEvent":
                return _transaction_event(p)
    elif kind == "result" and "idTokenInfo" in p:
        return str((p.get("idTokenInfo") or {}).get("status"))
    elif kind == "result" and action == "TransactionEvent":
        return "ok"
    return None


def summarize(kind: str, action: str, p: dict[str, Any]) -> str:
    """Key fields of one frame (either version), for humans."""
    tag_status = (p.get("idTagInfo") or {}).get("status")
    if kind == "error":
        return f"{p.get('code')}: {p.get('description')}"
    if (text := _summarize_201(kind, action, p)) is not None:
        return text
    if kind == "call":
        match action:
            case "BootNotification":
                return (f"{p.get('chargePointVendor')} {p.get('chargePointModel')}, "
                        f"firmware {p.get('firmwareVersion', '?')}")
            case "StatusNotification":
                err = p.get("errorCode", "NoError")
                return (f"connector {p.get('connectorId')}: {p.get('status')}"
                        + ("" if err == "NoError" else f" ({err})"))
            case "Authorize":
                return f"idTag {p.get('idTag')}"
            case "StartTransaction":
                return (f"connector {p.get('connectorId')}, idTag {p.get('idTag')}, "
                        f"meterStart {p.get('meterStart')} Wh")
            case "MeterValues":
                return (f"connector {p.get('connectorId')}, transaction "
                        f"{p.get('transactionId')}: {_sampled(p)}")
            case "StopTransaction":
                return (f"transaction {p.get('transactionId')}, meterStop "
                        f"{p.get('meterStop')} Wh, reason {p.get('reason', 'Local')}")
            case "Heartbeat":
                return ""
    else:
        match action:
            case "BootNotification":
                return f"{p.get('status')}, heartbeat every {p.get('interval')} s"
            case "StartTransaction":
                return f"transaction {p.get('transactionId')}, {tag_status}"
            case "Authorize" | "StopTransaction":
                return str(tag_status or "ok")
            case "Heartbeat":
                return f"time {p.get('currentTime')}"
    if not p:
        return ""
    text = json.dumps(p, separators=(",", ":"))
    return text if len(text) <= 70 else text[:67] + "..."


class Timeline:
    """Collects entries; prints each to ``out`` as it arrives when ``live``."""

    def __init__(self, out: TextIO | None = None, *, live: bool = True,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.out = out
        self.live = live
        self.clock = clock
        self.start = clock()
        self.entries: list[Entry] = []
        self._calls: dict[str, str] = {}  # unique id -> action of the CALL
        self._changed = asyncio.Event()

    def _add(self, entry: Entry) -> None:
        self.entries.append(entry)
        self._changed.set()
        if self.live and self.out is not None:
            self.out.write(format_entry(entry) + "\n")
            self.out.flush()

    def note(self, text: str) -> None:
        """Something the demo did (plug in, tap a card...)."""
        self._add(Entry(self.clock() - self.start, BENCH, "note", "", text=text))

    def frame(self, direction: str, raw: str | bytes) -> None:
        """An OCPP-J frame crossing the wire in ``direction`` (TO_CSMS / TO_CP)."""
        try:
            msg = json.loads(raw)
            kind_id, unique_id = int(msg[0]), str(msg[1])
        except (ValueError, TypeError, IndexError, KeyError):
            self._add(Entry(self.clock() - self.start, direction, "error", "?",
                            text=f"malformed frame {raw!r:.60}"))
            return
        if kind_id == CALL:
            action, payload, kind = str(msg[2]), msg[3], "call"
            self._calls[unique_id] = action
        elif kind_id == CALLRESULT:
            action, payload, kind = self._calls.pop(unique_id, "?"), msg[2], "result"
        else:
            action, kind = self._calls.pop(unique_id, "?"), "error"
            payload = {"code": msg[2], "description": msg[3]} if len(msg) > 3 else {}
        payload = payload if isinstance(payload, dict) else {}
        self._add(Entry(self.clock() - self.start, direction, kind, action, payload,
                        summarize(kind, action, payload), unique_id))

    async def wait_for(self, predicate: Callable[[Entry], bool], timeout_s: float,
                       since: int = 0, what: str = "") -> Entry:
        """The first entry from index ``since`` matching ``predicate``; awaits new entries.

        Raises ``TimeoutError`` naming ``what`` when none comes within ``timeout_s``.
        """
        async def scan() -> Entry:
            index = since
            while True:
                while index < len(self.entries):
                    entry = self.entries[index]
                    index += 1
                    if predicate(entry):
                        return entry
                self._changed.clear()
                await self._changed.wait()

        try:
            return await asyncio.wait_for(scan(), timeout_s)
        except TimeoutError:
            raise TimeoutError(f"no {what or 'matching message'} within {timeout_s:g} s") from None

    def summary(self) -> dict[str, Any]:
        """Energy and duration of the last stopped transaction; message counts."""
        energy, duration = self._transaction_201()
        if energy is None:
            energy, duration = self._transaction_16()
        frames = [e for e in self.entries if e.direction != BENCH]
        return {
            "energy_wh": energy,
            "duration_s": None if duration is None else round(duration, 1),
            "messages": len(frames),
            "to_csms": sum(1 for e in frames if e.direction == TO_CSMS),
            "to_cp": sum(1 for e in frames if e.direction == TO_CP),
            "meter_values": sum(1 for e in frames
                                if e.kind == "call" and e.action == "MeterValues"),
            "transaction_updates": sum(1 for e in frames if e.kind == "call"
                                       and e.action == "TransactionEvent"
                                       and e.payload.get("eventType") == "Updated"),
        }

    def _transaction_201(self) -> tuple[float | None, float | None]:
        """(energy Wh, duration s) of the last Ended TransactionEvent and its Started."""
        calls = [e for e in self.entries if e.kind == "call" and e.action == "TransactionEvent"]
        ended = next((e for e in reversed(calls) if e.payload.get("eventType") == "Ended"), None)
        if ended is None:
            return None, None
        tx = (ended.payload.get("transactionInfo") or {}).get("transactionId")
        started = next((e for e in calls if e.payload.get("eventType") == "Started"
                        and (e.payload.get("transactionInfo") or {}).get("transactionId") == tx),
                       None)
        begin, end = _energy_wh(started.payload) if started else None, _energy_wh(ended.payload)
        if started is None or begin is None or end is None:
            return None, None
        return end - begin, ended.t - started.t

    def _transaction_16(self) -> tuple[float | None, float | None]:
        """(energy Wh, duration s) of the last StopTransaction and its StartTransaction."""
        energy = duration = None
        stop = next((e for e in reversed(self.entries)
                     if e.kind == "call" and e.action == "StopTransaction"), None)
        if stop is not None:
            tx = stop.payload.get("transactionId")
            result = next((e for e in self.entries if e.kind == "result"
                           and e.action == "StartTransaction"
                           and e.payload.get("transactionId") == tx), None)
            start = None if result is None else next(
                (e for e in self.entries if e.kind == "call" and e.unique_id == result.unique_id),
                None)
            if start is not None:
                energy = float(stop.payload.get("meterStop", 0)) - float(
                    start.payload.get("meterStart", 0))
                duration = stop.t - start.t
        return energy, duration


def format_entry(entry: Entry) -> str:
    """``  +12.34 s  CP -> CSMS  StartTransaction       connector 1, ...``"""
    if entry.direction == BENCH:
        return f"{entry.t:+9.2f} s  ** {entry.text}"
    name = entry.action + {"call": "", "result": ".conf", "error": " ERROR"}[entry.kind]
    return f"{entry.t:+9.2f} s  {entry.direction:<10}  {name:<26} {entry.text}".rstrip()


def format_summary(s: dict[str, Any]) -> str:
    energy = "-" if s["energy_wh"] is None else f"{s['energy_wh']:.1f} Wh"
    duration = "-" if s["duration_s"] is None else f"{s['duration_s']:.1f} s"
    samples = (f"{s['transaction_updates']} TransactionEvent Updated"
               if s.get("transaction_updates") else f"{s['meter_values']} MeterValues")
    return (f"Summary: {energy} charged, transaction lasted {duration}; {s['messages']} OCPP "
            f"messages ({s['to_csms']} to the CSMS, {s['to_cp']} to the station, "
            f"{samples})")
