"""The commissioning report: one JSON document, a readable Markdown twin, and where they live.

Document (``FORMAT``)::

    {"format": "chargepoint-commissioning/1",
     "station": {"id", "firmware", "config_sha256", "simulated"},
     "technician": "A. Electrician", "mode": "interactive" | "non-interactive",
     "connector": 1, "started": ISO, "finished": ISO, "saved_at": ISO,
     "result": "PASS" | "FAIL" | "INCOMPLETE" | "INTERRUPTED",
     "counts": {"PASS": n, "FAIL": n, "SKIP": n},
     "steps": [{"id", "title", "result": "PASS" | "FAIL" | "SKIP", "note", "started",
                "finished", "readings": [{"name", "value", "unit", "expected", "ok", "at"}]}]}

``ReportStore(directory)`` writes ``commission-<UTC>.json`` and ``.md`` side by side
(``save``) and finds the newest (``latest``); both block (callers use ``asyncio.to_thread``).
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FORMAT = "chargepoint-commissioning/1"
RESULTS = ("PASS", "FAIL", "SKIP")
MAX_REPORT_BYTES = 48 * 1024  # fits one control-socket request line with room to spare
_NAME = re.compile(r"^commission-\d{8}T\d{6}(?:\d{3})?Z\.json$")


class ReportError(ValueError):
    """A report document that is not one (``str()`` names what is wrong)."""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def verdict(steps: list[dict[str, Any]], interrupted: bool = False) -> tuple[str, dict[str, int]]:
    """The overall result and the count of each step result."""
    counts = {r: sum(1 for s in steps if s.get("result") == r) for r in RESULTS}
    if interrupted:
        return "INTERRUPTED", counts
    if counts["FAIL"]:
        return "FAIL", counts
    return ("INCOMPLETE" if counts["SKIP"] or not steps else "PASS"), counts


def check_report(doc: Any) -> dict[str, Any]:
    """``doc`` if it has the report's shape; raises ``ReportError`` otherwise."""
    if not isinstance(doc, dict):
        raise ReportError("a report is a JSON object")
    if doc.get("format") != FORMAT:
        raise ReportError(f"report format must be {FORMAT!r}")
    steps = doc.get("steps")
    if not isinstance(steps, list) or not all(isinstance(s, dict) for s in steps):
        raise ReportError("report steps must be a list of objects")
    for step in steps:
        if step.get("result") not in RESULTS:
            raise ReportError(f"step {step.get('id')!r}: result must be one of {RESULTS}")
        if not isinstance(step.get("readings", []), list):
            raise ReportError(f"step {step.get('id')!r}: readings must be a list")
    if len(json.dumps(doc)) > MAX_REPORT_BYTES:
        raise ReportError(f"report larger than {MAX_REPORT_BYTES} bytes")
    return doc


def _value(reading: dict[str, Any]) -> str:
    value = reading.get("value")
    if value is None:
        return "-"
    if isinstance(value, float):
        value = f"{value:g}"
    if isinstance(value, list):
        value = "/".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    unit = reading.get("unit")
    return f"{value} {unit}" if unit else str(value)


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(doc: dict[str, Any]) -> str:
    """The report as a page a technician can read, print and sign."""
    station = doc.get("station", {})
    lines = [
        f"# Commissioning report: {station.get('id', '?')}",
        "",
        f"**Result: {doc.get('result', '?')}**  ",
        "(" + ", ".join(f"{n} {r}" for r, n in doc.get("counts", {}).items()) + ")",
        "",
        "| | |",
        "| --- | --- |",
        f"| station | {_cell(station.get('id', '?'))} |",
        f"| connector | {doc.get('connector', '?')} |",
        f"| firmware | {_cell(station.get('firmware', '?'))} |",
        f"| config hash (SHA-256) | `{station.get('config_sha256', '?')}` |",
        f"| simulated bench | {'yes' if station.get('simulated') else 'no'} |",
        f"| technician | {_cell(doc.get('technician') or '(not given)')} |",
        f"| mode | {doc.get('mode', '?')} |",
        f"| started | {doc.get('started', '?')} |",
        f"| finished | {doc.get('finished', '?')} |",
        "",
    ]
    for number, step in enumerate(doc.get("steps", []), 1):
        lines.append(f"## {number}. {_cell(step.get('title', step.get('id')))}: "
                     f"{step.get('result')}")
        lines.append("")
        if step.get("note"):
            lines += [_cell(step["note"]), ""]
        readings = step.get("readings") or []
        if readings:
            lines += ["| reading | value | expected | ok | time |",
                      "| --- | --- | --- | --- | --- |"]
            for r in readings:
                ok = {True: "pass", False: "**FAIL**", None: "-"}[r.get("ok")]
                lines.append(f"| {_cell(r.get('name'))} | {_cell(_value(r))} | "
                             f"{_cell(r.get('expected') or '-')} | {ok} | {r.get('at', '')} |")
            lines.append("")
    lines += ["---", "", "Technician's signature: ______________________   Date: ___________", ""]
    return "\n".join(lines)


class ReportStore:
    """Reports in ``directory`` (created 0750 on the first save)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def save(self, doc: dict[str, Any]) -> tuple[Path, Path]:
        """Write the report and its Markdown; returns both paths. Raises ``OSError``."""
        self.directory.mkdir(mode=0o750, parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")[:-3] + "Z"
        json_path = self.directory / f"commission-{stamp}.json"
        md_path = json_path.with_suffix(".md")
        _write(md_path, render_markdown(doc))
        _write(json_path, json.dumps(doc, indent=2, sort_keys=True) + "\n")
        return json_path, md_path

    def latest(self) -> tuple[dict[str, Any], str, Path] | None:
        """The newest report, its Markdown and its JSON path; None when there is none."""
        try:
            names = sorted(p.name for p in self.directory.iterdir() if _NAME.match(p.name))
        except FileNotFoundError:
            return None
        for name in reversed(names):
            path = self.directory / name
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue  # a damaged file: the one before it
            md = path.with_suffix(".md")
            text = md.read_text(encoding="utf-8") if md.is_file() else render_markdown(doc)
            return doc, text, path
        return None


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, 0o640)
    tmp.replace(path)
