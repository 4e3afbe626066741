"""The ``chargepoint`` command line (docs/cli.md). Parses arguments and calls the package."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Sequence
from typing import TextIO

from chargepoint.cli.common import EXIT_FAILED, EXIT_USAGE, CliError, Output, printable
from chargepoint.cli.completion import bash_script
from chargepoint.cli.parser import build_parser
from chargepoint.config import LoggingConfig
from chargepoint.logs import setup_logging


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None,
         stderr: TextIO | None = None) -> int:
    """Run one command; returns the exit status (0 ok, 1 refused/failed, 2 usage/config)."""
    out_stream = stdout or sys.stdout
    err_stream = stderr or sys.stderr
    parser = build_parser()
    try:
        with contextlib.redirect_stdout(out_stream), contextlib.redirect_stderr(err_stream):
            args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help / --version (0) or bad usage (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_help(err_stream)
        return EXIT_USAGE
    if args.command == "completion":
        out_stream.write(bash_script(parser))
        return 0
    _quiet_logging(args.command)
    out = Output(json=getattr(args, "json", False), out=out_stream, err=err_stream)
    try:
        return int(args.func(args, out))
    except CliError as exc:
        err_stream.write(f"chargepoint: {printable(str(exc))}\n")
        return exc.code
    except KeyboardInterrupt:
        return EXIT_FAILED


def _quiet_logging(command: str) -> None:
    """Library warnings must not add lines to a command's one-line error (``run`` sets up
    its own logging; the demo shows warnings in the usual format)."""
    root = logging.getLogger()
    if command == "run" or root.handlers:
        return
    if command == "demo":
        setup_logging(LoggingConfig(level="warning"), under_systemd=False)
    else:
        root.addHandler(logging.NullHandler())


__all__ = ["main"]
