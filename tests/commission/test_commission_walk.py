"""``chargepoint commission`` end to end on the simulated bench: the CLI against the running
station's control socket, the technician's hands played by ``sim`` lines of the answers."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

from chargepoint.app import RunningStation
from chargepoint.cli import main
from tests.fullstack import CpMaker, registered

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
