"""Builds the OCPP 1.6 adapter from the config file (``chargepoint.protocols`` registers it).

``setup(config, store)`` reads the 1.6 configuration keys and the wall clock's anchors (in
worker threads: the store is blocking) and returns an ``Ocpp16Setup``; its ``build(port,
services)`` makes the ``Ocpp16Adapter`` with the FirmwareManagement handlers attached.
``check_config`` lists the problems of an ``[ocpp.config]`` table (``chargepoint config check``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from chargepoint.core.settings import ProtocolSettings
from chargepoint.ocpp16.adapter import Ocpp16Adapter
from chargepoint.ocpp16.config_keys import (
    DEFAULT_PROFILES,
    Configuration,
    check_initial,
    protocol_settings,
)
from chargepoint.ocpp16.firmware_handlers import attach
from chargepoint.ocpp16.options import Ocpp16Options
from chargepoint.ocpp16.security_handlers import setup_security
from chargepoint.ocppj.firmware_host import AdapterHost, managers_from_config
from chargepoint.ocppj.timestamps import Clock, read_boot_id
from chargepoint.ports import StationPort, StationServices
from chargepoint.security.settings import SecuritySettings
from chargepoint.store.api import StoreAPI
from chargepoint.store.writebehind import CachedKv

if TYPE_CHECKING:
    from chargepoint.config.model import Config


def check_config(initial: Mapping[str, str]) -> list[str]:
    """Every problem of an ``[ocpp.config]`` table, one message per key."""
    return check_initial(initial)


def initial_ocpp_config(config: Config) -> dict[str, str]:
    """``[ocpp.config]`` plus the keys the rest of the config file implies."""
    initial = {"SecurityProfile": str(config.ocpp.security_profile)}
    if config.ocpp.password:
        initial["AuthorizationKey"] = config.ocpp.password
    initial.update(config.ocpp.config)
    return initial


def ocpp16_options(config: Config, meter_model: str | None) -> Ocpp16Options:
    """The adapter's options from the config file."""
    return Ocpp16Options(
        url=config.ocpp.url,
        station_id=config.station.id,
        vendor=config.station.vendor,
        model=config.station.model,
        serial=config.station.serial or None,
        firmware_version=config.station.firmware_version,
        meter_type=meter_model,
        security_profile=config.ocpp.security_profile,
        password=config.ocpp.password,
        ca_file=config.ocpp.ca_file,
        cert_file=config.ocpp.cert_file,
        key_file=config.ocpp.key_file,
        initial_config=initial_ocpp_config(config),
        reconnect_min_s=config.ocpp.reconnect_min_s,
        reconnect_max_s=config.ocpp.reconnect_max_s,
        response_timeout_s=config.ocpp.response_timeout_s,
        max_frame_bytes=config.ocpp.max_frame_bytes,
        has_lock=config.hardware.has_lock,
        max_current_a=config.station.max_current_a,
        free_vend_id_tag=config.charging.free_vend_tag(),
    )


class Ocpp16Setup:
    """``chargepoint.ports.ProtocolSetup`` for OCPP 1.6."""

    def __init__(self, config: Config, ocpp_config: Configuration, clock: Clock) -> None:
        self._config = config
        self._ocpp_config = ocpp_config
        self._clock = clock

    def protocol_settings(self) -> ProtocolSettings:
        return protocol_settings(self._ocpp_config)

    async def build(self, port: StationPort, services: StationServices) -> Ocpp16Adapter:
        config = self._config
        adapter = Ocpp16Adapter(port, ocpp16_options(config, services.meter_model),
                                config=self._ocpp_config, clock=self._clock)
        fw = config.firmware
        state_dir = Path(config.storage.path).resolve().parent
        host = AdapterHost(adapter, services.security_events)
        firmware, diagnostics = managers_from_config(adapter.store, host, config, services)
        handlers = attach(adapter, firmware, diagnostics, host)
        await setup_security(
            adapter,
            SecuritySettings(directory=services.security_dir or state_dir / "security",
                             manufacturer_roots=Path(fw.roots_dir)),
            firmware_status=lambda: handlers.firmware.status,  # ExtendedTriggerMessage
            log_upload=handlers.diagnostics.log_upload,
            events=services.security_events)
        return adapter


async def setup(config: Config, store: StoreAPI) -> Ocpp16Setup:
    """Read the 1.6 configuration and the clock's anchors from ``store`` (off the loop)."""
    ocpp_config = await asyncio.to_thread(
        Configuration, store, initial_ocpp_config(config), connectors=config.station.connectors,
        profiles=(*DEFAULT_PROFILES, "FirmwareManagement"),
    )
    clock = await asyncio.to_thread(lambda: Clock(boot_id=read_boot_id(), kv=CachedKv(store)))
    return Ocpp16Setup(config, ocpp_config, clock)
