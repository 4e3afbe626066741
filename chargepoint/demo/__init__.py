"""``chargepoint demo``: a local CSMS and a simulated station run one session end to end."""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from chargepoint.demo.session import demo


def run_demo(*, keep: bool = False, out: TextIO | None = None, charge_s: float = 4.0,
             version: str = "1.6") -> int:
    """Run the demo (blocking) under OCPP ``version`` ("1.6" or "2.0.1"); prints the
    timeline and a summary; returns the exit status."""
    return asyncio.run(demo(out or sys.stdout, keep=keep, charge_s=charge_s, version=version))


__all__ = ["demo", "run_demo"]
