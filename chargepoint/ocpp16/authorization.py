"""Authorization of id tags under OCPP 1.6: the 1.6 face of ``chargepoint.authorization``.

API (for the adapter's handling of ``RequestAuthorization`` and of Authorize / StartTransaction /
StopTransaction confirmations):

- ``auth = Authorizer(store, config)``; ``store``: ``authorization.authorizer.AuthStore`` (the
  store; blocking sqlite, so call from a worker thread); ``config``:
  ``config_keys.Configuration``.
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

The rules (lookup order, expiry, online / offline) are the version-neutral ones of
``chargepoint.authorization.authorizer`` (OCPP 1.6 sections 3.5.1-3.5.3), over these keys:
LocalAuthListEnabled and AuthorizationCacheEnabled (each off too when the station does not offer
the key), LocalPreAuthorize, LocalAuthorizeOffline, AllowOfflineTxForUnknownId. 1.6 has no
cache lifetime.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from chargepoint.authorization import authorizer as neutral
from chargepoint.authorization.authorizer import (
    AuthStore,
    Decision,
    DecisionKind,
    Source,
    effective_status,
)
from chargepoint.core.types import AuthStatus
from chargepoint.ocpp16.config_keys import Configuration
from chargepoint.ocpp16.conversions import auth_status
from chargepoint.store.api import AuthEntry

__all__ = ["AuthStore", "Authorizer", "Decision", "DecisionKind", "Recorded", "Source",
           "effective_status", "id_tag_info_fields", "normalize_id_tag", "parse_status"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Recorded:
    """Result of ``record``: the CSMS's status and whether it disagrees with the local list."""

    status: AuthStatus
    parent_id_tag: str | None
    local_list_conflict: bool


def normalize_id_tag(id_tag: str) -> str:
    """IdToken is CiString20 (case-insensitive): the key under which tags are stored."""
    return neutral.normalize(id_tag)


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


class ConfigAuthSettings:
    """``authorization.authorizer.AuthSettings`` from the 1.6 configuration keys."""

    def __init__(self, config: Configuration) -> None:
        self._cfg = config

    def _offered(self, key: str) -> bool:
        return self._cfg.lookup(key) is not None and self._cfg.get_bool(key)

    def list_enabled(self) -> bool:
        return self._offered("LocalAuthListEnabled")

    def cache_enabled(self) -> bool:
        return self._offered("AuthorizationCacheEnabled")

    def pre_authorize(self) -> bool:
        return self._cfg.get_bool("LocalPreAuthorize")

    def authorize_offline(self) -> bool:
        return self._cfg.get_bool("LocalAuthorizeOffline")

    def offline_unknown_allowed(self) -> bool:
        return self._cfg.get_bool("AllowOfflineTxForUnknownId")

    def cache_lifetime_s(self) -> int | None:
        return None


class Authorizer:
    """Local authorization decisions for 1.6 id tags (see the module docstring)."""

    def __init__(self, store: AuthStore, config: Configuration) -> None:
        self._rules = neutral.Authorizer(store, ConfigAuthSettings(config))
        self._store = store

    def decide_local(
        self, id_tag: str, *, online: bool, now_wall: datetime | None
    ) -> Decision:
        """Decide what can be decided without the CSMS (``authorization.authorizer``)."""
        return self._rules.decide_local(normalize_id_tag(id_tag), online=online,
                                        now_wall=now_wall)

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
        entry = self._rules.cache_entry(key, status, expiry, parent, now_wall)
        conflict = self._rules.list_conflict(key, status, now_wall)
        return entry, Recorded(status, parent, conflict)

    def clear_cache(self) -> Literal["Accepted", "Rejected"]:
        """ClearCache.req: empty the authorization cache (the local list is untouched)."""
        return self._rules.clear_cache()
