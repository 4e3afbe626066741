"""Authorization under OCPP 2.0.1 (block C for an AC station without ISO 15118): the
2.0.1 face of ``chargepoint.authorization`` over the device model.

API (for the adapter, the transactions and the handlers):

- ``auth = Authorization(services)``; ``await auth.refresh()`` at the start and after every
  change of the list or cache (the read-only counts of the device model).
- ``auth.id_token(id_tag) -> IdTokenType``: how the station names a core id tag on the wire:
  "" (free vend) is ``{"idToken": "", "type": "NoAuthorization"}``, a tag the CSMS named in
  RequestStartTransaction keeps the CSMS's type (``remember_type``; e.g. Central), any other
  tag is a card (ISO14443).
- ``await auth.authorize(action)``: answers the core's ``RequestAuthorization`` with
  ``AuthorizationResult``.
- ``auth.cache_entry(id_token, id_token_info) -> AuthEntry | None``: the cache entry for a
  TransactionEventResponse's idTokenInfo (committed with the message's removal).

Rules (OCPP 2.0.1 C01, C10, C12-C15; the lookup order, expiry and offline rules are
``chargepoint.authorization.authorizer``'s):

- Keys: ``token_key``: the token upper-cased (IdToken is case-insensitive) with its type, so
  a card's UID never matches a Central or eMAID entry of the same text.
- Online (registered): with ``AuthCtrlr.LocalPreAuthorize`` a token the local list
  (``LocalAuthListCtrlr.Enabled``) or the cache (``AuthCacheCtrlr.Enabled``) holds as Accepted
  and unexpired starts at once, without Authorize (C12, C14); else Authorize (C01), whose
  idTokenInfo is cached (C10) and decides.
- Offline, or Authorize unanswered: ``AuthCtrlr.LocalAuthorizeOffline`` lets a token held as
  Accepted start (C12, C13); a token held with any other status is refused;
  ``AuthCtrlr.OfflineTxForUnknownIdEnabled`` lets any other token start (C15), else it is
  refused as Invalid.
- Statuses: Accepted, Blocked, Expired and ConcurrentTx keep their meaning; Invalid, Unknown,
  NoCredit, NotAllowedTypeEVSE, NotAtThisLocation and NotAtThisTime refuse (Invalid for the
  core and in the cache: a refusal the station cannot tell apart later). ``cacheExpiryDateTime``
  is the entry's expiry, ``AuthCacheCtrlr.LifeTime`` (s, 0: none) caps it from the time the
  verdict was stored; ``groupIdToken`` is the parent id tag. ``evseId`` restrictions are not
  applied.
- NoAuthorization tokens (free vend) are never looked up or cached.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any, Protocol

from chargepoint.authorization.authorizer import Authorizer, DecisionKind, normalize
from chargepoint.core.actions import RequestAuthorization
from chargepoint.core.events import AuthorizationResult
from chargepoint.core.types import AuthStatus
from chargepoint.ocpp201 import conversions
from chargepoint.ocpp201.device_model import DeviceModel
from chargepoint.ocpp201.services import AdapterServices
from chargepoint.ocppj.rpc_errors import CallFailed
from chargepoint.store.api import AuthEntry

LOG = logging.getLogger("chargepoint.ocpp")

FREE = "NoAuthorization"
ENTRY_BYTES = 160  # the Storage variables: an upper bound of one stored entry
_TYPES_KEPT = 32  # remembered RequestStartTransaction token types


class AuthorizationServices(AdapterServices, Protocol):
    """What ``Authorization`` uses of the adapter."""


class ModelAuthSettings:
    """``authorization.authorizer.AuthSettings`` from the 2.0.1 device model."""

    def __init__(self, model: DeviceModel) -> None:
        self._model = model

    def list_enabled(self) -> bool:
        return self._model.get_bool("LocalAuthListCtrlr.Enabled")

    def cache_enabled(self) -> bool:
        return self._model.get_bool("AuthCacheCtrlr.Enabled")

    def pre_authorize(self) -> bool:
        return self._model.get_bool("AuthCtrlr.LocalPreAuthorize")

    def authorize_offline(self) -> bool:
        return self._model.get_bool("AuthCtrlr.LocalAuthorizeOffline")

    def offline_unknown_allowed(self) -> bool:
        return self._model.get_bool("AuthCtrlr.OfflineTxForUnknownIdEnabled")

    def cache_lifetime_s(self) -> int | None:
        return self._model.get_int("AuthCacheCtrlr.LifeTime")


def _field(info: Mapping[str, Any], camel: str, snake: str) -> Any:
    return info[camel] if camel in info else info.get(snake)


def token_key(token: Mapping[str, Any]) -> str | None:
    """The stored key of an IdTokenType (wire or snake_case), None for one never stored
    (NoAuthorization, empty)."""
    value = _field(token, "idToken", "id_token")
    kind = token.get("type")
    if not isinstance(value, str) or not value.strip() or not isinstance(kind, str) \
            or kind == FREE:
        return None
    return f"{kind}:{normalize(value)}"


def info_fields(info: Mapping[str, Any]) -> tuple[AuthStatus, str | None, str | None]:
    """(status, cacheExpiryDateTime, groupIdToken's token) of an IdTokenInfoType."""
    status = conversions.auth_status(str(info.get("status")))
    expiry = _field(info, "cacheExpiryDateTime", "cache_expiry_date_time")
    group = _field(info, "groupIdToken", "group_id_token")
    parent = _field(group, "idToken", "id_token") if isinstance(group, Mapping) else None
    return (status, None if expiry is None else str(expiry),
            None if parent is None else str(parent))


class Authorization:
    def __init__(self, services: AuthorizationServices) -> None:
        self._s = services
        self.rules = Authorizer(services.port.store, ModelAuthSettings(services.model))
        self._types: dict[str, str] = {}  # core id tag -> the type the CSMS gave it

    # -- token names
    def remember_type(self, id_tag: str, kind: str) -> None:
        """RequestStartTransaction named ``id_tag`` with type ``kind``: keep it on the wire."""
        self._types.pop(id_tag, None)
        self._types[id_tag] = kind
        while len(self._types) > _TYPES_KEPT:
            del self._types[next(iter(self._types))]  # the oldest

    def id_token(self, id_tag: str) -> dict[str, str]:
        """The IdTokenType of a core id tag ("" : free vend)."""
        token = conversions.id_token(id_tag)
        if id_tag and id_tag in self._types:
            token["type"] = self._types[id_tag]
        return token

    # -- deciding
    async def authorize(self, action: RequestAuthorization) -> None:
        """Answer ``RequestAuthorization`` (local list / cache, Authorize, offline rules)."""
        s = self._s
        token = self.id_token(action.id_tag)
        key = token_key(token) or ""
        decision = await asyncio.to_thread(self.rules.decide_local, key,
                                           online=s.registered.is_set(),
                                           now_wall=s.clock.wall_now())
        if decision.kind is DecisionKind.ASK:
            try:
                result = await s.request("Authorize", {"idToken": token})
            except (ConnectionError, CallFailed, TimeoutError) as exc:
                LOG.warning("Authorize for %s failed (%s): offline rules", action.id_tag, exc)
            else:
                status, expiry, parent = info_fields(result["idTokenInfo"])
                await self._record(key, status, expiry, parent)
                s.port.submit(AuthorizationResult(action.request_id, action.id_tag, status,
                                                  parent))
                return
            decision = await asyncio.to_thread(self.rules.decide_local, key, online=False,
                                               now_wall=s.clock.wall_now())
        LOG.info("%s %s locally (%s)", action.id_tag, decision.kind.value,
                 decision.source.value)
        s.port.submit(AuthorizationResult(action.request_id, action.id_tag,
                                          decision.status or AuthStatus.INVALID,
                                          decision.parent_id_tag))

    async def _record(self, key: str, status: AuthStatus, expiry: str | None,
                      parent: str | None) -> None:
        """Cache an Authorize verdict (C10); a store failure is logged, never answered."""
        try:
            await asyncio.to_thread(self.rules.record, key, status, expiry, parent,
                                    self._s.clock.wall_now())
        except Exception as exc:
            LOG.error("authorization cache not updated: %s", exc)
            return
        await self.refresh()

    def cache_entry(self, id_token: object, id_token_info: object) -> AuthEntry | None:
        """The cache entry for a TransactionEventResponse's idTokenInfo about the request's
        idToken (C10); None when there is nothing to cache."""
        if not isinstance(id_token, Mapping) or not isinstance(id_token_info, Mapping):
            return None
        key = token_key(id_token)
        if key is None:
            return None
        status, expiry, parent = info_fields(id_token_info)
        return self.rules.cache_entry(key, status, expiry, parent, self._s.clock.wall_now())

    # -- the read-only counts of the device model
    async def refresh(self) -> None:
        """``AuthCacheCtrlr.Storage``, ``LocalAuthListCtrlr.Entries`` and ``.Storage``."""
        try:
            summary = await asyncio.to_thread(self._s.port.store.summary)
        except Exception as exc:
            LOG.error("authorization counts not read: %s", exc)
            return
        self.show_counts(summary)

    def show_counts(self, summary: Mapping[str, Any]) -> None:
        """``refresh`` from a store ``summary()`` the caller read (in its own worker call)."""
        cache, listed = int(summary["auth_cache_size"]), int(summary["local_list_size"])
        model = self._s.model
        for key, value in (("AuthCacheCtrlr.Storage", cache * ENTRY_BYTES),
                           ("LocalAuthListCtrlr.Entries", listed),
                           ("LocalAuthListCtrlr.Storage", listed * ENTRY_BYTES)):
            if model.value(key) != str(value):
                model.apply(key, str(value))
