"""What a meter reading says per measurand, and when clock-aligned samples are due: the
version-neutral part of meter values (OCPP 1.6 section 3.16 / 2.0.1 block J). Pure.

- ``samples(member, reading, offered_a) -> list[Sample]``: every sample one configured member
  (``"Measurand"`` or ``"Measurand.Phase"``, e.g. ``"Voltage.L1"``) can supply from a
  ``hardware.interfaces.MeterReading`` (None: the meter failed) and the current the pilot
  offers (``Current.Offered``, None: not known). Measurands the reading cannot supply give
  nothing (both versions leave them out silently).
- ``next_aligned(now_wall, interval_s)``: the next clock-aligned boundary strictly after
  ``now_wall`` (1.6 ClockAlignedDataInterval, 2.0.1 AlignedDataCtrlr.Interval).

Units: energy registers in Wh, power in W, currents in A per phase (L1..L3), voltages per
phase to neutral (L1-N..L3-N) in V, Current.Offered in A without phase, Frequency in Hz.
Each version writes a ``Sample`` in its own wire form (1.6: strings; 2.0.1: numbers with
``unitOfMeasure``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from hardware.interfaces import MeterReading

LOCATION = "Outlet"  # our meter measures what leaves the station
_LINE = ("L1", "L2", "L3")
_LINE_N = ("L1-N", "L2-N", "L3-N")


@dataclass(frozen=True, slots=True)
class Sample:
    measurand: str
    value: float
    unit: str | None
    phase: str | None
    location: str | None
    decimals: int  # how many decimal places are meaningful


def _of_measurand(measurand: str, r: MeterReading | None,
                  offered_a: float | None) -> list[Sample]:
    """Every sample of one measurand the data can supply (all phases)."""
    out: list[Sample] = []
    if measurand == "Current.Offered":
        if offered_a is not None:
            out.append(Sample(measurand, offered_a, "A", None, None, 1))
        return out
    if r is None:
        return out
    if measurand == "Energy.Active.Import.Register":
        out.append(Sample(measurand, r.energy_import_wh, "Wh", None, LOCATION, 1))
    elif measurand == "Energy.Active.Export.Register":
        if r.energy_export_wh is not None:
            out.append(Sample(measurand, r.energy_export_wh, "Wh", None, LOCATION, 1))
    elif measurand == "Power.Active.Import":
        total = r.power_w
        if total is None and r.power_w_phases:
            total = sum(r.power_w_phases)
        if total is not None:
            out.append(Sample(measurand, total, "W", None, LOCATION, 1))
        for phase, watts in zip(_LINE, r.power_w_phases, strict=False):
            out.append(Sample(measurand, watts, "W", phase, LOCATION, 1))
    elif measurand == "Current.Import":
        for phase, amps in zip(_LINE, r.current_a, strict=False):
            out.append(Sample(measurand, amps, "A", phase, LOCATION, 2))
    elif measurand == "Voltage":
        for phase, volts in zip(_LINE_N, r.voltage_v, strict=False):
            out.append(Sample(measurand, volts, "V", phase, LOCATION, 1))
    elif measurand == "Frequency" and r.frequency_hz is not None:
        out.append(Sample(measurand, r.frequency_hz, "Hz", None, LOCATION, 2))
    return out


def split_member(member: str) -> tuple[str, str | None]:
    """``"Voltage.L1"`` -> ("Voltage", "L1"); measurands themselves contain dots."""
    for phased in ("Power.Active.Import", "Current.Import", "Voltage"):
        if member.startswith(phased + "."):
            return phased, member[len(phased) + 1:]
    return member, None


def _phase_matches(wanted: str, phase: str | None) -> bool:
    # "Voltage.L1" means the L1 voltage, which is reported as L1-N.
    return phase is not None and (phase == wanted or phase == f"{wanted}-N")


def samples(members: list[str] | tuple[str, ...], reading: MeterReading | None,
            offered_a: float | None) -> list[Sample]:
    """The finite samples of the configured ``members``, each (measurand, phase) once."""
    out: list[Sample] = []
    seen: set[tuple[str, str | None]] = set()
    for member in members:
        measurand, wanted_phase = split_member(member.strip())
        for s in _of_measurand(measurand, reading, offered_a):
            if wanted_phase is not None and not _phase_matches(wanted_phase, s.phase):
                continue
            if (s.measurand, s.phase) in seen or not math.isfinite(s.value):
                continue
            seen.add((s.measurand, s.phase))
            out.append(s)
    return out


def next_aligned(now_wall: datetime, interval_s: int) -> datetime:
    """The next clock-aligned boundary strictly after ``now_wall``.

    Evenly spaced intervals per day starting at 00:00:00 (midnight), e.g. 900 -> 96 quarter
    hours. Midnight of ``now_wall``'s own time zone (pass aware UTC, as OCPP does). When
    ``interval_s`` does not divide a day, the last interval of the day is shorter and the next
    day starts again at midnight. ``interval_s`` must be > 0 (0 means "no clock-aligned data":
    do not schedule)."""
    if interval_s <= 0:
        raise ValueError("interval_s must be > 0")
    midnight = now_wall.replace(hour=0, minute=0, second=0, microsecond=0)
    elapsed_us = (now_wall - midnight) // timedelta(microseconds=1)
    step_us = interval_s * 1_000_000
    candidate = midnight + timedelta(microseconds=(elapsed_us // step_us + 1) * step_us)
    next_midnight = midnight + timedelta(days=1)
    return min(candidate, next_midnight)
