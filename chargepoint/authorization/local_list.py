"""Local authorization list updates, version-neutral (OCPP 1.6 3.5.2 / 5.15, 2.0.1 D01, D02).

API (for the protocol packages, which parse their own wire entries):

- ``list_version(store) -> int``: the installed list's version, 0 whenever it is empty.
- ``apply_update(store, full=..., version=..., items=..., parse=..., items_max=...,
  list_max=...) -> "Accepted" | "Failed" | "VersionMismatch"``: ``items`` are the entries as
  received, ``parse`` turns one into a ``ListChange`` or raises ``BadEntry``. Blocking (the
  store): call from a worker thread.
- ``check_time(value, what)`` for ``parse``: ``BadEntry`` for a given value that is not an
  OCPP dateTime.

Rules:

- Differential: a version less than or equal to the installed one (``list_version``) is
  VersionMismatch. A change without an entry removes its key, one with an entry adds or
  replaces it. No items: the list is unchanged, the version advances.
- Full: replaces the whole list; every item needs its entry (status). A negative version, or
  version 0 with entries, is Failed (0 means "no list").
- Failed: more items than ``items_max``, a resulting list longer than ``list_max``, an item
  ``parse`` refuses, the same key twice, or the store refusing the update. Nothing changes
  unless the answer is Accepted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from chargepoint.ocppj.timestamps import parse_utc
from chargepoint.store.api import AuthEntry

log = logging.getLogger(__name__)

UpdateResult = Literal["Accepted", "Failed", "VersionMismatch"]


class LocalListStore(Protocol):
    """The part of ``chargepoint.store.api.StoreAPI`` the local list uses."""

    def local_list_version(self) -> int: ...

    def local_list_get(self, id_tag: str) -> AuthEntry | None: ...

    def local_list_size(self) -> int: ...

    def local_list_replace(self, version: int, entries: list[AuthEntry]) -> None: ...

    def local_list_update(
        self, version: int, upserts: list[AuthEntry], removals: list[str]
    ) -> None: ...


class BadEntry(ValueError):
    """An entry of a list update that cannot be taken (the update fails)."""


def check_time(value: str | None, what: str) -> None:
    """Raise ``BadEntry(f"bad {what}")`` unless ``value`` is None or an OCPP dateTime."""
    if value is None:
        return
    try:
        parse_utc(value)
    except ValueError:
        raise BadEntry(f"bad {what}") from None


@dataclass(frozen=True, slots=True)
class ListChange:
    key: str  # the stored key (``authorizer.normalize``d, with the token type for 2.0.1)
    entry: AuthEntry | None  # None: remove ``key`` (Differential only)


def list_version(store: LocalListStore) -> int:
    """The installed list's version; 0 whenever the list is empty."""
    if store.local_list_size() == 0:
        return 0
    return store.local_list_version()


def apply_update(store: LocalListStore, *, full: bool, version: int, items: Sequence[object],
                 parse: Callable[[object], ListChange], items_max: int,
                 list_max: int) -> UpdateResult:
    """Apply one list update; its answer (rules in the module docstring)."""
    if not full and version <= list_version(store):
        return "VersionMismatch"
    if len(items) > items_max:
        log.info("local list update with %d entries > %d per message", len(items), items_max)
        return "Failed"
    try:
        changes = [parse(raw) for raw in items]
    except BadEntry as exc:
        log.info("local list update failed: %s", exc)
        return "Failed"
    keys = [c.key for c in changes]
    if len(set(keys)) != len(keys):
        log.info("local list update failed: the same id token twice")
        return "Failed"
    upserts = [c.entry for c in changes if c.entry is not None]
    try:
        if full:
            if version < 0 or (version == 0 and changes):
                return "Failed"
            if len(upserts) != len(changes):
                log.info("local list update failed: Full update entry without its status")
                return "Failed"
            if len(upserts) > list_max:
                return "Failed"
            store.local_list_replace(version, upserts)
            return "Accepted"
        removals = [c.key for c in changes if c.entry is None]
        size = store.local_list_size()
        size += sum(1 for e in upserts if store.local_list_get(e.id_tag) is None)
        size -= sum(1 for key in removals if store.local_list_get(key) is not None)
        if size > list_max:
            log.info("local list update failed: list would hold %d > %d entries", size, list_max)
            return "Failed"
        store.local_list_update(version, upserts, removals)
        return "Accepted"
    except Exception:
        log.exception("storing the local authorization list failed")
        return "Failed"
