"""Timestamps that are never sent from before the wall clock was known.

API (for connection / handlers / outbox):

- ``clock = Clock(boot_id=read_boot_id(), kv=store)`` once per process. ``kv`` is anything with
  ``kv_get(key) -> str | None`` and ``kv_set(key, value | None)`` (the store). Only the
  constructor, ``set_wall`` and ``checkpoint`` touch the store (one small commit each): call
  those through ``asyncio.to_thread`` if the event loop must not wait on an fsync. Every other
  method is pure arithmetic and safe to call on the loop.
- ``clock.set_wall(csms_time: str | datetime, at=None)``: from BootNotification.conf and
  Heartbeat.conf ``currentTime``; ``at`` is the monotonic time the answer arrived (default now).
  It also checkpoints (below). A time that cannot be parsed or lies outside
  ``bounds.EARLIEST_TIME`` .. ``bounds.LATEST_TIME`` is refused: ``ValueError``, nothing
  changes, nothing is persisted. A time that moves a known clock (or the floor of this boot)
  by more than ``bounds.CLOCK_JUMP_S`` is reported to ``security_event("SettingSystemTime",
  tech_info)`` (a constructor argument; the security log of the whitepaper).
- ``clock.known -> bool``; ``clock.wall_now() -> datetime | None`` (aware UTC).
- ``clock.stamp(at=None) -> str``: ``at`` is a monotonic time (the core's ``Action.at``).
  ISO 8601 UTC with milliseconds and "Z" once known, else a placeholder
  ``"@mono:<boot_id>:<seconds>"`` that may be persisted in a queued payload. Total: it never
  raises (a transaction record must never be lost to a timestamp).
- ``clock.resolve_payload(payload) -> payload``: a deep copy with every placeholder replaced;
  call right before sending. Raises ``ClockUnknown`` while a placeholder of *this* boot remains
  and the clock is not known yet (do not send; BootNotification carries no timestamp).
- ``clock.checkpoint()``: persist the current wall time; keeps the fallback for the next boot
  recent (``set_wall`` already does it, so every Heartbeat refreshes it).
- ``format_utc(dt) -> str``, ``parse_utc(s) -> datetime``, ``is_placeholder(s)``,
  ``read_boot_id(path) -> str``.

Resolution rules (why): ``time.monotonic`` is CLOCK_MONOTONIC on Linux, counted from the kernel's
boot, and the kernel boot id (``/proc/sys/kernel/random/boot_id``) names that time base.

1. Same boot, clock known: wall = mono + offset (exact). The offset is persisted per boot id, so
   a process restarted within the same boot knows the clock at once.
2. Earlier boot whose offset was learnt (before it ended): exact, from the persisted anchors.
3. Earlier boot that never learnt the clock (offline all along): ``floor + mono``, where
   ``floor`` is the last wall time persisted before that boot started. That boot started after
   the floor, so the result is never later than the truth, keeps the order and the durations
   within that boot, and never lies about the date by years (no 1970).
4. Nothing known about that boot (forgotten: only the last 16 boots are kept): the floor of the
   current boot (close to, never after, the start of this boot), else the moment this process
   learnt the clock.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from chargepoint.ocppj import bounds

log = logging.getLogger(__name__)

PLACEHOLDER_PREFIX = "@mono:"
BOOT_ID_PATH = "/proc/sys/kernel/random/boot_id"
# One kv entry, JSON {boot_id: {"n": order, "offset": s?, "floor": iso?, "last": iso?}}:
# "last" is the latest wall time checkpointed during that boot.
_KV_ANCHORS = "ocpp16.clock.anchors"
_MAX_ANCHORS = 16  # boots remembered (placeholders older than that use rule 4)


class KeyValueStore(Protocol):
    """The part of ``chargepoint.store.api.StoreAPI`` the clock uses."""

    def kv_get(self, key: str) -> str | None: ...

    def kv_set(self, key: str, value: str | None) -> None: ...


SecurityEvent = Callable[[str, str], None]  # (type, techInfo) of a SecurityEventNotification


class ClockUnknown(RuntimeError):
    """A payload still holds a placeholder of this boot and the wall clock is not known yet."""


def format_utc(dt: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and "Z", e.g. ``2026-11-27T00:10:00.123Z``."""
    if dt.tzinfo is None:
        raise ValueError("naive datetime")
    utc = dt.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_utc(text: str) -> datetime:
    """Parse an OCPP dateTime (ISO 8601, "Z" or offset; naive is taken as UTC). Raises
    ``ValueError`` on garbage."""
    s = text.strip()
    if s.endswith(("Z", "z")):
        s = s[:-1] + "+00:00"
    dt = datetime.fromisoformat(s)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def is_placeholder(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PLACEHOLDER_PREFIX)


def read_boot_id(path: str = BOOT_ID_PATH) -> str:
    """The kernel's boot id; a fresh random one (never matching a persisted one) if unreadable."""
    try:
        with open(path, encoding="ascii") as f:
            text = f.read().strip()
        if text:
            return text
    except OSError:
        pass
    import uuid

    return f"unknown-{uuid.uuid4()}"


@dataclass(frozen=True, slots=True)
class _Placeholder:
    boot_id: str
    mono: float


def _parse_placeholder(value: str) -> _Placeholder | None:
    body = value[len(PLACEHOLDER_PREFIX):]
    boot_id, sep, secs = body.rpartition(":")
    if not sep or not boot_id:
        return None
    try:
        return _Placeholder(boot_id, float(secs))
    except ValueError:
        return None


class Clock:
    """Monotonic stamps now, wall-clock (UTC) strings as soon as the CSMS told us the time."""

    def __init__(
        self,
        *,
        boot_id: str,
        kv: KeyValueStore | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        security_event: SecurityEvent | None = None,
    ) -> None:
        if ":" in boot_id:
            raise ValueError("boot_id must not contain ':'")
        self._boot_id = boot_id
        self._kv = kv
        self._mono = monotonic
        self.security_event = security_event
        self._offset: float | None = None  # wall (epoch seconds) - monotonic
        self._learnt_at: float | None = None  # epoch seconds when this process learnt the clock
        self._anchors = self._load_anchors()
        mine = self._anchors.get(boot_id)
        if mine is None:
            # Rule 3: the last wall time persisted before this boot is its floor.
            lasts = [a["last"] for a in self._anchors.values() if a.get("last")]
            mine = {"floor": max(lasts)} if lasts else {}  # same format: max() is the latest
            mine["n"] = 1 + max((int(a.get("n", 0)) for a in self._anchors.values()), default=0)
            self._anchors[boot_id] = mine
            self._save_anchors()
        elif "offset" in mine:
            # Rule 1: a restart within the same boot: the offset is still valid.
            self._offset = float(mine["offset"])
            self._learnt_at = self._mono() + self._offset

    @property
    def boot_id(self) -> str:
        return self._boot_id

    @property
    def known(self) -> bool:
        return self._offset is not None

    def set_wall(self, csms_time: str | datetime, at: float | None = None) -> None:
        """Learn the wall clock from a CSMS ``currentTime`` received at monotonic ``at``.

        Raises ``ValueError`` (and changes nothing) for a time that cannot be parsed or is
        not plausible (a CSMS fault, not ours: the caller logs it)."""
        try:
            wall = parse_utc(csms_time) if isinstance(csms_time, str) else csms_time
            if wall.tzinfo is None:
                raise ValueError("naive datetime")
        except (ValueError, OverflowError) as exc:
            raise ValueError("not an ISO 8601 date-time") from exc
        if not bounds.clock_plausible(wall):
            raise ValueError(f"outside {bounds.EARLIEST_TIME.year}..{bounds.LATEST_TIME.year}")
        mono = self._mono() if at is None else at
        self._report_jump(wall, mono)
        self._offset = wall.timestamp() - mono
        if self._learnt_at is None:
            self._learnt_at = wall.timestamp()
        self._anchors[self._boot_id]["offset"] = self._offset
        self.checkpoint()

    def _report_jump(self, wall: datetime, mono: float) -> None:
        before = self.wall_at(mono)
        if before is None:
            floor = self._anchors[self._boot_id].get("floor")
            if not floor:
                return
            before = parse_utc(str(floor))  # only a step back from there is a jump
            if wall >= before:
                return
        moved = (wall - before).total_seconds()
        if abs(moved) <= bounds.CLOCK_JUMP_S:
            return
        info = f"CSMS time {format_utc(wall)} moves the clock by {moved:+.0f} s"
        log.warning("clock: %s", info)
        if self.security_event is not None:
            try:
                self.security_event("SettingSystemTime", info)
            except Exception:  # the security log is a witness; it must not stop the clock
                log.exception("recording the SettingSystemTime event failed")

    def wall_now(self) -> datetime | None:
        """The current wall time (aware UTC), ``None`` while unknown."""
        if self._offset is None:
            return None
        return datetime.fromtimestamp(self._mono() + self._offset, UTC)

    def wall_at(self, at: float) -> datetime | None:
        """The wall time of monotonic instant ``at`` of this boot, ``None`` while unknown."""
        if self._offset is None:
            return None
        return datetime.fromtimestamp(at + self._offset, UTC)

    def stamp(self, at: float | None = None) -> str:
        """A timestamp for monotonic ``at`` (default now): ISO if known, else a placeholder."""
        mono = self._mono() if at is None else at
        if self._offset is not None:
            try:
                return format_utc(datetime.fromtimestamp(mono + self._offset, UTC))
            except (OverflowError, OSError, ValueError):
                log.error("clock: monotonic %r has no wall time: placeholder kept", mono)
        if not math.isfinite(mono):
            mono = self._mono()
        return f"{PLACEHOLDER_PREFIX}{self._boot_id}:{mono:.3f}"

    def checkpoint(self) -> None:
        """Persist the current wall time as the floor for the next boot (no-op while unknown)."""
        now = self.wall_now()
        if now is None:
            return
        self._anchors[self._boot_id]["last"] = format_utc(now)
        self._save_anchors()

    def resolve(self, value: str) -> str:
        """Resolve one placeholder string (other strings come back unchanged).

        Raises ``ClockUnknown`` for a placeholder that cannot be resolved yet."""
        if not is_placeholder(value):
            return value
        ph = _parse_placeholder(value)
        if ph is None:
            raise ValueError(f"malformed timestamp placeholder {value!r}")
        anchor = self._anchors.get(ph.boot_id)
        if ph.boot_id == self._boot_id:
            if self._offset is None:
                raise ClockUnknown(value)
            return format_utc(datetime.fromtimestamp(ph.mono + self._offset, UTC))
        if anchor is not None and "offset" in anchor:
            # Rule 2: that boot learnt the clock later on.
            return format_utc(datetime.fromtimestamp(ph.mono + float(anchor["offset"]), UTC))
        if anchor is not None and anchor.get("floor"):
            # Rule 3: a lower bound that keeps order and durations within that boot.
            floor = parse_utc(str(anchor["floor"]))
            return format_utc(floor + timedelta(seconds=max(ph.mono, 0.0)))
        # Rule 4: nothing known about that boot.
        mine = self._anchors[self._boot_id].get("floor")
        if mine:
            return format_utc(parse_utc(str(mine)))
        if self._learnt_at is None:
            raise ClockUnknown(value)
        return format_utc(datetime.fromtimestamp(self._learnt_at, UTC))

    def can_resolve(self, payload: Any) -> bool:
        """True when ``resolve_payload`` would not raise ``ClockUnknown``."""
        try:
            self.resolve_payload(payload)
        except ClockUnknown:
            return False
        return True

    def resolve_payload(self, payload: Any) -> Any:
        """A deep copy of ``payload`` (dicts, lists, scalars) with every placeholder resolved
        (``_walk`` builds every dict and list anew; scalars are immutable)."""
        return self._walk(payload)

    def _walk(self, node: Any) -> Any:
        if isinstance(node, dict):
            return {k: self._walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [self._walk(v) for v in node]
        if isinstance(node, str):
            return self.resolve(node)
        return node

    # -- persistence of per-boot anchors
    def _load_anchors(self) -> dict[str, dict[str, Any]]:
        raw = self._kv.kv_get(_KV_ANCHORS) if self._kv else None
        if not raw:
            return {}
        try:
            data = json.loads(raw)
        except ValueError:
            log.warning("discarding unreadable clock anchors")
            return {}
        if not isinstance(data, dict):
            return {}
        return {str(k): _sane_anchor(v) for k, v in data.items() if isinstance(v, dict)}

    def _save_anchors(self) -> None:
        if self._kv is None:
            return
        keep = sorted(self._anchors.items(), key=lambda kv: int(kv[1].get("n", 0)))
        self._anchors = dict(keep[-_MAX_ANCHORS:])
        self._kv.kv_set(_KV_ANCHORS, json.dumps(self._anchors, sort_keys=True))


def _plausible_iso(value: object) -> str | None:
    try:
        dt = parse_utc(str(value))
    except (ValueError, OverflowError):
        return None
    return format_utc(dt) if bounds.clock_plausible(dt) else None


def _sane_anchor(anchor: dict[str, Any]) -> dict[str, Any]:
    """A persisted anchor without implausible times (e.g. a CSMS's year 9999 kept by an
    older release): they must never become the fallback clock of a later boot."""
    out: dict[str, Any] = {"n": anchor.get("n", 0) if isinstance(anchor.get("n"), int) else 0}
    offset = anchor.get("offset")
    # offset = wall - monotonic (uptime): never later than the latest plausible wall time.
    if (isinstance(offset, int | float) and not isinstance(offset, bool)
            and 0 < offset < bounds.LATEST_TIME.timestamp()):
        out["offset"] = float(offset)
    for key in ("floor", "last"):
        if anchor.get(key):
            iso = _plausible_iso(anchor[key])
            if iso is not None:
                out[key] = iso
            else:
                log.warning("clock: discarding the implausible persisted %s %r", key,
                            str(anchor[key])[:40])
    return out
