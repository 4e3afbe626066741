"""Local authorization decisions over the store: lookup order, expiry, offline rules.

API (the protocol packages wrap it with their wire forms; ``key`` is the token as stored, see
``normalize``):

- ``auth = Authorizer(store, settings)``; ``store``: ``AuthStore`` (blocking sqlite: call from a
  worker thread); ``settings``: ``AuthSettings``, read at every call (the CSMS may change them).
- ``auth.decide_local(key, online=..., now_wall=...) -> Decision``: ``ACCEPT`` (start now),
  ``REJECT`` (``status`` says why) or ``ASK`` (send Authorize and wait). When Authorize cannot
  be answered (offline, timeout), call again with ``online=False``: that never returns ``ASK``.
- ``auth.cache_entry(key, status, expiry, parent, now_wall) -> AuthEntry | None``: the cache
  entry for a CSMS verdict (None while the cache is disabled), for the caller to write alone
  (``store.cache_put``) or with its own change (``store.confirm``); ``auth.record(...)`` puts it.
- ``auth.list_conflict(key, status, now_wall) -> bool``: the local list says otherwise.
- ``auth.clear_cache() -> "Accepted" | "Rejected"``.

Rules (OCPP 1.6 3.5.1-3.5.3; OCPP 2.0.1 C10, C12-C15, which keep them):

- Lookup order: the local list (while enabled), then the cache (while enabled). The first
  source holding the key decides; its effective status is Expired when an Accepted entry's
  expiry has passed (a cache entry found so is rewritten as Expired).
- Online: with LocalPreAuthorize an effective Accepted entry starts at once; everything else
  asks the CSMS.
- Offline: a known key with an effective status other than Accepted is rejected, whatever the
  unknown-id setting says. A known Accepted key starts when LocalAuthorizeOffline. Otherwise
  the key counts as unknown: it starts when offline transactions for unknown ids are allowed
  (the CSMS's later verdict is the core's business), else it is rejected as Invalid.
- Wall clock unknown (``now_wall`` None): an expiry cannot be checked. Online such an entry is
  not trusted for pre-authorization; offline it is taken at its stored status.
- A cache lifetime (``AuthSettings.cache_lifetime_s``, 2.0.1 AuthCacheCtrlr.LifeTime): an
  entry expires at the earlier of the CSMS's expiry and ``lifetime`` seconds after the CSMS's
  verdict was stored (only while the wall clock is known).
- Statuses are stored in the station's vocabulary (``core.types.AuthStatus`` values); a stored
  value the station does not know counts as Invalid, never as Accepted.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

from chargepoint.core.types import AuthStatus
from chargepoint.ocppj.timestamps import format_utc, parse_utc
from chargepoint.store.api import AuthEntry

log = logging.getLogger(__name__)


class AuthStore(Protocol):
    """The part of ``chargepoint.store.api.StoreAPI`` the authorizer uses."""

    def cache_put(self, entry: AuthEntry) -> None: ...

    def cache_get(self, id_tag: str) -> AuthEntry | None: ...

    def cache_clear(self) -> None: ...

    def local_list_get(self, id_tag: str) -> AuthEntry | None: ...


class AuthSettings(Protocol):
    """The configuration the rules read (1.6 keys or 2.0.1 device-model variables)."""

    def list_enabled(self) -> bool: ...

    def cache_enabled(self) -> bool: ...

    def pre_authorize(self) -> bool:
        """LocalPreAuthorize: an Accepted local entry starts at once while online."""

    def authorize_offline(self) -> bool:
        """LocalAuthorizeOffline: an Accepted local entry starts while offline."""

    def offline_unknown_allowed(self) -> bool:
        """1.6 AllowOfflineTxForUnknownId, 2.0.1 OfflineTxForUnknownIdEnabled."""

    def cache_lifetime_s(self) -> int | None:
        """Seconds a cache entry lives after it was stored; None or 0: no limit."""


class DecisionKind(enum.Enum):
    ACCEPT = "accept"  # start now
    REJECT = "reject"  # refuse now
    ASK = "ask"  # send Authorize and wait for the CSMS


class Source(enum.Enum):
    LOCAL_LIST = "local_list"
    CACHE = "cache"
    OFFLINE_UNKNOWN = "offline_unknown"  # the unknown-id rule (or its refusal)
    NONE = "none"  # nothing local decided: ask the CSMS


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with a token now. ``status`` is None only for ``ASK``."""

    kind: DecisionKind
    status: AuthStatus | None
    parent_id_tag: str | None
    source: Source

    @property
    def accepted(self) -> bool:
        return self.kind is DecisionKind.ACCEPT


_ASK = Decision(DecisionKind.ASK, None, None, Source.NONE)


def normalize(token: str) -> str:
    """Id tokens are case-insensitive (1.6 CiString20, 2.0.1 IdToken): the stored form."""
    return token.strip().upper()


def stored_status(value: object) -> AuthStatus:
    """A stored status; anything unknown counts as Invalid (never as Accepted)."""
    try:
        return AuthStatus(value)
    except ValueError:
        log.warning("unknown authorization status %r taken as Invalid", value)
        return AuthStatus.INVALID


def effective_status(entry: AuthEntry, now_wall: datetime | None) -> AuthStatus | None:
    """The entry's status with its expiry applied; None when that cannot be told (no clock)."""
    status = stored_status(entry.status)
    if status is not AuthStatus.ACCEPTED or entry.expiry is None:
        return status
    try:
        expiry = parse_utc(entry.expiry)
    except ValueError:
        return AuthStatus.EXPIRED  # an unreadable expiry is not a licence to charge
    if now_wall is None:
        return None
    return AuthStatus.EXPIRED if expiry <= now_wall else AuthStatus.ACCEPTED


class Authorizer:
    """Local authorization decisions over the store (see the module docstring)."""

    def __init__(self, store: AuthStore, settings: AuthSettings) -> None:
        self._store = store
        self._settings = settings

    def _lookup(
        self, key: str, now_wall: datetime | None
    ) -> tuple[Source, AuthEntry, AuthStatus | None] | None:
        if self._settings.list_enabled():
            entry = self._store.local_list_get(key)
            if entry is not None:
                return Source.LOCAL_LIST, entry, effective_status(entry, now_wall)
        if self._settings.cache_enabled():
            entry = self._store.cache_get(key)
            if entry is not None:
                status = effective_status(entry, now_wall)
                if status is AuthStatus.EXPIRED and entry.status != AuthStatus.EXPIRED.value:
                    # an entry whose validity ran out is changed to Expired in the cache
                    self._store.cache_put(AuthEntry(key, AuthStatus.EXPIRED.value,
                                                    entry.expiry, entry.parent_id_tag))
                return Source.CACHE, entry, status
        return None

    def decide_local(self, key: str, *, online: bool, now_wall: datetime | None) -> Decision:
        """Decide what can be decided without the CSMS (rules in the module docstring)."""
        found = self._lookup(key, now_wall)
        s = self._settings
        if online:
            if not s.pre_authorize() or found is None:
                return _ASK
            source, entry, status = found
            if status is AuthStatus.ACCEPTED:
                return Decision(DecisionKind.ACCEPT, status, entry.parent_id_tag, source)
            return _ASK
        if found is not None:
            source, entry, status = found
            if status is None:  # no wall clock: take the stored status (see docstring)
                status = stored_status(entry.status)
            if status is not AuthStatus.ACCEPTED:
                return Decision(DecisionKind.REJECT, status, entry.parent_id_tag, source)
            if s.authorize_offline():
                return Decision(DecisionKind.ACCEPT, status, entry.parent_id_tag, source)
        if s.offline_unknown_allowed():
            return Decision(DecisionKind.ACCEPT, AuthStatus.ACCEPTED, None,
                            Source.OFFLINE_UNKNOWN)
        return Decision(DecisionKind.REJECT, AuthStatus.INVALID, None, Source.OFFLINE_UNKNOWN)

    def cache_entry(self, key: str, status: AuthStatus, expiry: str | None,
                    parent: str | None, now_wall: datetime | None) -> AuthEntry | None:
        """The cache entry for the CSMS's verdict on ``key``; None while the cache is off."""
        if not self._settings.cache_enabled():
            return None
        lifetime = self._settings.cache_lifetime_s()
        if lifetime and now_wall is not None:
            ends = now_wall + timedelta(seconds=lifetime)
            try:
                if expiry is None or parse_utc(expiry) > ends:
                    expiry = format_utc(ends)
            except ValueError:
                pass  # unreadable: effective_status takes it as Expired
        return AuthEntry(key, status.value, expiry, parent)

    def record(self, key: str, status: AuthStatus, expiry: str | None, parent: str | None,
               now_wall: datetime | None) -> None:
        """Put the CSMS's verdict into the cache (blocking)."""
        entry = self.cache_entry(key, status, expiry, parent, now_wall)
        if entry is not None:
            self._store.cache_put(entry)

    def list_conflict(self, key: str, status: AuthStatus, now_wall: datetime | None) -> bool:
        """The enabled local list holds ``key`` with another effective status than the
        CSMS's ``status`` (unknown when the clock cannot tell)."""
        if not self._settings.list_enabled():
            return False
        listed = self._store.local_list_get(key)
        if listed is None:
            return False
        local = effective_status(listed, now_wall)
        conflict = local is not None and local is not status
        if conflict:
            log.warning("local list conflict for %s: list %s, CSMS %s",
                        key, local.value if local else None, status.value)
        return conflict

    def clear_cache(self) -> Literal["Accepted", "Rejected"]:
        """Empty the authorization cache (the local list is untouched)."""
        try:
            self._store.cache_clear()
        except Exception:
            log.exception("clearing the authorization cache failed")
            return "Rejected"
        return "Accepted"
