"""The CSMS's authorization requests under 2.0.1: ClearCache (C11), SendLocalList (D01) and
GetLocalListVersion (D02). Payloads arrive validated, in snake_case.

Rules:

- ClearCache: Rejected while ``AuthCacheCtrlr.Enabled`` is false or when the store fails;
  else the cache is emptied (the local list stays) and Accepted.
- GetLocalListVersion: the installed list's ``versionNumber``, 0 when there is none, when it
  is empty or while ``LocalAuthListCtrlr.Enabled`` is false.
- SendLocalList: Failed while ``LocalAuthListCtrlr.Enabled`` is false; else the version-neutral
  update rules of ``chargepoint.authorization.local_list`` (Differential with a
  ``versionNumber`` not above the installed one: VersionMismatch; Failed for more entries than
  ``LocalAuthListCtrlr.ItemsPerMessage``, a list over ``MAX_LIST_ENTRIES``, the same idToken
  (value and type) twice, a Full entry without idTokenInfo, an empty idToken or a
  NoAuthorization one, an unreadable ``cacheExpiryDateTime``; nothing changes then). An entry
  is stored under ``authorization.token_key`` with its idTokenInfo's status, expiry and
  group. Frames larger than ``LocalAuthListCtrlr.BytesPerMessage`` (the connection's
  ``max_frame_bytes``) never reach the station.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Protocol

from ocpp.v201 import call_result  # type: ignore[import-untyped]

from chargepoint.authorization.local_list import (
    BadEntry,
    ListChange,
    apply_update,
    check_time,
    list_version,
)
from chargepoint.ocpp201.authorization import Authorization, info_fields, token_key
from chargepoint.ocpp201.client import on
from chargepoint.ocpp201.device_model import DeviceModel
from chargepoint.ports import StationPort
from chargepoint.store.api import AuthEntry

MAX_LIST_ENTRIES = 10000  # the local list's capacity


class AuthHandlerServices(Protocol):
    @property
    def port(self) -> StationPort: ...
    @property
    def model(self) -> DeviceModel: ...
    @property
    def authorization(self) -> Authorization: ...


def parse_entry(raw: object) -> ListChange:
    """The change one AuthorizationData entry asks for. Raises ``BadEntry``."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("id_token"), Mapping):
        raise BadEntry("entry without idToken")
    key = token_key(raw["id_token"])
    if key is None:
        raise BadEntry(f"idToken {raw['id_token']!r} cannot be listed")
    info = raw.get("id_token_info")
    if info is None:
        return ListChange(key, None)
    if not isinstance(info, Mapping):
        raise BadEntry(f"bad idTokenInfo for {key}")
    status, expiry, parent = info_fields(info)
    check_time(expiry, f"cacheExpiryDateTime {expiry!r} for {key}")
    return ListChange(key, AuthEntry(key, status.value, expiry, parent))


class AuthHandlers:
    def __init__(self, services: AuthHandlerServices) -> None:
        self._s = services

    @on("ClearCache")
    async def on_clear_cache(self, **_: Any) -> call_result.ClearCache:
        if not self._s.model.get_bool("AuthCacheCtrlr.Enabled"):
            return call_result.ClearCache(status="Rejected")
        auth = self._s.authorization
        status = await asyncio.to_thread(auth.rules.clear_cache)
        await auth.refresh()
        return call_result.ClearCache(status=status)

    @on("GetLocalListVersion")
    async def on_get_local_list_version(self, **_: Any) -> call_result.GetLocalListVersion:
        version = 0
        if self._s.model.get_bool("LocalAuthListCtrlr.Enabled"):
            version = await asyncio.to_thread(list_version, self._s.port.store)
        return call_result.GetLocalListVersion(version_number=version)

    @on("SendLocalList")
    async def on_send_local_list(
            self, version_number: int, update_type: str,
            local_authorization_list: list[dict[str, Any]] | None = None,
            **_: Any) -> call_result.SendLocalList:
        model = self._s.model
        if not model.get_bool("LocalAuthListCtrlr.Enabled"):
            return call_result.SendLocalList(
                status="Failed", status_info={"reason_code": "NotEnabled"})
        items_max = model.get_int("LocalAuthListCtrlr.ItemsPerMessage")
        status = await asyncio.to_thread(
            lambda: apply_update(self._s.port.store, full=update_type == "Full",
                                 version=version_number,
                                 items=list(local_authorization_list or []),
                                 parse=parse_entry, items_max=items_max,
                                 list_max=MAX_LIST_ENTRIES))
        await self._s.authorization.refresh()
        return call_result.SendLocalList(status=status)
