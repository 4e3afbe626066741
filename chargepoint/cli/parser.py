"""The argparse tree of ``chargepoint`` (docs/cli.md describes every command)."""

from __future__ import annotations

import argparse
import re

from chargepoint import __version__
from chargepoint.cli import daemon, local
from chargepoint.control.protocol import RELAY_OPS, RELAY_WHICH

SIM_FAULTS = ("welded", "lock", "meter", "rcd", "pilot", "diode", "none")
_UID_RE = re.compile(r"^[0-9A-Fa-f]{2,40}$")


def _connector(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a connector number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("connectors are numbered from 1")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError("must be in (0, 3600] seconds")
    return value


def _connector_or_site(text: str) -> int | str:
    return "site" if text == "site" else _connector(text)


def _house_amps(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a current: {text!r}") from None
    if not 0 <= value <= 1000:
        raise argparse.ArgumentTypeError("must be in [0, 1000] A")
    return value


def _amps(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a current: {text!r}") from None
    if not 0 < value <= 80:
        raise argparse.ArgumentTypeError("must be in (0, 80] A")
    return value


def _uid(text: str) -> str:
    if not _UID_RE.match(text) or len(text) % 2:
        raise argparse.ArgumentTypeError(f"a card UID is an even number of hex digits: {text!r}")
    return text.upper()


def _json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON document")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chargepoint",
        description="EV charging station controller (IEC 61851-1, Modbus meter, RFID, OCPP 1.6J)",
        epilog="Exit status: 0 success, 1 refused or failed, 2 bad usage or bad config file.")
    parser.add_argument("--version", action="version", version=f"chargepoint {__version__}")
    parser.add_argument("--config", metavar="PATH", help="config file (default "
                        "$CHARGEPOINT_CONFIG or /etc/chargepoint/chargepoint.toml)")
    parser.add_argument("--socket", metavar="PATH", help="control socket (default "
                        "$CHARGEPOINT_SOCKET, else [control] socket, else "
                        "/run/chargepoint/control.sock)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("run", help="run the controller in the foreground (systemd starts this)")
    p.set_defaults(func=local.cmd_run)

    p = sub.add_parser("demo", help="simulated station + local CSMS: one session end to end")
    p.add_argument("--keep", action="store_true",
                   help="leave the CSMS and the station running afterwards (Ctrl-C ends)")
    p.add_argument("--seconds", type=_seconds, default=4.0, help="how long to charge (4)")
    p.set_defaults(func=local.cmd_demo)

    p = sub.add_parser("config", help="configuration file tools")
    config_sub = p.add_subparsers(dest="config_command", metavar="SUBCOMMAND", required=True)
    c = config_sub.add_parser("check", help="validate a config file")
    c.add_argument("path", nargs="?", help="file to check (default: --config)")
    _json(c)
    c.set_defaults(func=local.cmd_config_check)

    p = sub.add_parser("status", help="station, OCPP link and every connector")
    _json(p)
    p.set_defaults(func=daemon.cmd_status)

    p = sub.add_parser("meter", help="meter readings per connector")
    _json(p)
    p.add_argument("--watch", action="store_true", help="refresh until Ctrl-C")
    p.add_argument("--interval", type=_seconds, default=1.0, help="--watch period (s, 1)")
    p.add_argument("--count", type=int, default=None, help="--watch: stop after N refreshes")
    p.set_defaults(func=daemon.cmd_meter)
    meter_sub = p.add_subparsers(dest="meter_command", metavar="SUBCOMMAND")
    m = meter_sub.add_parser("probe", help="read a meter directly (no daemon needed)")
    m.add_argument("--port", required=True, help="serial device, e.g. /dev/ttyUSB0")
    m.add_argument("--model", required=True, help="register map (see `meter models`)")
    m.add_argument("--unit", type=int, default=1, help="Modbus unit id (1)")
    m.add_argument("--baudrate", type=int, default=None, help="default: the model's")
    m.add_argument("--parity", choices=("N", "E", "O"), default=None,
                   help="default: the model's")
    m.add_argument("--timeout", type=_seconds, default=1.0, help="per request (s, 1)")
    _json(m)
    m.set_defaults(func=local.cmd_meter_probe)
    m = meter_sub.add_parser("models", help="the meter register maps this version knows")
    _json(m)
    m.set_defaults(func=local.cmd_meter_models)

    p = sub.add_parser("rfid", help="RFID reader tools")
    rfid_sub = p.add_subparsers(dest="rfid_command", metavar="SUBCOMMAND", required=True)
    r = rfid_sub.add_parser("read", help="wait for a card and print its UID")
    r.add_argument("--device", help="read straight from this nfcpy device (tty:S0:pn532, usb)")
    r.add_argument("--timeout", type=_seconds, default=10.0, help="seconds to wait (10)")
    _json(r)
    r.set_defaults(func=local.cmd_rfid_read)

    p = sub.add_parser("fault", help="latched faults")
    fault_sub = p.add_subparsers(dest="fault_command", metavar="SUBCOMMAND", required=True)
    f = fault_sub.add_parser("clear", help="clear a latched fault after repair (technician)")
    f.add_argument("connector", type=_connector)
    _json(f)
    f.set_defaults(func=daemon.cmd_fault_clear)

    p = sub.add_parser("relay", help="technician relay test (connector must be idle)")
    p.add_argument("connector", type=_connector)
    p.add_argument("which", choices=RELAY_WHICH)
    p.add_argument("op", choices=RELAY_OPS)
    _json(p)
    p.set_defaults(func=daemon.cmd_relay)

    p = sub.add_parser("selftest", help="check every hardware part")
    _json(p)
    p.set_defaults(func=daemon.cmd_selftest)

    p = sub.add_parser("logs", help="recent controller log")
    p.add_argument("--since", metavar="WHEN", help='e.g. "10 min ago", "2026-01-01 12:00"')
    p.add_argument("-n", "--lines", type=int, default=200, help="at most N lines (200)")
    _json(p)
    p.set_defaults(func=daemon.cmd_logs)

    p = sub.add_parser("ocpp", help="CSMS link tools")
    ocpp_sub = p.add_subparsers(dest="ocpp_command", metavar="SUBCOMMAND", required=True)
    o = ocpp_sub.add_parser("ping", help="CSMS round trip (one Heartbeat)")
    _json(o)
    o.set_defaults(func=daemon.cmd_ocpp_ping)

    _sim(sub)

    p = sub.add_parser("completion", help="print a shell completion script")
    p.add_argument("shell", choices=("bash",))
    p.set_defaults(func=None)
    return parser


def _sim(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("sim", help="drive the simulated bench ([hardware] simulate = true)")
    sim_sub = p.add_subparsers(dest="sim_command", metavar="SUBCOMMAND", required=True)
    s = sim_sub.add_parser("plug", help="an EV is plugged in (pilot B, then C)")
    s.add_argument("connector", type=_connector)
    s.add_argument("--max-current", type=_amps, default=None, help="what the EV draws at most")
    s = sim_sub.add_parser("unplug", help="the EV leaves (pilot A)")
    s.add_argument("connector", type=_connector)
    s = sim_sub.add_parser("ev", help="the EV asks for energy or pauses")
    s.add_argument("connector", type=_connector)
    s.add_argument("mode", choices=("charge", "pause"))
    s = sim_sub.add_parser("tap", help="present a card to the reader")
    s.add_argument("uid", type=_uid)
    s = sim_sub.add_parser("fault", help="inject a fault (none clears); CONNECTOR \"site\": "
                                         "the [site] grid meter (meter, none)")
    s.add_argument("connector", type=_connector_or_site)
    s.add_argument("kind", choices=SIM_FAULTS)
    s = sim_sub.add_parser("house", help="the household load on every phase, as the [site] "
                                         "grid meter sees it")
    s.add_argument("amps", type=_house_amps)
    s = sim_sub.add_parser("power", help="mains present or failed (the station runs on, as "
                                         "on a UPS)")
    s.add_argument("state", choices=("on", "off"))
    for s in sim_sub.choices.values():
        _json(s)
        s.set_defaults(func=daemon.cmd_sim)
