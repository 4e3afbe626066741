"""What every CLI command shares: exit codes, output, config and socket resolution."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from chargepoint.config import Config, ConfigError, load_config
from chargepoint.control import ControlFailed, ControlUnavailable, request

EXIT_OK = 0
EXIT_FAILED = 1  # refused or failed operation (one-line reason on stderr)
EXIT_USAGE = 2  # bad usage or bad config file

DEFAULT_CONFIG = "/etc/chargepoint/chargepoint.toml"
DEFAULT_SOCKET = "/run/chargepoint/control.sock"
ENV_CONFIG = "CHARGEPOINT_CONFIG"
ENV_SOCKET = "CHARGEPOINT_SOCKET"


# C0/C1 control characters other than newline and tab: text from the daemon (which runs
# CSMS-updatable code) must not be able to drive the terminal of whoever runs the CLI (root).
_CONTROL = {c: None for c in (*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0))}


def printable(text: str) -> str:
    """``text`` without terminal control characters (newlines and tabs stay)."""
    return text.translate(_CONTROL)


class CliError(Exception):
    """End the command with ``code`` and the one-line ``message`` on stderr."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Output:
    """Where a command writes: ``emit`` prints JSON with ``--json``, else the human text."""

    json: bool = False
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)

    def emit(self, doc: Any, human: Callable[[], str]) -> None:
        if self.json:
            self.out.write(json.dumps(doc, indent=2, default=str) + "\n")
        else:
            text = printable(human())
            if text:  # nothing to show (e.g. no log lines): print nothing at all
                self.out.write(text if text.endswith("\n") else text + "\n")
        self.out.flush()

    def line(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()


def config_path(args: argparse.Namespace) -> tuple[str, bool]:
    """The config file path and whether it was chosen explicitly (option or environment)."""
    if args.config:
        return args.config, True
    env = os.environ.get(ENV_CONFIG)
    if env:
        return env, True
    return DEFAULT_CONFIG, False


def require_config(args: argparse.Namespace) -> Config:
    """Load the config or end with exit status 2 and every problem on stderr."""
    path, _ = config_path(args)
    try:
        return load_config(path)
    except ConfigError as exc:
        raise CliError(str(exc), code=EXIT_USAGE) from None


def optional_config(args: argparse.Namespace) -> Config | None:
    """The config if one is there: an explicit path must load; a missing default is None."""
    path, explicit = config_path(args)
    if not explicit and not os.path.exists(path):
        return None
    return require_config(args)


def socket_path(args: argparse.Namespace) -> str:
    """--socket, else $CHARGEPOINT_SOCKET, else [control] socket of the config, else default."""
    if args.socket:
        return str(args.socket)
    env = os.environ.get(ENV_SOCKET)
    if env:
        return env
    cfg = optional_config(args)
    return cfg.control.socket if cfg is not None else DEFAULT_SOCKET


def call(args: argparse.Namespace, cmd: str, cmd_args: dict[str, Any] | None = None,
         timeout_s: float = 10.0) -> Any:
    """One request to the running controller; refusals and absence become ``CliError``."""
    path = socket_path(args)
    try:
        return asyncio.run(request(path, cmd, cmd_args, timeout_s))
    except ControlFailed as exc:
        raise CliError(str(exc)) from None
    except ControlUnavailable as exc:
        raise CliError(str(exc)) from None


def daemon_answers(path: str) -> bool:
    """True when a controller answers ``ping`` on ``path`` (within a second)."""
    try:
        return bool(asyncio.run(request(path, "ping", timeout_s=1.0)) == "pong")
    except (ControlFailed, ControlUnavailable):
        return False
