"""Authorization of id tags: local list, authorization cache and the offline rules.

API (for the adapter's handling of ``RequestAuthorization`` and of Authorize / StartTransaction /
StopTransaction confirmations):

- ``auth = Authorizer(store, config)``; ``store``: anything with ``cache_get / cache_put /
  cache_clear / local_list_get`` (the store; blocking sqlite, so call from a worker thread or
  accept one small query); ``config``: ``config_keys.Configuration``.
- ``auth.decide_local(id_tag, online=..., now_wall=clock.wall_now()) -> Decision``:
  ``Decision.kind`` is ``ACCEPT`` (start now; ``status`` Accepted, ``parent_id_tag``),
  ``REJECT`` (``status`` says why: Invalid / Blocked / Expired / ConcurrentTx), or ``ASK``
  (send Authorize.req). When Authorize.req cannot be answered (offline, timeout), call again
  with ``online=False``: that never returns ``ASK``.
- ``auth.record(id_tag, id_tag_info, now_wall) -> Recorded``: after every Authorize.conf,
  StartTransaction.conf and StopTransaction.conf ``idTagInfo`` (camelCase as on the wire or the
  snake_case the ``ocpp`` library hands to handlers). Updates the cache and reports a
  ``local_list_conflict``: then send StatusNotification(connectorId 0, errorCode
  LocalListConflict) (OCPP 1.6 section 3.5.3). ``auth.learn(...) -> (entry, Recorded)``: the
  same without writing, the cache entry committed by the caller (``store.confirm``).
- ``auth.clear_cache() -> "Accepted" | "Rejected"``: ClearCache.conf status (OCTT 061).
- ``normalize_id_tag(tag)``: the key used in cache and list (IdToken is CiString20:
  case-insensitive, so keys are upper case; the original tag is what goes on the wire).

Rules (OCPP 1.6 sections 3.5.1 Authorization Cache, 3.5.2 Local Authorization List, 3.5.3
Unknown offline authorization, 9.1 keys):

- Lookup order: the local list (only while LocalAuthListEnabled), then the cache (only while
  AuthorizationCacheEnabled). The first source holding the tag decides; its "effective" status
  is Expired when an Accepted entry's expiryDate has passed (a cache entry found so is rewritten
  as Expired, 3.5.1).
- Online: with LocalPreAuthorize an effective Accepted entry starts at once (OCTT 007_x, 008_x);
  everything else asks the CSMS.
- Offline: a known tag with an effective status other than Accepted is rejected, whatever
  AllowOfflineTxForUnknownId says (3.5.3). A known Accepted tag starts when
  LocalAuthorizeOffline (037_1). Otherwise the tag counts as unknown: it starts when
  AllowOfflineTxForUnknownId (037_2/037_3; the CSMS's later verdict in StartTransaction.conf and
  StopTransactionOnInvalidId are the core's business), else it is rejected as Invalid.
- Wall clock unknown (``now_wall`` None): an expiry date cannot be checked. Online such an entry
  is not trusted for pre-authorization (ask the CSMS); offline it is taken at its stored status,
  so a station that boots without network still serves its known cards.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from chargepoint.core.types import AuthStatus
from chargepoint.ocpp16.config_keys import Configuration
from chargepoint.ocpp16.conversions import auth_status
from chargepoint.ocppj.timestamps import parse_utc
from chargepoint.store.api import AuthEntry

log = logging.getLogger(__name__)


class AuthStore(Protocol):
    """The part of ``chargepoint.store.api.StoreAPI`` the authorizer uses."""

    def cache_put(self, entry: AuthEntry) -> None: ...

    def cache_get(self, id_tag: str) -> AuthEntry | None: ...

    def cache_clear(self) -> None: ...

    def local_list_get(self, id_tag: str) -> AuthEntry | None: ...


class DecisionKind(enum.Enum):
    ACCEPT = "accept"  # start now
    REJECT = "reject"  # refuse now
    ASK = "ask"  # send Authorize.req and wait for the CSMS


class Source(enum.Enum):
    LOCAL_LIST = "local_list"
    CACHE = "cache"
    OFFLINE_UNKNOWN = "offline_unknown"  # AllowOfflineTxForUnknownId (or its refusal)
    NONE = "none"  # nothing local decided: ask the CSMS


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with an id tag now. ``status`` is None only for ``ASK``."""

    kind: DecisionKind
    status: AuthStatus | None
    parent_id_tag: str | None
    source: Source

    @property
    def accepted(self) -> bool:
        return self.kind is DecisionKind.ACCEPT


@dataclass(frozen=True, slots=True)
class Recorded:
    """Result of ``record``: the CSMS's status and whether it disagrees with the local list."""

    status: AuthStatus
    parent_id_tag: str | None
    local_list_conflict: bool


_ASK = Decision(DecisionKind.ASK, None, None, Source.NONE)


def normalize_id_tag(id_tag: str) -> str:
    """IdToken is CiString20 (case-insensitive): the key under which tags are stored."""
    return id_tag.strip().upper()


def parse_status(value: object) -> AuthStatus:
    """An AuthorizationStatus string; anything unknown counts as Invalid (never as Accepted)."""
    try:
        return auth_status(value)
    except ValueError:
        log.warning("unknown AuthorizationStatus %r taken as Invalid", value)
        return AuthStatus.INVALID


def id_tag_info_fields(info: Mapping[str, Any]) -> tuple[AuthStatus, str | None, str | None]:
    """(status, expiryDate, parentIdTag) of an idTagInfo in wire or snake_case form."""
    status = parse_status(info.get("status"))
    expiry = info.get("expiryDate", info.get("expiry_date"))
    parent = info.get("parentIdTag", info.get("parent_id_tag"))
    return (
        status,
        None if expiry is None else str(expiry),
        None if parent is None else str(parent),
    )


def effective_status(entry: AuthEntry, now_wall: datetime | None) -> AuthStatus | None:
    """The entry's status with its expiry applied; None when that cannot be told (no clock)."""
    status = parse_status(entry.status)
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

    def __init__(self, store: AuthStore, config: Configuration) -> None:
        self._store = store
        self._cfg = config

    def _enabled(self, key: str) -> bool:
        return self._cfg.lookup(key) is not None and self._cfg.get_bool(key)

    def _lookup(
        self, id_tag: str, now_wall: datetime | None
    ) -> tuple[Source, AuthEntry, AuthStatus | None] | None:
        key = normalize_id_tag(id_tag)
        if self._enabled("LocalAuthListEnabled"):
            entry = self._store.local_list_get(key)
            if entry is not None:
                return Source.LOCAL_LIST, entry, effective_status(entry, now_wall)
        if self._enabled("AuthorizationCacheEnabled"):
            entry = self._store.cache_get(key)
            if entry is not None:
                status = effective_status(entry, now_wall)
                if status is AuthStatus.EXPIRED and entry.status != AuthStatus.EXPIRED.value:
                    # 3.5.1: an entry whose validity ran out is changed to Expired in the cache.
                    self._store.cache_put(AuthEntry(key, AuthStatus.EXPIRED.value,
                                                    entry.expiry, entry.parent_id_tag))
                return Source.CACHE, entry, status
        return None

    def decide_local(
        self, id_tag: str, *, online: bool, now_wall: datetime | None
    ) -> Decision:
        """Decide what can be decided without the CSMS (rules in the module docstring)."""
        found = self._lookup(id_tag, now_wall)
        if online:
            if not self._cfg.get_bool("LocalPreAuthorize") or found is None:
                return _ASK
            source, entry, status = found
            if status is AuthStatus.ACCEPTED:
                return Decision(DecisionKind.ACCEPT, status, entry.parent_id_tag, source)
            return _ASK
        if found is not None:
            source, entry, status = found
            if status is None:  # no wall clock: take the stored status (see docstring)
                status = parse_status(entry.status)
            if status is not AuthStatus.ACCEPTED:
                return Decision(DecisionKind.REJECT, status, entry.parent_id_tag, source)
            if self._cfg.get_bool("LocalAuthorizeOffline"):
                return Decision(DecisionKind.ACCEPT, status, entry.parent_id_tag, source)
        if self._cfg.get_bool("AllowOfflineTxForUnknownId"):
            return Decision(DecisionKind.ACCEPT, AuthStatus.ACCEPTED, None,
                            Source.OFFLINE_UNKNOWN)
        return Decision(DecisionKind.REJECT, AuthStatus.INVALID, None, Source.OFFLINE_UNKNOWN)

    def record(
        self, id_tag: str, id_tag_info: Mapping[str, Any], now_wall: datetime | None = None
    ) -> Recorded:
        """Learn the CSMS's verdict on ``id_tag`` (cache update, local list conflict check)."""
        entry, recorded = self.learn(id_tag, id_tag_info, now_wall)
        if entry is not None:
            self._store.cache_put(entry)
        return recorded

    def learn(
        self, id_tag: str, id_tag_info: Mapping[str, Any], now_wall: datetime | None = None
    ) -> tuple[AuthEntry | None, Recorded]:
        """``record`` without writing: the cache entry to put (None: the cache is disabled),
        for the caller to commit with its own change (``store.confirm``)."""
        status, expiry, parent = id_tag_info_fields(id_tag_info)
        key = normalize_id_tag(id_tag)
        entry = None
        if self._enabled("AuthorizationCacheEnabled"):
            entry = AuthEntry(key, status.value, expiry, parent)
        conflict = False
        if self._enabled("LocalAuthListEnabled"):
            listed = self._store.local_list_get(key)
            if listed is not None:
                local = effective_status(listed, now_wall)
                conflict = local is not None and local is not status
                if conflict:
                    log.warning("local list conflict for %s: list %s, CSMS %s",
                                key, local.value if local else None, status.value)
        return entry, Recorded(status, parent, conflict)

    def clear_cache(self) -> Literal["Accepted", "Rejected"]:
        """ClearCache.req: empty the authorization cache (the local list is untouched)."""
        try:
            self._store.cache_clear()
        except Exception:
            log.exception("clearing the authorization cache failed")
            return "Rejected"
        return "Accepted"
