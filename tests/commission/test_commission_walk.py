"""``chargepoint commission`` end to end on the simulated bench: the CLI against the running
station's control socket, the technician's hands played by ``sim`` lines of the answers."""

from __future__ import annotations

import asyncio
import io
import json
import os
import tarfile
from pathlib import Path
from typing import Any

from ocpp.v16 import call  # type: ignore[import-untyped]

from chargepoint.app import RunningStation
from chargepoint.cli import main
from chargepoint.control.access import AccessPolicy
from tests.firmware.fw_helpers import ftp_peer
from tests.fullstack import CpMaker, registered
from tests.ocpp16.csms import Csms

CARD = "04A1B2C3"

# One line per prompt ("" = Enter); `sim ...` lines are the technician's hands.
FULL = f"""\
# reader: the card comes while the station waits for it
sim tap {CARD}

# pilot with the test adapter
sim adapter 1 A

sim adapter 1 B

sim adapter 1 C

sim adapter 1 D

sim adapter 1 E

sim adapter 1 diode
sim tap {CARD}

sim adapter 1 A

# RCD test button, then reset
sim fault 1 rcd

sim fault 1 none

# PP selector 13, 20, 32, 63 A
sim adapter 1 B --cable 13

sim adapter 1 B --cable 20

sim adapter 1 B --cable 32

sim adapter 1 B --cable 63

# supervised charge
sim adapter 1 off
sim plug 1
sim tap {CARD}

sim unplug 1

# rotary field tester
y
"""


async def commission(cp: RunningStation, *argv: str, stdin: str | None = None,
                     answers: Path | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()

    def run() -> int:
        import sys

        saved = sys.stdin
        sys.stdin = io.StringIO(stdin or "")
        try:
            return main(["--socket", cp.config.control.socket, "commission", *argv],
                        stdout=out, stderr=err)
        finally:
            sys.stdin = saved

    code = await asyncio.to_thread(run)
    return code, out.getvalue(), err.getvalue()


def steps(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in doc["steps"]}


async def test_full_walk_passes_on_the_simulated_bench(make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    code, out, err = await commission(cp, "--technician", "A. Electrician", "--wait", "10",
                                      "--charge-seconds", "2", "--json", stdin=FULL)
    doc = json.loads(out)["report"]
    failed = {s["id"]: (s["note"], [r for r in s["readings"] if r["ok"] is False])
              for s in doc["steps"] if s["result"] != "PASS"}
    assert failed == {}, err
    assert code == 0 and doc["result"] == "PASS"
    assert doc["technician"] == "A. Electrician"


async def cli(cp: RunningStation, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = await asyncio.to_thread(main, ["--socket", cp.config.control.socket, *argv],
                                   stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


async def test_the_report_is_written_shown_and_bundled_for_get_diagnostics(
        make_cp: CpMaker, csms: Csms, tmp_path: Path) -> None:
    cp = await make_cp()
    await registered(cp)
    code, out, _ = await commission(cp, "--technician", "B. Installer", "--wait", "10",
                                    "--charge-seconds", "1", stdin=FULL)
    assert code == 0 and "Commissioning PASS" in out, "\n".join(
        line for line in out.splitlines() if "FAIL" in line or "SKIP" in line)
    [json_file] = (tmp_path / "commissioning").glob("commission-*.json")
    saved = json.loads(json_file.read_text())
    assert saved["result"] == "PASS" and saved["technician"] == "B. Installer"
    assert saved["station"]["id"] == "CP-OCTT" and len(saved["station"]["config_sha256"]) == 64
    assert saved["station"]["firmware"] and saved["saved_at"]
    pilot = steps(saved)["pilot"]["readings"]
    assert {r["name"]: r["value"] for r in pilot}["D: pilot high level"] == 3.0
    assert all(r["at"] for s in saved["steps"] for r in s["readings"])
    markdown = json_file.with_suffix(".md").read_text()
    assert "| technician | B. Installer |" in markdown
    assert "| D: pilot high level | 3 V | +3 ± 1 V | pass |" in markdown
    assert saved["station"]["config_sha256"] in markdown

    code, out, _ = await cli(cp, "commission", "report")
    assert code == 0 and out.startswith("# Commissioning report: CP-OCTT")
    assert "**Result: PASS**" in out and str(json_file) in out
    code, out, _ = await cli(cp, "commission", "report", "--json")
    assert code == 0 and json.loads(out) == saved

    with ftp_peer(tmp_path / "ftp") as ftp:
        answer: Any = await csms.send(call.GetDiagnostics(location=ftp.url("")))
        await csms.wait_until(lambda: any(
            f.payload["status"] == "Uploaded"
            for f in csms.calls("DiagnosticsStatusNotification")), 60)
        with tarfile.open(ftp.root / answer.file_name) as tar:
            member = tar.extractfile("commissioning.json")
            assert member is not None
            assert json.loads(member.read()) == saved


async def test_a_failing_step_is_reported_as_fail_with_its_reading(
        make_cp: CpMaker, tmp_path: Path) -> None:
    cp = await make_cp()
    await registered(cp)
    answers = tmp_path / "answers.txt"
    answers.write_text("s\n"  # no card at hand: the reader step is skipped
                       "sim adapter 1 A\n\n"
                       "sim adapter 1 C\n\n"  # asked for B, the adapter is at C
                       "q\n")
    code, out, err = await commission(cp, "--answers", str(answers), "--wait", "0.5",
                                      "--json")
    assert code == 1, err
    doc = json.loads(out)["report"]
    assert doc["result"] == "FAIL"
    by_id = steps(doc)
    assert by_id["reader"]["result"] == "SKIP" and by_id["reader"]["note"] == (
        "skipped by the technician")
    pilot = by_id["pilot"]
    assert pilot["result"] == "FAIL"
    state = next(r for r in pilot["readings"] if r["name"] == "B: pilot state")
    assert (state["value"], state["expected"], state["ok"]) == ("C", "B", False)
    assert by_id["charge"]["note"] == "the technician ended the walk"
    assert "FAIL B: pilot state: C   (expected B)" in err  # the walk talks on stderr with --json


async def test_non_interactive_runs_what_needs_no_hands(make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    code, out, _ = await commission(cp, "--non-interactive", "--json")
    assert code == 0
    doc = json.loads(out)["report"]
    assert doc["mode"] == "non-interactive" and doc["result"] == "INCOMPLETE"
    results = {s["id"]: s["result"] for s in doc["steps"]}
    assert results == {"identity": "PASS", "selftest": "PASS", "meter": "PASS",
                       "relays": "PASS", "reader": "SKIP", "pilot": "SKIP", "rcd": "SKIP",
                       "proximity": "SKIP", "charge": "SKIP", "meter-load": "SKIP",
                       "phase-order": "SKIP"}
    relays = {r["name"]: r["value"] for r in steps(doc)["relays"]["readings"]}
    assert "close confirmed, open confirmed" in relays["contactor test"]


async def test_a_welded_contactor_fails_the_relay_step(make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    assert cp.bench is not None
    cp.bench.fault(1, "welded")
    code, out, _ = await commission(cp, "--non-interactive", "--json")
    assert code == 1
    relays = steps(json.loads(out)["report"])["relays"]
    assert relays["result"] == "FAIL"
    [contactor] = [r for r in relays["readings"] if r["name"] == "contactor test"]
    assert contactor["ok"] is False and "open NOT confirmed" in contactor["value"]


async def test_commission_is_a_technician_command(make_cp: CpMaker, tmp_path: Path) -> None:
    cp = await make_cp()
    assert cp.control is not None
    cp.control.policy = AccessPolicy(
        full_uids=frozenset(), read_gids=frozenset({os.getgid()}),
        technician_gids=frozenset(), read_group="ops", technician_group="tech")
    code, out, err = await commission(cp, "--non-interactive")
    assert (code, out) == (1, "")
    assert "commission is a technician command" in err
    code, _, err = await cli(cp, "commission", "report")
    assert code == 1 and "technician command" in err
    assert not (tmp_path / "commissioning").exists()
