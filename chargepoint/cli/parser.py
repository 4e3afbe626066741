"""The argparse tree of ``chargepoint`` (docs/cli.md describes every command)."""

from __future__ import annotations

import argparse
import importlib
import re
from collections.abc import Callable

from chargepoint import __version__
from chargepoint.cli import daemon, local, logs
from chargepoint.cli.common import Output
from chargepoint.control.protocol import RELAY_OPS, RELAY_WHICH

SIM_FAULTS = ("welded", "lock", "meter", "rcd", "pilot", "diode", "none")
_UID_RE = re.compile(r"^[0-9A-Fa-f]{2,40}$")


def _commission(name: str) -> Callable[[argparse.Namespace, Output], int]:
    """``chargepoint.cli.commission.<name>``, imported when the command runs: other commands
    (``chargepoint run``) do not load the commissioning walk."""
    def command(args: argparse.Namespace, out: Output) -> int:
        module = importlib.import_module("chargepoint.cli.commission")
        return int(getattr(module, name)(args, out))

    return command


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


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of lines: {text!r}") from None
    if not 1 <= value <= 100_000:
        raise argparse.ArgumentTypeError("must be in 1..100000")
    return value


def _units(text: str) -> list[int]:
    units: list[int] = []
    try:
        for part in text.split(","):
            low, _, high = part.partition("-")
            units.extend(range(int(low), int(high or low) + 1))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of unit ids: {text!r}") from None
    if not units or not all(1 <= u <= 247 for u in units):
        raise argparse.ArgumentTypeError("unit ids are 1..247, e.g. 1-10,20")
    return list(dict.fromkeys(units))


def _baudrates(text: str) -> list[int]:
    try:
        rates = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of baud rates: {text!r}") from None
    if not all(300 <= r <= 921600 for r in rates):
        raise argparse.ArgumentTypeError("baud rates are 300..921600, e.g. 9600,19200")
    return rates


def _parities(text: str) -> list[str]:
    parities = [part.strip().upper() for part in text.split(",")]
    if not all(p in ("N", "E", "O") for p in parities):
        raise argparse.ArgumentTypeError(f"parities are N, E, O, e.g. N,E; not {text!r}")
    return parities


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


def _parse_words(words: list[str]) -> argparse.Namespace:
    """A command line parsed as the CLI would (``commission`` runs ``sim`` lines with it)."""
    return build_parser().parse_args(words)


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
    p.add_argument("--ocpp", choices=("1.6", "2.0.1"), default="1.6",
                   help="OCPP version of the CSMS and the station (1.6)")
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
    m.add_argument("--timeout", type=_seconds, default=None,
                   help="per request (s; 1, with --scan 0.2)")
    m.add_argument("--scan", action="store_true", help="find a meter of this model: try "
                   "every unit id, baud rate and parity (with progress on stderr)")
    m.add_argument("--units", type=_units, default=None, metavar="RANGE",
                   help="--scan: unit ids to try, e.g. 1-10,20 (1-247)")
    m.add_argument("--baudrates", type=_baudrates, default=None, metavar="LIST",
                   help="--scan: baud rates to try, e.g. 9600,19200 (the model's, then "
                        "9600 19200 2400 4800 38400 57600 115200)")
    m.add_argument("--parities", type=_parities, default=None, metavar="LIST",
                   help="--scan: parities to try, e.g. N,E (the model's, then N E O)")
    m.add_argument("--all", action="store_true", help="--scan: go on after the first meter")
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

    p = sub.add_parser("logs", help="recent controller log (journald, else the controller's "
                                    "own buffer, else [logging] file)")
    p.add_argument("--since", metavar="WHEN", help='what journalctl takes: "1 hour ago", '
                   '"10 min ago", today, yesterday, "2026-01-01 12:00", ISO 8601')
    p.add_argument("-n", "--lines", type=_count, default=200, help="at most N lines (200)")
    p.add_argument("--connector", type=_connector, default=None,
                   help="only lines about this connector")
    p.add_argument("-f", "--follow", action="store_true",
                   help="keep printing new lines (Ctrl-C, --for, or the controller stopping "
                        "ends)")
    p.add_argument("--for", dest="follow_for", type=_seconds, default=None, metavar="S",
                   help="with --follow: stop after S seconds")
    _json(p)
    p.set_defaults(func=logs.cmd_logs)

    p = sub.add_parser("commission", help="guided commissioning walk with a report "
                                          "(technician)")
    p.add_argument("--technician", metavar="NAME", default="", help="who commissions "
                   "(written into the report)")
    p.add_argument("--non-interactive", action="store_true",
                   help="only the steps that need no hands")
    p.add_argument("--answers", metavar="FILE", help="read the answers from FILE instead of "
                   "the terminal (lines `sim ...` drive the simulated bench)")
    p.add_argument("--connector", type=_connector, default=1, help="connector to commission (1)")
    p.add_argument("--wait", type=_seconds, default=30.0,
                   help="how long a step waits for the reading it expects (s, 30)")
    p.add_argument("--charge-seconds", type=_seconds, default=30.0,
                   help="how long the supervised charge is measured (s, 30)")
    _json(p)
    p.set_defaults(func=_commission("cmd_commission"), parse_command=_parse_words)
    commission_sub = p.add_subparsers(dest="commission_command", metavar="SUBCOMMAND")
    c = commission_sub.add_parser("report", help="show the latest commissioning report")
    _json(c)
    c.set_defaults(func=_commission("cmd_report"))

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
    s = sim_sub.add_parser("adapter", help="an EV test adapter in the socket: CP switch A..E "
                                           "or diode (C, diode shorted), off removes it")
    s.add_argument("connector", type=_connector)
    s.add_argument("state", choices=("A", "B", "C", "D", "E", "diode", "off"))
    s.add_argument("--cable", type=int, choices=(13, 20, 32, 63), default=None,
                   help="the adapter's PP selector: cable rating in A (default: open)")
    for s in sim_sub.choices.values():
        _json(s)
        s.set_defaults(func=daemon.cmd_sim)
