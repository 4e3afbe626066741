"""The installed charging profiles of a station, version-neutral: the one owner of the store's
charging_profiles table and of the ``LimitTimer`` that enforces them. The 1.6 and 2.0.1
smart-charging handlers check a profile against their version's rules and hand it here.

``ProfileBook(services, circuits, record_tag=..., same_level_replaces=..., enabled=...)``:

- ``install(item)`` in memory (replacing the same id, and with ``same_level_replaces`` the
  same connector, stack level and purpose: 1.6 5.16.2; 2.0.1 K01.FR.05 replaces by id only)
  and applies the new limits at once; ``persist(item)`` writes it (off the loop; False when
  the store refused). A handler persists before it answers Accepted, then installs.
- ``forget(ids)`` / ``unpersist(ids)``: the same for removal. ``lock``: one change at a time.
- ``matching(connector, purpose, stack_level, ids=..., wire=...)``: the installed profiles
  every given criterion matches (None: any; ``purpose`` as ``wire`` names it on the wire);
  ``clear(profile_id, connector, purpose, stack_level, wire=...)`` (ClearChargingProfile:
  the id alone when given, else the criteria) forgets and unpersists them: the ids cleared.
- ``restore(from_wire)`` at start: every stored row's profile data through
  ``from_wire(connector, data, installed_at)`` (a malformed or foreign row raises
  ``KeyError`` / ``TypeError`` / ``ValueError`` and is dropped); TxProfiles are dropped (a
  restart ended their transaction).
- Transactions, observed from the core's actions: a start is anchored for Relative profiles
  (``running``) and may install a profile (``on_start(action)``: a remote start's TxProfile,
  persisted in a task); a stop removes the TxProfiles of its connector (memory now, the store
  in a task). A TxProfile is only ever installed for the transaction running on its
  connector, so in the schedule it applies to whatever runs there.
- ``enabled()`` False: nothing is enforced (the schedule is empty); ``changed()`` after it
  flips. ``on_change`` listeners hear of every change of the installed set.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Container, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from chargepoint.core.actions import Action, StartTransaction, StopTransaction
from chargepoint.core.events import Event
from chargepoint.core.schedule import ChargingProfile, Circuit, Purpose, Schedule, Transaction
from chargepoint.limit_timer import LimitTimer
from chargepoint.ocppj.timestamps import Clock, format_utc, parse_utc
from chargepoint.ports import StationPort

LOG = logging.getLogger("chargepoint.ocpp")


class BookServices(Protocol):
    """What the book uses of an adapter."""

    @property
    def port(self) -> StationPort: ...
    @property
    def clock(self) -> Clock: ...

    def spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]: ...


@dataclasses.dataclass(frozen=True, slots=True)
class Installed:
    """One installed profile: the core's value and the wire data the store keeps (as the
    ``ocpp`` library handed it, decimals as float)."""

    profile: ChargingProfile
    data: dict[str, Any]


class ProfileBook:
    def __init__(self, services: BookServices, circuits: Mapping[int, Circuit], *,
                 record_tag: Mapping[str, str] | None = None,
                 same_level_replaces: bool = True,
                 enabled: Callable[[], bool] = lambda: True) -> None:
        self._s = services
        self._circuits = dict(circuits)
        self._record_tag = dict(record_tag or {})
        self._same_level_replaces = same_level_replaces
        self._enabled = enabled
        self._installed: dict[int, Installed] = {}
        self.running: dict[int, Transaction] = {}  # connector -> its transaction
        self.lock = asyncio.Lock()  # one change of the installed profiles at a time
        self.on_start: Callable[[StartTransaction], Installed | None] = lambda _: None
        self._listeners: list[Callable[[], None]] = []
        self.timer = LimitTimer(services.port.submit, self.wall_now, self.schedule())
        services.port.observe(self._observed)

    # -- queries
    def wall_now(self) -> datetime:
        """The CSMS's wall clock (the system clock until the CSMS told the time)."""
        return self._s.clock.wall_now() or datetime.now(UTC)

    def items(self) -> list[Installed]:
        return list(self._installed.values())

    def __contains__(self, profile_id: int) -> bool:
        return profile_id in self._installed

    def __len__(self) -> int:
        return len(self._installed)

    def matching(self, connector: int | None = None, purpose: str | None = None,
                 stack_level: int | None = None, *, ids: Container[int] | None = None,
                 wire: Callable[[Purpose], str] = lambda p: p.value) -> list[Installed]:
        """The installed profiles every given criterion matches (None: any)."""
        return [i for i in self._installed.values()
                if (connector is None or i.profile.connector == connector)
                and (ids is None or i.profile.id in ids)
                and (purpose is None or wire(i.profile.purpose) == purpose)
                and (stack_level is None or i.profile.stack_level == stack_level)]

    def schedule(self, items: Iterable[Installed] | None = None) -> Schedule:
        """The schedule of ``items`` (default: the installed profiles, none while not
        enabled); raises ``ValueError`` for a profile on a connector without a circuit."""
        if items is None:
            items = self._installed.values() if self._enabled() else ()
        profiles = tuple(dataclasses.replace(i.profile, transaction_id=None) for i in items)
        return Schedule(self._circuits, profiles)

    def replaced_by(self, old: ChargingProfile, new: ChargingProfile) -> bool:
        """Whether installing ``new`` removes ``old``."""
        return old.id == new.id or (self._same_level_replaces and (
            old.connector, old.stack_level, old.purpose) == (
            new.connector, new.stack_level, new.purpose))

    def on_change(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def changed(self) -> None:
        """Apply the installed profiles and running transactions now (one update)."""
        self.timer.update(schedule=self.schedule(), transactions=self.running)
        for listener in self._listeners:
            listener()

    # -- start-up
    async def restore(
            self, from_wire: Callable[[int, dict[str, Any], datetime], ChargingProfile]) -> None:
        """Install the profiles the store kept (call once, before ``timer.run``)."""
        def parse(connector: int, record: dict[str, Any]) -> Installed:
            data = record["charging_profile"]
            return Installed(from_wire(connector, data, parse_utc(record["installed_at"])), data)

        rows = await asyncio.to_thread(self._s.port.store.profiles)
        dropped: list[int] = []
        for profile_id, connector, record in rows:
            try:
                if any(record.get(k) != v for k, v in self._record_tag.items()):
                    raise ValueError("written by another OCPP version")
                item = parse(connector, record)
                self.schedule([item])  # the connector still exists
            except (AttributeError, KeyError, TypeError, ValueError) as exc:
                LOG.warning("stored charging profile %d dropped: %s", profile_id, exc)
                dropped.append(profile_id)
                continue
            if item.profile.purpose is Purpose.TX:
                dropped.append(profile_id)  # its transaction ended with the restart
                continue
            self._installed[profile_id] = item
        for profile_id in dropped:
            await asyncio.to_thread(self._s.port.store.profile_remove, profile_id)
        if self._installed:
            LOG.info("%d charging profile(s) restored", len(self._installed))
        self.changed()

    # -- changes
    def record(self, item: Installed) -> dict[str, Any]:
        """What the store keeps of ``item``."""
        installed_at = item.profile.installed_at
        assert installed_at is not None
        return {**self._record_tag, "charging_profile": item.data,
                "installed_at": format_utc(installed_at)}

    async def persist(self, item: Installed) -> bool:
        """Write ``item`` to the store; False (logged) when the store refused."""
        p = item.profile
        try:
            await asyncio.to_thread(self._s.port.store.profile_put, p.id, p.connector,
                                    p.stack_level, p.purpose.value, self.record(item),
                                    same_level_replaces=self._same_level_replaces)
        except Exception:
            LOG.exception("charging profile %d not persisted", p.id)
            return False
        return True

    def install(self, item: Installed, *, update: bool = True) -> None:
        """Install in memory and (``update``) apply the new limits (no await: atomic)."""
        p = item.profile
        for old in [i for i in self._installed.values() if self.replaced_by(i.profile, p)]:
            del self._installed[old.profile.id]
        self._installed[p.id] = item
        LOG.info("charging profile %d installed: %s on connector %d, stack level %d",
                 p.id, p.purpose.value, p.connector, p.stack_level)
        if update:
            self.changed()

    def forget(self, ids: Iterable[int], *, update: bool = True) -> None:
        for profile_id in ids:
            self._installed.pop(profile_id, None)
        if update:
            self.changed()

    async def unpersist(self, ids: Iterable[int]) -> None:
        for profile_id in ids:
            await asyncio.to_thread(self._s.port.store.profile_remove, profile_id)

    async def clear(self, profile_id: int | None, connector: int | None, purpose: str | None,
                    stack_level: int | None, *,
                    wire: Callable[[Purpose], str] = lambda p: p.value) -> list[int]:
        """ClearChargingProfile: the ids removed (from memory and the store; []: Unknown)."""
        async with self.lock:
            if profile_id is not None:
                matches = [profile_id] if profile_id in self else []
            else:
                matches = [i.profile.id
                           for i in self.matching(connector, purpose, stack_level, wire=wire)]
            if matches:
                self.forget(matches)
                await self.unpersist(matches)
        return matches

    # -- transactions (observed from the core's actions)
    def _observed(self, item: Event | Action) -> None:
        if isinstance(item, StartTransaction | StopTransaction):
            # Not from inside the core's action loop: a limit event now would overtake the
            # actions still being performed.
            asyncio.get_running_loop().call_soon(self._transaction_changed, item)

    def _transaction_changed(self, action: StartTransaction | StopTransaction) -> None:
        # Memory first, in this turn of the loop (the EV gets the profile's limit from the
        # transaction's first moments); the store follows in a task.
        c = action.connector
        if isinstance(action, StartTransaction):
            started = self._s.clock.wall_at(action.at) or self.wall_now()
            self.running[c] = Transaction(c, started)
            item = self.on_start(action)
            if item is not None:
                self.install(item, update=False)
                self._s.spawn(self._persist_locked(item))
            self.changed()
            return
        self.running.pop(c, None)
        ended = [i.profile.id for i in self._installed.values()
                 if i.profile.purpose is Purpose.TX and i.profile.connector == c]
        self.forget(ended, update=False)
        self.changed()
        if ended:
            LOG.info("transaction on connector %d ended: TxProfile(s) %s removed", c, ended)
            self._s.spawn(self._unpersist_locked(ended))

    async def _persist_locked(self, item: Installed) -> None:
        async with self.lock:
            if item.profile.id in self._installed:  # not cleared meanwhile
                await self.persist(item)

    async def _unpersist_locked(self, ids: list[int]) -> None:
        async with self.lock:
            await self.unpersist(ids)
