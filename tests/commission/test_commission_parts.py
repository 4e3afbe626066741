"""The parts of the commissioning walk without a station: journalctl's time forms, the report
and its store, the answers, and Ctrl-C in the middle of a walk."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from chargepoint.commission.answers import Answers
from chargepoint.commission.report import (
    FORMAT,
    ReportError,
    ReportStore,
    check_report,
    render_markdown,
    verdict,
)
from chargepoint.commission.walk import Options, Walk
from chargepoint.timespec import parse_since

NOW = datetime(2026, 3, 10, 15, 30, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "delta"), [
    ("1 hour ago", timedelta(hours=-1)), ("10 min ago", timedelta(minutes=-10)),
    ("1h 30min ago", timedelta(minutes=-90)), ("-2h", timedelta(hours=-2)),
    ("+5s", timedelta(seconds=5)), ("2 days ago", timedelta(days=-2)),
    ("1 week ago", timedelta(weeks=-1)), ("now", timedelta()),
    ("30 seconds ago", timedelta(seconds=-30))])
def test_relative_times(text: str, delta: timedelta) -> None:
    assert parse_since(text, NOW) == NOW + delta


def test_days_and_absolute_times() -> None:
    local = NOW.astimezone()
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    assert parse_since("today", NOW) == midnight
    assert parse_since("yesterday", NOW) == midnight - timedelta(days=1)
    assert parse_since("2026-01-01T12:00:00Z", NOW) == datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert parse_since("2026-01-01 12:00 UTC", NOW) == datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert parse_since("2026-01-01T12:00:00+01:00", NOW) == datetime(2026, 1, 1, 11,
                                                                     tzinfo=UTC)
    naive = parse_since("2026-01-01 12:00", NOW)  # local time, as journalctl reads it
    assert naive.replace(tzinfo=None) == datetime(2026, 1, 1, 12) and naive.tzinfo is not None
    assert parse_since("@1767268800", NOW) == datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert parse_since("12:30", NOW) == local.replace(hour=12, minute=30, second=0)


@pytest.mark.parametrize("text", ["", "soon", "1 parsec ago", "ago", "2026-13-01", "25:00",
                                  "@x", "10 min ago later", "2026-01-01Z+01:00"])
def test_what_journalctl_would_not_take_either(text: str) -> None:
    with pytest.raises(ValueError, match="1 hour ago"):
        parse_since(text, NOW)


def step(sid: str, result: str, *readings: dict[str, Any]) -> dict[str, Any]:
    return {"id": sid, "title": sid.title(), "result": result, "note": "", "started": "",
            "finished": "", "readings": list(readings)}


def report(*steps: dict[str, Any]) -> dict[str, Any]:
    result, counts = verdict(list(steps))
    return {"format": FORMAT, "station": {"id": "CP-1", "firmware": "1.2.3",
                                          "config_sha256": "ab" * 32},
            "technician": "A | B", "mode": "interactive", "connector": 1, "started": "s",
            "finished": "f", "result": result, "counts": counts, "steps": list(steps)}


def test_verdicts() -> None:
    assert verdict([step("a", "PASS")])[0] == "PASS"
    assert verdict([step("a", "PASS"), step("b", "SKIP")])[0] == "INCOMPLETE"
    assert verdict([step("a", "FAIL"), step("b", "SKIP")]) == (
        "FAIL", {"PASS": 0, "FAIL": 1, "SKIP": 1})
    assert verdict([step("a", "PASS")], interrupted=True)[0] == "INTERRUPTED"


def test_markdown_shows_every_reading_with_its_verdict() -> None:
    doc = report(step("pilot", "FAIL",
                      {"name": "B: pilot high level", "value": 7.5, "unit": "V",
                       "expected": "+9 ± 1 V", "ok": False, "at": "2026-01-01T12:00:00+00:00"},
                      {"name": "per phase", "value": [1.0, 2.5], "unit": "A", "expected": None,
                       "ok": None, "at": "t"}))
    text = render_markdown(doc)
    assert "**Result: FAIL**" in text
    assert "| B: pilot high level | 7.5 V | +9 ± 1 V | **FAIL** | 2026-01-01T12:00:00+00:00 |" \
        in text
    assert "| per phase | 1/2.5 A | - | - | t |" in text
    assert "| technician | A \\| B |" in text  # a table cell cannot be broken out of
    assert f"`{'ab' * 32}`" in text and "| firmware | 1.2.3 |" in text


def test_store_keeps_json_and_markdown_and_finds_the_newest(tmp_path: Path) -> None:
    store = ReportStore(tmp_path / "commissioning")
    assert store.latest() is None
    first, _ = store.save(report(step("a", "FAIL")))
    second, md = store.save(report(step("a", "PASS")))
    assert first != second and md.read_text().startswith("# Commissioning report: CP-1")
    found = store.latest()
    assert found is not None and found[0]["result"] == "PASS" and found[2] == second
    second.write_text("{damaged")  # a damaged newest file: the one before it
    found = store.latest()
    assert found is not None and found[2] == first
    assert oct(first.stat().st_mode & 0o777) == "0o640"


@pytest.mark.parametrize(("doc", "why"), [
    ([], "a JSON object"), ({"format": "x"}, "format must be"),
    ({"format": FORMAT, "steps": {}}, "steps must be a list"),
    ({"format": FORMAT, "steps": [{"id": "a", "result": "MAYBE"}]}, "result must be one of"),
    ({"format": FORMAT, "steps": [{"id": "a", "result": "PASS", "note": "x" * 60000}]},
     "larger than")])
def test_a_report_that_is_not_one_is_refused(doc: Any, why: str) -> None:
    with pytest.raises(ReportError, match=why):
        check_report(doc)


def test_answers_skip_comments_run_sim_lines_and_end() -> None:
    ran: list[list[str]] = []

    def sim(words: list[str]) -> str:
        ran.append(words)
        return "done"

    out = io.StringIO()
    answers = Answers(io.StringIO("# a comment\nsim adapter 1 B --cable 20\n\ny\n"), out,
                      sim=sim)
    assert answers.ask("first? ") == ""
    assert ran == [["sim", "adapter", "1", "B", "--cable", "20"]]
    assert answers.ask("second? ") == "y"
    assert answers.ask("third? ") is None and answers.ended
    assert "[sim adapter 1 B --cable 20] done" in out.getvalue()
    assert Answers(None, io.StringIO()).ask("anyone? ") is None  # --non-interactive


class ScriptedLink:
    """A station that answers from canned documents; ``interrupt_on`` raises Ctrl-C."""

    def __init__(self, interrupt_on: str) -> None:
        self.calls: list[tuple[str, dict[str, Any] | None]] = []
        self.interrupt_on = interrupt_on

    def __call__(self, cmd: str, args: dict[str, Any] | None = None,
                 timeout_s: float = 10.0) -> Any:
        self.calls.append((cmd, args))
        if cmd == self.interrupt_on:
            raise KeyboardInterrupt
        if cmd == "commission":
            return {"station": {"id": "CP-1", "simulated": True}, "connectors": [1],
                    "reader": False, "clock": {"known": True, "offset_s": 0.1}}
        if cmd == "status":
            return {"ocpp": {"connected": True, "registration": "Accepted"},
                    "connectors": [{"id": 1, "status": "Available", "pilot": "A",
                                    "lock": "unlocked"}]}
        if cmd == "ocpp_ping":
            return 0.002
        if cmd == "selftest":
            return {"ok": True, "parts": [{"part": "store", "ok": True, "detail": "ok"}]}
        if cmd == "meter":
            return {"connectors": [{"id": 1, "error": "no meter configured"}]}
        return None

    def background(self, cmd: str, args: dict[str, Any], timeout_s: float) -> Any:
        raise AssertionError("not reached")


def test_ctrl_c_keeps_the_report_as_interrupted_and_takes_the_adapter_out() -> None:
    link = ScriptedLink(interrupt_on="relay")
    out = io.StringIO()
    walk = Walk(link, Answers(None, out), out, Options(interactive=False))
    doc = walk.run()
    assert doc["result"] == "INTERRUPTED"
    assert [(s["id"], s["result"]) for s in doc["steps"]] == [
        ("identity", "PASS"), ("selftest", "PASS"), ("meter", "SKIP"), ("relays", "SKIP")]
    assert doc["steps"][-1]["note"] == "interrupted (Ctrl-C)"
    assert link.calls[-1] == ("sim", {"command": "adapter",
                                      "args": {"connector": 1, "state": "off"}})
    assert not any(cmd == "relay" and a and a.get("op") == "on" for cmd, a in link.calls)
    assert "Interrupted." in out.getvalue()
    json.dumps(doc)  # the report is one JSON document
