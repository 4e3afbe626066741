"""Find a meter whose unit id and serial settings are not known (``meter probe --scan``).

``scan(port, model, ...)`` tries every combination of baud rate, parity and unit id, one
short request each (no retries), and returns what answered with a plausible reading. The
model's own serial settings are tried first, then the common ones; unit ids ascend. A scan of
everything (7 baud rates x 3 parities x 247 ids) takes long - ``timeout`` per silent id -
so ``progress`` is called before each try and callers narrow what they can.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from hardware.interfaces import MeterFault, MeterReading
from hardware.meter.bus import RtuBus
from hardware.meter.driver import open_meter
from hardware.meter.regmap import load_model

COMMON_BAUDRATES = (9600, 19200, 2400, 4800, 38400, 57600, 115200)
PARITIES = ("N", "E", "O")
UNIT_IDS = range(1, 248)


@dataclass(frozen=True, slots=True)
class Found:
    unit: int
    baudrate: int
    parity: str
    reading: MeterReading


@dataclass(frozen=True, slots=True)
class Attempt:
    """Where a scan is: try ``number`` of ``total`` (1-based)."""

    number: int
    total: int
    baudrate: int
    parity: str
    unit: int


T = TypeVar("T")


def _ordered(first: T, values: Iterable[T]) -> list[T]:
    """``values`` without repeats, ``first`` (if among them) first."""
    return sorted(dict.fromkeys(values), key=lambda v: v != first)


async def scan(
    port: str,
    model: str,
    *,
    units: Sequence[int] = UNIT_IDS,
    baudrates: Sequence[int] | None = None,
    parities: Sequence[str] | None = None,
    timeout: float = 0.2,
    find_all: bool = False,
    progress: Callable[[Attempt], None] | None = None,
) -> list[Found]:
    """Every meter of ``model`` that answered (the first only, unless ``find_all``).

    A setting the port refuses (some adapters, a pty with parity) answers nothing, like a wrong
    one. Raises ``MapError`` for an unknown model, ``ValueError`` for bad settings and
    ``OSError`` when the port does not exist.
    """
    os.stat(port)  # a port that is not there at all ends the scan at once (OSError)
    regmap = load_model(model)
    bauds = _ordered(regmap.baudrate, baudrates or (regmap.baudrate, *COMMON_BAUDRATES))
    pars = _ordered(regmap.parity, parities or PARITIES)
    for unit in units:
        if not 1 <= unit <= 247:
            raise ValueError(f"unit ids are 1..247, not {unit}")
    total = len(bauds) * len(pars) * len(units)
    found: list[Found] = []
    number = 0
    for baudrate in bauds:
        for parity in pars:
            bus = RtuBus(port, baudrate=baudrate, parity=parity, timeout=timeout,
                         reopen_after=total + 1)
            try:
                for unit in units:
                    number += 1
                    if progress is not None:
                        progress(Attempt(number, total, baudrate, parity, unit))
                    meter = open_meter(port=port, model=model, unit=unit, bus=bus, retries=0)
                    result = await meter.poll()
                    if isinstance(result, MeterFault):
                        continue
                    found.append(Found(unit, baudrate, parity, result))
                    if not find_all:
                        return found
            finally:
                await bus.close()
    return found
