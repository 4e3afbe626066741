"""Handlers for the LocalAuthListManagement profile (OCPP 1.6 sections 5.10 and 5.15).

``LocalListHandlers(store, config)``: a handler object for ``OcppClient``; the rules live in
``chargepoint.ocpp16.local_list`` (store access in a worker thread).
"""

from __future__ import annotations

import asyncio
from typing import Any

from ocpp.v16 import call_result  # type: ignore[import-untyped]

from chargepoint.ocpp16.client import on
from chargepoint.ocpp16.config_keys import Configuration
from chargepoint.ocpp16.local_list import get_local_list_version, send_local_list
from chargepoint.store.api import StoreAPI


class LocalListHandlers:
    def __init__(self, store: StoreAPI, config: Configuration) -> None:
        self._store = store
        self._config = config

    @on("GetLocalListVersion")
    async def on_get_local_list_version(self, **_: Any) -> call_result.GetLocalListVersion:
        version = await asyncio.to_thread(get_local_list_version, self._store, self._config)
        return call_result.GetLocalListVersion(list_version=version)

    @on("SendLocalList")
    async def on_send_local_list(
            self, list_version: int, update_type: str,
            local_authorization_list: list[dict[str, Any]] | None = None,
            **_: Any) -> call_result.SendLocalList:
        status = await asyncio.to_thread(
            lambda: send_local_list(self._store, self._config, list_version=list_version,
                                    update_type=update_type, entries=local_authorization_list))
        return call_result.SendLocalList(status=status)
