"""Commands that ask the running controller over the control socket."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from chargepoint.cli import render
from chargepoint.cli.common import EXIT_FAILED, EXIT_OK, CliError, Output, call, printable


def cmd_status(args: argparse.Namespace, out: Output) -> int:
    doc = call(args, "status")
    out.emit(doc, lambda: render.status(doc))
    return EXIT_OK


def cmd_meter(args: argparse.Namespace, out: Output) -> int:
    if not args.watch:
        doc = call(args, "meter")
        out.emit(doc, lambda: render.meter(doc))
        return EXIT_OK
    # --watch: refresh in place on a terminal; JSON mode prints one document per line.
    in_place = not out.json and out.out.isatty()
    shown = 0
    try:
        while args.count is None or shown < args.count:
            doc = call(args, "meter")
            if out.json:
                out.line(json.dumps(doc, default=str))
            else:
                stamp = time.strftime("%H:%M:%S")
                text = f"{render.meter(doc)}\n\n{stamp}  every {args.interval:g} s, Ctrl-C ends"
                out.out.write(("\x1b[H\x1b[2J" if in_place else "") + printable(text) + "\n")
                out.out.flush()
            shown += 1
            if args.count is None or shown < args.count:
                time.sleep(args.interval)  # the refresh period the operator asked for
    except KeyboardInterrupt:
        pass
    return EXIT_OK


def cmd_fault_clear(args: argparse.Namespace, out: Output) -> int:
    message = call(args, "fault_clear", {"connector": args.connector})
    out.emit({"ok": True, "message": message}, lambda: str(message))
    return EXIT_OK


def cmd_relay(args: argparse.Namespace, out: Output) -> int:
    message = call(args, "relay", {"connector": args.connector, "which": args.which,
                                   "op": args.op}, timeout_s=30.0)
    out.emit({"ok": True, "message": message}, lambda: str(message))
    return EXIT_OK


def cmd_selftest(args: argparse.Namespace, out: Output) -> int:
    doc = call(args, "selftest", timeout_s=120.0)
    out.emit(doc, lambda: render.selftest(doc))
    if not doc.get("ok"):
        failed = [str(p.get("part")) for p in doc.get("parts", []) if not p.get("ok")]
        out.err.write(f"selftest failed: {', '.join(failed) or 'see above'}\n")
        return EXIT_FAILED
    return EXIT_OK


def cmd_ocpp_ping(args: argparse.Namespace, out: Output) -> int:
    seconds = float(call(args, "ocpp_ping", timeout_s=60.0))
    doc = {"reachable": True, "rtt_ms": round(seconds * 1000, 1)}
    out.emit(doc, lambda: f"CSMS reachable, round trip {seconds * 1000:.1f} ms")
    return EXIT_OK


def _sim_args(args: argparse.Namespace) -> dict[str, Any]:
    match args.sim_command:
        case "plug":
            extra: dict[str, Any] = {"connector": args.connector}
            if args.max_current is not None:
                extra["max_current_a"] = args.max_current
            return extra
        case "unplug":
            return {"connector": args.connector}
        case "ev":
            return {"connector": args.connector, "mode": args.mode}
        case "tap":
            return {"uid": args.uid}
        case "fault":
            return {"connector": args.connector, "kind": args.kind}
        case "power":
            return {"state": args.state}
        case "adapter":
            return {"connector": args.connector, "state": args.state, "cable_a": args.cable}
        case "house":
            return {"amps": args.amps}
    raise CliError(f"unknown sim command {args.sim_command}", code=2)  # pragma: no cover


def cmd_sim(args: argparse.Namespace, out: Output) -> int:
    result = call(args, "sim", {"command": args.sim_command, "args": _sim_args(args)})
    out.emit(result, lambda: f"sim {args.sim_command}: done")
    return EXIT_OK
