"""``chargepoint logs``: the controller's log wherever it goes.

Where the lines come from (``--json`` says which in ``source``):

1. The running controller is asked first (control socket, technician command ``logs``). It
   says whether it logs to the journal (systemd started it). If it does, and journalctl is
   there and readable for the caller, the journal is read (``journald``: the full history);
   otherwise the controller's own buffer is shown (``daemon``: its last 5000 records).
2. Controller not running (or not answering this user): the journal if systemd runs, else the
   ``[logging] file`` of the config (``file``), else a one-line error naming both reasons.

``--since`` takes what journalctl takes (``chargepoint.timespec``); a time it cannot read is a
usage error (exit 2). ``--follow`` keeps printing new records until Ctrl-C, ``--for`` seconds,
or (buffer) the controller stops.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import select
import shutil
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chargepoint.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    Output,
    optional_config,
    printable,
    socket_path,
)
from chargepoint.control import ControlClient, ControlFailed, ControlUnavailable
from chargepoint.timespec import parse_since

UNIT = "chargepoint"
FOLLOW_WAIT_S = 10.0  # one long-poll of the controller while following
PRIORITY = ("EMERG", "ALERT", "CRITICAL", "ERROR", "WARNING", "NOTICE", "INFO", "DEBUG")
_FILE_LINE = re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3}) (\S+)\s+(\S+) (.*)$")
_CONNECTOR = re.compile(r"\[[^\]]*\bCONNECTOR=(\d+)")


def journald_available() -> bool:
    """journalctl exists and systemd is the running init (so the unit's journal is there)."""
    return shutil.which("journalctl") is not None and os.path.isdir("/run/systemd/system")


def record_line(rec: dict[str, Any]) -> str:
    """``2026-01-01T12:00:00.123+00:00 INFO chargepoint.app: [CONNECTOR=1] message``."""
    ctx = [f"{k.upper()}={rec[k]}" for k in ("connector", "transaction_id")
           if rec.get(k) is not None]
    prefix = f"[{' '.join(ctx)}] " if ctx else ""
    return f"{rec.get('time')} {rec.get('level')} {rec.get('logger')}: {prefix}" \
           f"{rec.get('message')}"


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")


# -- the controller's buffer ------------------------------------------------------------------
def _query(args: argparse.Namespace, since: datetime | None, **extra: Any) -> dict[str, Any]:
    query: dict[str, Any] = {"records": True, "limit": args.lines}
    if since is not None:
        query["since"] = since.isoformat()
    if args.connector is not None:
        query["connector"] = args.connector
    query.update(extra)
    return query


async def _ask(path: str, query: dict[str, Any]) -> Any:
    async with ControlClient(path, timeout_s=10.0) as client:
        return await client.call("logs", query)


# -- the journal ------------------------------------------------------------------------------
def journal_argv(args: argparse.Namespace, since: datetime | None, follow: bool) -> list[str]:
    argv = ["journalctl", "-u", UNIT, "--no-pager", "-o", "json", "-n", str(args.lines)]
    if since is not None:
        argv += ["--since", f"@{since.timestamp():.0f}"]
    if follow:
        argv.append("--follow")
    if args.connector is not None:
        argv.append(f"CONNECTOR={args.connector}")
    return argv


def journal_record(raw: str) -> dict[str, Any] | None:
    """One ``journalctl -o json`` line as a record (None if it is not one)."""
    try:
        entry = json.loads(raw)
        at = int(entry.get("__REALTIME_TIMESTAMP", "0")) / 1e6
    except (ValueError, TypeError, AttributeError):
        return None
    message = entry.get("MESSAGE", "")
    if isinstance(message, list):  # journald gives non-UTF-8 text as a list of bytes
        message = bytes(message).decode(errors="replace")
    try:
        level = PRIORITY[int(entry.get("PRIORITY", 6))]
    except (ValueError, IndexError):
        level = "INFO"
    connector = entry.get("CONNECTOR")
    tx = entry.get("TRANSACTION_ID")
    return {"time": _iso(at), "level": level,
            "logger": entry.get("LOGGER") or entry.get("SYSLOG_IDENTIFIER") or UNIT,
            "connector": int(connector) if str(connector).isdigit() else None,
            "transaction_id": int(tx) if str(tx).isdigit() else None,
            "message": str(message)}


def _read_journal(args: argparse.Namespace, since: datetime | None) -> list[dict[str, Any]]:
    """Raises ``CliError`` with journalctl's own reason when it cannot read the journal."""
    proc = subprocess.run(journal_argv(args, since, False), capture_output=True, text=True,
                          check=False, timeout=120)
    if proc.returncode != 0 or "insufficient permissions" in proc.stderr:
        reason = proc.stderr.strip().splitlines()[0] if proc.stderr.strip() else (
            f"journalctl exit status {proc.returncode}")
        raise CliError(reason)
    return [r for r in map(journal_record, proc.stdout.splitlines()) if r is not None]


# -- the log file -----------------------------------------------------------------------------
def file_records(path: Path, since: datetime | None, connector: int | None,
                 limit: int) -> list[dict[str, Any]]:
    """Records of a ``[logging] file`` (``ContextFormatter`` lines, local time); a line
    without a time stamp continues the record above it."""
    from chargepoint.diagnostics.sources import FileLog

    start = since.timestamp() if since is not None else None
    records: list[dict[str, Any]] = []
    for line in FileLog(path).lines(start, None):
        match = _FILE_LINE.match(line.text)
        if match is None or line.at is None:
            if records:
                records[-1]["message"] += "\n" + line.text
            continue
        _, level, logger, rest = match.groups()
        found = _CONNECTOR.match(rest)
        records.append({"time": _iso(line.at), "level": level, "logger": logger,
                        "connector": int(found.group(1)) if found else None,
                        "transaction_id": None, "message": rest})
    if connector is not None:
        records = [r for r in records if r["connector"] == connector]
    return records[-limit:]


# -- the command ------------------------------------------------------------------------------
def parse_when(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_since(text)
    except ValueError as exc:
        raise CliError(f"--since: {exc}", code=EXIT_USAGE) from None


def cmd_logs(args: argparse.Namespace, out: Output) -> int:
    since = parse_when(args.since)
    path = socket_path(args)
    problems: list[str] = []
    doc: dict[str, Any] | None = None
    try:
        doc = asyncio.run(_ask(path, _query(args, since)))
    except (ControlFailed, ControlUnavailable) as exc:
        problems.append(str(exc))
    source, records = "daemon", []
    if doc is not None:
        records = list(doc.get("records", []))
    use_journal = journald_available() and (doc is None or bool(doc.get("journald")))
    if use_journal:
        try:
            records, source = _read_journal(args, since), "journald"
        except CliError as exc:
            if doc is None:
                raise CliError("; ".join([str(exc), *problems])) from None
            out.err.write(f"chargepoint: journal not readable ({exc}); showing the "
                          "controller's own buffer\n")
            use_journal = False
    elif doc is None:
        records, source = _records_from_file(args, since, problems), "file"
    if args.follow:
        _print_new(out, records)
    else:
        lines = [record_line(r) for r in records]
        out.emit({"source": source, "lines": lines, "records": records},
                 lambda: "\n".join(lines))
    if args.follow:
        if source == "file":
            raise CliError("--follow needs the running controller or the journal")
        deadline = None if args.follow_for is None else time.monotonic() + args.follow_for
        if use_journal:
            _follow_journal(args, out, deadline)
        else:
            assert doc is not None
            _follow_daemon(path, args, out, int(doc.get("next", 0)), deadline)
    return EXIT_OK


def _records_from_file(args: argparse.Namespace, since: datetime | None,
                       problems: list[str]) -> list[dict[str, Any]]:
    cfg = optional_config(args)
    file = cfg.logging.file if cfg is not None else None
    if not file:
        raise CliError("; ".join([*problems, "no journal here and no [logging] file "
                                              "configured"]))
    try:
        return file_records(Path(file), since, args.connector, args.lines)
    except OSError as exc:
        raise CliError("; ".join([*problems, f"cannot read {file}: "
                                              f"{exc.strerror or exc}"])) from None


def _print_new(out: Output, records: list[dict[str, Any]]) -> None:
    for rec in records:
        out.line(json.dumps(rec) if out.json else printable(record_line(rec)))


def _follow_daemon(path: str, args: argparse.Namespace, out: Output, after: int,
                   deadline: float | None) -> None:
    async def follow() -> None:
        nonlocal after
        async with ControlClient(path, timeout_s=FOLLOW_WAIT_S + 20.0) as client:
            while deadline is None or time.monotonic() < deadline:
                wait = FOLLOW_WAIT_S if deadline is None else max(
                    0.0, min(FOLLOW_WAIT_S, deadline - time.monotonic()))
                query: dict[str, Any] = {"after": after, "wait_s": round(wait, 3)}
                if args.connector is not None:
                    query["connector"] = args.connector
                doc = await client.call("logs", query)
                _print_new(out, list(doc.get("records", [])))
                after = int(doc.get("next", after))

    try:
        asyncio.run(follow())
    except ControlUnavailable:
        out.err.write("chargepoint: the controller stopped; no more log lines\n")
    except ControlFailed as exc:
        raise CliError(str(exc)) from None
    except KeyboardInterrupt:
        pass


def _follow_journal(args: argparse.Namespace, out: Output, deadline: float | None) -> None:
    argv = journal_argv(args, None, True)
    argv[argv.index("-n") + 1] = "0"  # what came before is shown already
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    try:
        while deadline is None or time.monotonic() < deadline:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([proc.stdout], [], [], left)
            if not ready:
                continue
            raw = proc.stdout.readline()
            if not raw:
                break  # journalctl ended
            rec = journal_record(raw)
            if rec is not None:
                _print_new(out, [rec])
    except KeyboardInterrupt:
        pass
    finally:
        proc.terminate()
        proc.wait(5)
