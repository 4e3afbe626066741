"""Build the core's ``Settings`` without knowing the protocol version.

A protocol package maps its own configuration (OCPP 1.6 keys, 2.0.1 device-model variables)
onto ``ProtocolSettings``, which names each value by what the core does with it; the station's
wiring comes from the config file. ``build_settings`` puts the two together.
"""

from __future__ import annotations

from dataclasses import dataclass

from chargepoint.core.types import Settings


@dataclass(frozen=True, slots=True)
class ProtocolSettings:
    """The CSMS-configurable values the core's decisions depend on."""

    connection_timeout_s: float = 60.0  # authorized, waiting for the EV / the lock
    stop_transaction_on_ev_side_disconnect: bool = True
    unlock_connector_on_ev_side_disconnect: bool = True
    stop_transaction_on_invalid_id: bool = True  # the CSMS refused the id of a running session
    max_energy_on_invalid_id_wh: float | None = None
    reserve_connector_zero_supported: bool = True


@dataclass(frozen=True, slots=True)
class StationWiring:
    """Facts of the installation (config file), not of the protocol."""

    has_lock: bool  # socket outlet with a connector lock; False: fixed cable
    max_current_a: float  # wiring limit per connector
    free_vend_id_tag: str | None = None  # [charging] free_vend on: a plug-in starts with this


def build_settings(protocol: ProtocolSettings, wiring: StationWiring) -> Settings:
    """The core's ``Settings`` from the protocol's values and the station's wiring."""
    return Settings(
        connection_timeout_s=protocol.connection_timeout_s,
        stop_transaction_on_ev_side_disconnect=protocol.stop_transaction_on_ev_side_disconnect,
        unlock_connector_on_ev_side_disconnect=protocol.unlock_connector_on_ev_side_disconnect,
        stop_transaction_on_invalid_id=protocol.stop_transaction_on_invalid_id,
        max_energy_on_invalid_id_wh=protocol.max_energy_on_invalid_id_wh,
        has_lock=wiring.has_lock,
        max_current_a=wiring.max_current_a,
        reserve_connector_zero_supported=protocol.reserve_connector_zero_supported,
        free_vend_id_tag=wiring.free_vend_id_tag,
    )
