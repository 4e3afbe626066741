"""Commands that need no running controller (and mostly no config file)."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
from typing import Any

from chargepoint.cli import render
from chargepoint.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    Output,
    call,
    config_path,
    daemon_answers,
    optional_config,
    require_config,
    socket_path,
)
from chargepoint.config import ConfigError, load_config
from chargepoint.config.secrets import exposed_secrets


def cmd_run(args: argparse.Namespace, out: Output) -> int:
    cfg = require_config(args)
    from chargepoint import systemd
    from chargepoint.logs import setup_logging

    setup_logging(cfg.logging, under_systemd=systemd.under_systemd())
    app = importlib.import_module("chargepoint.app")  # the runtime is imported only for `run`
    result = app.run(cfg)
    if inspect.iscoroutine(result):
        result = asyncio.run(result)
    return int(result)


def cmd_demo(args: argparse.Namespace, out: Output) -> int:
    demo = importlib.import_module("chargepoint.demo")
    return int(demo.run_demo(keep=args.keep, out=out.out, charge_s=args.seconds,
                             version=args.ocpp))


def cmd_config_check(args: argparse.Namespace, out: Output) -> int:
    path = args.path or config_path(args)[0]
    try:
        cfg = load_config(path)
    except ConfigError as exc:
        doc = {"ok": False, "path": path, "errors": [
            {"key": i.key, "line": i.line, "message": i.message} for i in exc.issues]}
        if out.json:
            out.emit(doc, str)
        else:
            out.err.write(str(exc) + "\n")
        return EXIT_USAGE
    summary = (f"OK: {path} (station {cfg.station.id}, {cfg.station.connectors} connector(s), "
               f"OCPP {cfg.ocpp.version} profile {cfg.ocpp.security_profile}"
               f"{', simulated hardware' if cfg.hardware.simulate else ''})")
    warnings = exposed_secrets(cfg)
    for warning in warnings:
        out.err.write(f"warning: {warning}\n")
    out.emit({"ok": True, "path": path, "errors": [], "warnings": warnings}, lambda: summary)
    return EXIT_OK


def cmd_meter_models(args: argparse.Namespace, out: Output) -> int:
    from hardware.meter import list_models

    models = list_models()
    out.emit(models, lambda: render.table(["MODEL", "DESCRIPTION"], list(models.items())))
    return EXIT_OK


def cmd_meter_probe(args: argparse.Namespace, out: Output) -> int:
    from hardware.interfaces import MeterFault
    from hardware.meter import MapError, probe, reading_json

    if args.scan:
        return cmd_meter_scan(args, out)
    try:
        result = asyncio.run(probe(args.port, args.model, unit=args.unit, baudrate=args.baudrate,
                                   parity=args.parity, timeout=args.timeout or 1.0))
    except MapError as exc:
        raise CliError(str(exc), code=EXIT_USAGE) from None
    except ValueError as exc:
        raise CliError(f"bad meter settings: {exc}", code=EXIT_USAGE) from None
    except OSError as exc:
        raise CliError(f"cannot open {args.port}: {exc.strerror or exc}") from None
    if isinstance(result, MeterFault):
        raise CliError(f"meter {args.model} unit {args.unit} on {args.port}: {result.reason}")
    doc = reading_json(result)
    out.emit(doc, lambda: render.reading(doc))
    return EXIT_OK


def cmd_rfid_read(args: argparse.Namespace, out: Output) -> int:
    """Through the daemon when it runs (it holds the reader), else straight from the reader:
    ``--device``, else ``[hardware.rfid] device`` of the config (INTERFACE.md)."""
    card: dict[str, Any] | None
    if daemon_answers(socket_path(args)):
        card = call(args, "rfid_read", {"timeout_s": args.timeout},
                    timeout_s=args.timeout + 10)
        return _card(card, args, out)
    device = args.device
    if device is None:
        cfg = optional_config(args)
        if cfg is None or cfg.hardware.rfid is None:
            raise CliError("the controller is not running and no reader is configured: "
                           "give --device (e.g. tty:S0:pn532, usb)")
        device = cfg.hardware.rfid.device
    card = _read_direct(device, args.timeout)
    return _card(card, args, out)


def _read_direct(device: str, timeout_s: float) -> dict[str, Any] | None:
    try:
        from hardware.rfid import read_one  # type: ignore[attr-defined, unused-ignore]
    except ImportError:
        raise CliError("RFID support (hardware.rfid) is not available") from None
    try:
        token = asyncio.run(read_one(device, timeout_s))
    except OSError as exc:
        raise CliError(f"reader {device}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise CliError(f"reader {device}: {exc}", code=EXIT_USAGE) from None
    if token is None:
        return None
    if isinstance(token, dict):
        return token
    uid, kind = getattr(token, "uid", None), getattr(token, "type", None)
    if uid is None:  # a ReaderFailure or similar
        raise CliError(f"reader {device}: {getattr(token, 'reason', token)}")
    return {"uid": uid, "type": kind}


def _card(card: dict[str, Any] | None, args: argparse.Namespace, out: Output) -> int:
    if card is None:
        raise CliError(f"no card within {args.timeout:g} s", code=EXIT_FAILED)
    out.emit(card, lambda: f"{card['uid']}  ({card.get('type', '?')})")
    return EXIT_OK


def cmd_meter_scan(args: argparse.Namespace, out: Output) -> int:
    """``meter probe --scan``: every unit id, baud rate and parity until a meter answers."""
    from hardware.meter import MapError, reading_json
    from hardware.meter.scan import Attempt, scan

    in_place = out.err.isatty()

    def progress(at: Attempt) -> None:
        text = (f"scanning {args.port}: {at.baudrate} Bd {at.parity}, unit {at.unit} "
                f"({at.number}/{at.total})")
        if in_place:
            out.err.write("\r\x1b[K" + text)
        elif at.unit == (args.units or [1])[0]:  # one line per baud rate and parity
            out.err.write(text + "\n")
        out.err.flush()

    bauds = args.baudrates or ([args.baudrate] if args.baudrate else None)
    parities = args.parities or ([args.parity] if args.parity else None)
    try:
        found = asyncio.run(scan(args.port, args.model, units=args.units or range(1, 248),
                                 baudrates=bauds, parities=parities,
                                 timeout=args.timeout or 0.2, find_all=args.all,
                                 progress=progress))
    except MapError as exc:
        raise CliError(str(exc), code=EXIT_USAGE) from None
    except ValueError as exc:
        raise CliError(f"bad meter settings: {exc}", code=EXIT_USAGE) from None
    except OSError as exc:
        raise CliError(f"cannot open {args.port}: {exc.strerror or exc}") from None
    finally:
        if in_place:
            out.err.write("\r\x1b[K")
    if not found:
        raise CliError(f"no {args.model} meter answered on {args.port}")
    doc = {"found": [{"unit": f.unit, "baudrate": f.baudrate, "parity": f.parity,
                      "reading": reading_json(f.reading)} for f in found]}
    out.emit(doc, lambda: "\n".join(
        f"{args.model} at unit {f.unit}, {f.baudrate} Bd, parity {f.parity}: "
        f"{(f.reading.energy_import_wh or 0) / 1000:.3f} kWh   (config: unit = {f.unit}, "
        f"baudrate = {f.baudrate}, parity = \"{f.parity}\")" for f in found))
    return EXIT_OK
