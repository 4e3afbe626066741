"""The control socket protocol: what the CLI may ask the running controller.

Framing: one JSON object per line (UTF-8, ``\\n``-terminated) in each direction.

    request  {"cmd": "status", "args": {}}
    reply    {"ok": true, "result": ...}   or   {"ok": false, "error": "one-line reason"}

A connection may carry any number of requests, answered in order. A request line longer than
``MAX_REQUEST`` bytes or not a JSON object with a known ``cmd`` gets an error reply.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from chargepoint.control.logquery import LogArgsError, LogQuery, parse_log_args

MAX_REQUEST = 64 * 1024  # bytes per request line, newline included


class Refused(Exception):
    """Raised by a ``ControlTarget`` method to refuse an operation; ``str()`` is the reason.

    The client sees ``{"ok": false, "error": reason}`` and the CLI exits with status 1.
    """


class ProtocolError(ValueError):
    """A request that is not well formed (bad JSON, unknown command, bad arguments)."""


class ControlTarget(Protocol):
    """What the runtime implements for the control socket. Each call may take a while
    (``rfid_read`` waits for a card); raise ``Refused`` to refuse."""

    async def status(self) -> dict[str, Any]:
        """The status document of docs/INTERFACE (station, ocpp, connectors)."""

    async def meter(self) -> dict[str, Any]:
        """``{"connectors": [{"id": 1, "energy_wh": ..., "power_w": ..., ...}]}``."""

    async def fault_clear(self, connector: int) -> str:
        """Technician clears latched faults; returns a human message."""

    async def relay(self, connector: int, which: str, op: str) -> str:
        """``which`` in {contactor, lock}, ``op`` in {on, off, test}; returns a human message."""

    async def selftest(self) -> dict[str, Any]:
        """``{"parts": [{"part": "meter", "ok": true, "detail": "..."}], "ok": bool}``."""

    async def rfid_read(self, timeout_s: float) -> dict[str, Any] | None:
        """The next card ``{"uid": ..., "type": ...}``; None when none came in time."""

    async def ocpp_ping(self) -> float:
        """Round-trip seconds of one CSMS request; raise ``Refused`` when offline."""

    async def sim(self, command: str, args: dict[str, Any]) -> dict[str, Any]:
        """Drive the simulated bench (plug, unplug, ev, tap, fault, power, house; describe only
        reports); every command answers the bench's description. Refused on real
        hardware."""

    async def logs(self, since: str | None, query: LogQuery | None = None) -> Any:
        """Recent log lines (oldest first), optionally only those since ``since``; with a
        ``query`` the extended answer of ``chargepoint.control.logquery``."""

    async def commission(self, op: str, args: dict[str, Any]) -> Any:
        """The commissioning desk (``chargepoint.commission.desk``): ``info``, ``probe``,
        ``save``, ``latest``."""


RELAY_WHICH = ("contactor", "lock")
RELAY_OPS = ("on", "off", "test")
SIM_COMMANDS = ("plug", "unplug", "ev", "tap", "fault", "power", "adapter", "house", "describe")
COMMISSION_OPS = ("info", "probe", "save", "latest")


@dataclass(frozen=True, slots=True)
class Request:
    cmd: str
    args: dict[str, Any]


def _connector(args: dict[str, Any]) -> int:
    value = args.get("connector")
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ProtocolError("args.connector must be a connector number (1..N)")
    return value


def _number(args: dict[str, Any], name: str, default: float) -> float:
    value = args.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 3600:
        raise ProtocolError(f"args.{name} must be a number of seconds in (0, 3600]")
    return float(value)


def _choice(args: dict[str, Any], name: str, choices: tuple[str, ...]) -> str:
    value = args.get(name)
    if value not in choices:
        raise ProtocolError(f"args.{name} must be one of {', '.join(choices)}")
    return str(value)


# Commands answered by the server itself, without the target.
LOCAL_COMMANDS = ("ping",)
TARGET_COMMANDS = ("status", "meter", "fault_clear", "relay", "selftest", "rfid_read",
                   "ocpp_ping", "sim", "logs", "commission")
COMMANDS = LOCAL_COMMANDS + TARGET_COMMANDS


def parse_request(line: bytes) -> Request:
    """Decode one request line; raises ``ProtocolError`` naming what is wrong."""
    try:
        data = json.loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ProtocolError("a request is a JSON object {\"cmd\": ..., \"args\": {...}}")
    cmd = data.get("cmd")
    args = data.get("args", {})
    if not isinstance(cmd, str) or cmd not in COMMANDS:
        raise ProtocolError(f"unknown cmd {cmd!r}; known: {', '.join(COMMANDS)}")
    if not isinstance(args, dict):
        raise ProtocolError("args must be a JSON object")
    return Request(cmd, args)


def request_timeout(req: Request, default: float) -> float:
    """How long the server lets the target work on ``req`` before answering with an error."""
    if req.cmd == "rfid_read":
        return _number(req.args, "timeout_s", 10.0) + default
    if req.cmd == "logs" and isinstance(req.args.get("wait_s"), int | float):
        return float(req.args["wait_s"]) + default
    return default


async def dispatch(target: ControlTarget, req: Request) -> Any:
    """Call the target method for ``req`` with validated arguments; returns its result.

    Raises ``ProtocolError`` for bad arguments and passes ``Refused`` through.
    """
    a = req.args
    match req.cmd:
        case "ping":
            return "pong"
        case "status":
            return await target.status()
        case "meter":
            return await target.meter()
        case "fault_clear":
            return await target.fault_clear(_connector(a))
        case "relay":
            return await target.relay(_connector(a), _choice(a, "which", RELAY_WHICH),
                                      _choice(a, "op", RELAY_OPS))
        case "selftest":
            return await target.selftest()
        case "rfid_read":
            return await target.rfid_read(_number(a, "timeout_s", 10.0))
        case "ocpp_ping":
            return await target.ocpp_ping()
        case "sim":
            sim_args = a.get("args", {})
            if not isinstance(sim_args, dict):
                raise ProtocolError("args.args must be a JSON object")
            return await target.sim(_choice(a, "command", SIM_COMMANDS), sim_args)
        case "logs":
            since = a.get("since")
            if since is not None and not isinstance(since, str):
                raise ProtocolError("args.since must be a string")
            try:
                query = parse_log_args(a)
            except LogArgsError as exc:
                raise ProtocolError(str(exc)) from None
            return await (target.logs(since) if query is None else target.logs(since, query))
        case "commission":
            op_args = a.get("args", {})
            if not isinstance(op_args, dict):
                raise ProtocolError("args.args must be a JSON object")
            return await target.commission(_choice(a, "op", COMMISSION_OPS), op_args)
    raise ProtocolError(f"unknown cmd {req.cmd!r}")  # pragma: no cover - parse_request checks


def encode(message: dict[str, Any]) -> bytes:
    """One reply or request line."""
    return json.dumps(message, separators=(",", ":"), default=str).encode() + b"\n"


def ok(result: Any) -> bytes:
    return encode({"ok": True, "result": result})


def error(reason: str) -> bytes:
    return encode({"ok": False, "error": " ".join(reason.split()) or "error"})
