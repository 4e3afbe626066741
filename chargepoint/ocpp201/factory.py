"""Builds the OCPP 2.0.1 adapter from the config file (``chargepoint.protocols`` registers it
as "2.0.1").

``setup(config, store)`` reads the device model (``[ocpp.variables]``, then the values the CSMS
set before), the wall clock's anchors and the reason of this boot, in worker threads (the store
is blocking); ``Ocpp201Setup.build(port, services)`` makes the ``Ocpp201Adapter`` with its
security functions (``ocpp201.security``).
``check_variables`` lists the problems of an ``[ocpp.variables]`` table, ``check_config`` those
of ``[ocpp.config]`` (1.6 configuration keys: none apply under 2.0.1).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from chargepoint.core.settings import ProtocolSettings
from chargepoint.ocpp201.adapter import (
    BOOT_REASON_KEY,
    Ocpp201Adapter,
    Ocpp201Options,
    protocol_settings,
)
from chargepoint.ocpp201.device_model import DeviceModel, check_initial
from chargepoint.ocpp201.firmware import setup_firmware
from chargepoint.ocpp201.network_profiles import setup_network_profiles
from chargepoint.ocpp201.security import setup_security
from chargepoint.ocppj.timestamps import Clock, read_boot_id
from chargepoint.ports import StationPort, StationServices
from chargepoint.security.settings import SecuritySettings
from chargepoint.store.api import StoreAPI
from chargepoint.store.writebehind import CachedKv

if TYPE_CHECKING:
    from chargepoint.config.model import Config


def check_config(initial: Mapping[str, str]) -> list[str]:
    """``[ocpp.config]`` holds 1.6 keys: under 2.0.1 each one is a mistake."""
    return [f"[ocpp.config] {key}: OCPP 1.6 configuration key; under 2.0.1 set device-model "
            "variables in [ocpp.variables]" for key in initial]


def check_variables(initial: Mapping[str, str]) -> list[str]:
    """Every problem of an ``[ocpp.variables]`` table, one message per key."""
    return check_initial(initial)


def initial_variables(config: Config) -> dict[str, str]:
    """``[ocpp.variables]`` plus the values the rest of the config file implies."""
    initial = {"OCPPCommCtrlr.MessageTimeout": str(round(config.ocpp.response_timeout_s)),
               "LocalAuthListCtrlr.BytesPerMessage": str(config.ocpp.max_frame_bytes)}
    initial.update(config.ocpp.variables)
    return initial


class Ocpp201Setup:
    """``chargepoint.ports.ProtocolSetup`` for OCPP 2.0.1."""

    def __init__(self, config: Config, model: DeviceModel, clock: Clock,
                 boot_reason: str) -> None:
        self._config = config
        self._model = model
        self._clock = clock
        self._boot_reason = boot_reason

    def protocol_settings(self) -> ProtocolSettings:
        return protocol_settings(self._model)

    async def build(self, port: StationPort, services: StationServices) -> Ocpp201Adapter:
        c = self._config
        options = Ocpp201Options(
            url=c.ocpp.url, station_id=c.station.id, vendor=c.station.vendor,
            model=c.station.model, serial=c.station.serial or None,
            firmware_version=c.station.firmware_version,
            security_profile=c.ocpp.security_profile, password=c.ocpp.password,
            ca_file=c.ocpp.ca_file, cert_file=c.ocpp.cert_file, key_file=c.ocpp.key_file,
            reconnect_min_s=c.ocpp.reconnect_min_s, reconnect_max_s=c.ocpp.reconnect_max_s,
            response_timeout_s=c.ocpp.response_timeout_s,
            max_frame_bytes=c.ocpp.max_frame_bytes, has_lock=c.hardware.has_lock,
            max_current_a=c.station.max_current_a, boot_reason=self._boot_reason,
            free_vend_id_tag=c.charging.free_vend_tag())
        adapter = Ocpp201Adapter(port, options, self._model, self._clock)
        setup_firmware(adapter, c, services)  # blocks L and N01
        state_dir = Path(c.storage.path).resolve().parent
        security = await setup_security(adapter, SecuritySettings(
            directory=services.security_dir or state_dir / "security",
            manufacturer_roots=Path(c.firmware.roots_dir)), events=services.security_events)
        await setup_network_profiles(adapter, security)  # B09, B10, A05
        return adapter


async def setup(config: Config, store: StoreAPI) -> Ocpp201Setup:
    """Read the device model, the clock's anchors and the boot reason from ``store``."""
    model = await asyncio.to_thread(DeviceModel, store, initial_variables(config))
    clock = await asyncio.to_thread(lambda: Clock(boot_id=read_boot_id(), kv=CachedKv(store)))
    reason = await asyncio.to_thread(store.kv_get, BOOT_REASON_KEY)
    return Ocpp201Setup(config, model, clock, reason or "PowerUp")
