"""One profile on the time line: is it in force at an instant, with which period, and when
can that next change. Times are whole UTC seconds (``profile.to_seconds``).

Where a profile's schedule starts (its *base*):

- ``Absolute``: start_schedule; without one, valid_from; without that, installed_at.
- ``Relative``: the transaction's start (``anchor``). With no transaction (``anchor`` None) the
  base is the instant asked about: a Relative profile then says what a transaction starting
  now would get, and it has no period boundaries of its own.
- ``Recurring``: start_schedule, then every 86,400 s (Daily) or 604,800 s (Weekly) after it;
  the occurrence in force is the last one that started at or before the instant. Nothing
  recurs before start_schedule.

A profile is in force at ``t`` when valid_from <= t < valid_to (either may be absent), its
base <= t, and ``t`` is within the duration (a recurring occurrence lasts at most one cycle,
also without a duration). The period in force is the last whose start_period <= t - base
(OCPP 1.6 ChargingSchedulePeriod; 2.0.1 K01). Outside its duration a profile does not apply,
so a lower stack level (or the next purpose) takes over (2.0.1 K01, "stacking").
"""

from __future__ import annotations

from .profile import ChargingProfile, Kind, SchedulePeriod, to_seconds


def _validity(profile: ChargingProfile) -> tuple[int | None, int | None]:
    frm = None if profile.valid_from is None else to_seconds(profile.valid_from)
    to = None if profile.valid_to is None else to_seconds(profile.valid_to)
    return frm, to


def _first_base(profile: ChargingProfile) -> int:
    """Base of an Absolute or Recurring profile (its first occurrence)."""
    schedule = profile.schedule
    for when in (schedule.start_schedule, profile.valid_from, profile.installed_at):
        if when is not None:
            return to_seconds(when)
    raise AssertionError("ChargingProfile validation guarantees a start")  # pragma: no cover


def _length(profile: ChargingProfile) -> int | None:
    """How long one occurrence lasts (None: for ever)."""
    duration = profile.schedule.duration_s
    if profile.kind is Kind.RECURRING:
        assert profile.recurrency is not None
        cycle = profile.recurrency.cycle_s
        return cycle if duration is None else min(duration, cycle)
    return duration


def base_at(profile: ChargingProfile, t: int, anchor: int | None) -> int:
    """Start of the occurrence of ``profile`` that is current at ``t`` (it may lie after ``t``
    when the schedule has not begun yet)."""
    if profile.kind is Kind.RELATIVE:
        return t if anchor is None else anchor
    first = _first_base(profile)
    if profile.kind is Kind.ABSOLUTE or t < first:
        return first
    assert profile.recurrency is not None
    cycle = profile.recurrency.cycle_s
    return first + (t - first) // cycle * cycle


def period_at(profile: ChargingProfile, t: int, anchor: int | None) -> SchedulePeriod | None:
    """The period of ``profile`` in force at ``t``, or None when the profile is not in force
    (outside its validity, before its start, after its duration)."""
    frm, to = _validity(profile)
    if (frm is not None and t < frm) or (to is not None and t >= to):
        return None
    base = base_at(profile, t, anchor)
    offset = t - base
    length = _length(profile)
    if offset < 0 or (length is not None and offset >= length):
        return None
    current = profile.schedule.periods[0]
    for period in profile.schedule.periods:
        if period.start_period_s > offset:
            break
        current = period
    return current


def next_boundary(profile: ChargingProfile, t: int, anchor: int | None) -> int | None:
    """The first instant after ``t`` at which ``period_at`` of this profile can change, or
    None when it never will. A boundary may change nothing (e.g. two equal periods)."""
    candidates = [edge for edge in _validity(profile) if edge is not None]
    if not (profile.kind is Kind.RELATIVE and anchor is None):
        base = base_at(profile, t, anchor)
        candidates.append(base)
        candidates.extend(base + p.start_period_s for p in profile.schedule.periods)
        length = _length(profile)
        if length is not None:
            candidates.append(base + length)
        if profile.recurrency is not None:
            candidates.append(base + profile.recurrency.cycle_s)  # the next occurrence
    later = [c for c in candidates if c > t]
    return min(later) if later else None
