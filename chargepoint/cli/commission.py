"""``chargepoint commission``: the guided commissioning walk, and ``commission report``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import sys
import threading
from collections.abc import Callable
from typing import Any, TextIO

from chargepoint.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    CliError,
    Output,
    optional_config,
    printable,
    socket_path,
)
from chargepoint.cli.daemon import _sim_args
from chargepoint.commission.answers import Answers
from chargepoint.commission.report import ReportStore, render_markdown
from chargepoint.commission.walk import Options, Walk
from chargepoint.control import ControlClient, ControlFailed, ControlUnavailable, request


class _Link:
    """``Walk``'s way to the controller: one request per call on the control socket."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __call__(self, cmd: str, args: dict[str, Any] | None = None,
                 timeout_s: float = 10.0) -> Any:
        return asyncio.run(request(self.path, cmd, args, timeout_s))

    def background(self, cmd: str, args: dict[str, Any], timeout_s: float) -> _Pending:
        return _Pending(self.path, cmd, args, timeout_s)


class _Pending:
    """One request answered in a thread of its own (``Link.background``)."""

    def __init__(self, path: str, cmd: str, args: dict[str, Any], timeout_s: float) -> None:
        self.sent = threading.Event()
        self._answer: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(path, cmd, args, timeout_s),
                                        name=f"commission-{cmd}", daemon=True)
        self._thread.start()

    def _run(self, path: str, cmd: str, args: dict[str, Any], timeout_s: float) -> None:
        async def ask() -> Any:
            async with ControlClient(path, timeout_s) as client:
                await client.call("ping")  # the connection is accepted and its caller checked
                await client.send(cmd, args)
                self.sent.set()
                return await client.receive(timeout_s)

        try:
            self._answer = asyncio.run(ask())
        except BaseException as exc:  # handed to result()
            self._error = exc
        finally:
            self.sent.set()

    def result(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._answer


def _sim_runner(link: _Link, parse: Callable[[list[str]], argparse.Namespace]) -> Any:
    """Runs the ``sim ...`` lines of an answers file through ``parse``, the CLI's own parser
    (``args.parse_command``, set by ``cli.parser``)."""
    def run(words: list[str]) -> str:
        sink = io.StringIO()
        try:
            with contextlib.redirect_stderr(sink), contextlib.redirect_stdout(sink):
                ns = parse(words)
        except SystemExit:
            return "not a sim command: " + " ".join(sink.getvalue().split())[-200:]
        try:
            link("sim", {"command": ns.sim_command, "args": _sim_args(ns)})
        except (ControlFailed, ControlUnavailable) as exc:
            return f"refused: {exc}"
        return "done"
    return run


def _open_answers(args: argparse.Namespace) -> TextIO | None:
    if args.non_interactive:
        return None
    if args.answers:
        try:
            return open(args.answers, encoding="utf-8")
        except OSError as exc:
            raise CliError(f"--answers {args.answers}: {exc.strerror or exc}", code=2) from None
    return sys.stdin


def cmd_commission(args: argparse.Namespace, out: Output) -> int:
    if getattr(args, "commission_command", None) == "report":
        return cmd_report(args, out)
    link = _Link(socket_path(args))
    try:  # the privilege check and "is it running" before anything is asked of anyone
        link("commission", {"op": "info"})
    except (ControlFailed, ControlUnavailable) as exc:
        raise CliError(f"commissioning needs the running controller: {exc}") from None
    talk = out.err if out.json else out.out
    stream = _open_answers(args)
    try:
        answers = Answers(stream, talk, sim=_sim_runner(link, args.parse_command))
        walk = Walk(link, answers, talk, Options(
            connector=args.connector, interactive=not args.non_interactive,
            technician=args.technician or "", wait_s=args.wait, charge_s=args.charge_seconds))
        doc = walk.run()
    finally:
        if stream is not None and stream is not sys.stdin:
            stream.close()
    saved = _save(args, link, doc)
    counts = ", ".join(f"{n} {r}" for r, n in doc["counts"].items())
    out.emit({"report": doc, "saved": saved}, lambda: (
        f"\nCommissioning {doc['result']} ({counts}).\nReport: {saved['markdown']}\n"
        f"         {saved['json']}\nShow it again: chargepoint commission report"))
    return EXIT_OK if doc["result"] in ("PASS", "INCOMPLETE") else EXIT_FAILED


def _save(args: argparse.Namespace, link: _Link, doc: dict[str, Any]) -> dict[str, str]:
    """Through the controller (it owns the state directory); if it has gone meanwhile,
    straight into the state directory of the config."""
    try:
        saved: dict[str, str] = link("commission", {"op": "save", "args": {"report": doc}})
        return saved
    except ControlFailed as exc:
        raise CliError(f"the report was not saved: {exc}") from None
    except ControlUnavailable as exc:
        store = _local_store(args)
        if store is None:
            raise CliError(f"the report was not saved: {exc}") from None
        try:
            json_path, md_path = store.save(doc)
        except OSError as err:
            raise CliError(f"the report was not saved: {err}") from None
        return {"json": str(json_path), "markdown": str(md_path)}


def _local_store(args: argparse.Namespace) -> ReportStore | None:
    from chargepoint.commission.desk import report_store

    cfg = optional_config(args)
    return None if cfg is None else report_store(cfg)


def cmd_report(args: argparse.Namespace, out: Output) -> int:
    """The latest report: from the controller, else from the state directory of the
    config (when this user may read it)."""
    found: dict[str, Any] | None
    try:
        found = _Link(socket_path(args))("commission", {"op": "latest"})
    except ControlFailed as exc:
        raise CliError(str(exc)) from None
    except ControlUnavailable as exc:
        store = _local_store(args)
        if store is None:
            raise CliError(f"{exc}; and no config file to find the state directory") from None
        try:
            local = store.latest()
        except OSError as err:
            raise CliError(f"{exc}; cannot read {store.directory}: {err}") from None
        found = None if local is None else {"report": local[0], "markdown": local[1],
                                            "path": str(local[2])}
    if found is None:
        raise CliError("no commissioning report yet: run `chargepoint commission`")
    report = found["report"]
    text = found.get("markdown") or render_markdown(report)
    out.emit(report, lambda: printable(f"{text}\n({found['path']})"))
    return EXIT_OK
