"""Builds the real station hardware (``hardware.*`` drivers) from the ``[hardware]`` config.

Blocking (opens GPIO, SPI and sysfs): call it through ``asyncio.to_thread``. Every connector
gets its own pins from ``[[hardware.connectors]]`` overrides, else the shared sections.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from chargepoint.config import Config, ConnectorHwConfig, connector_pins
from hardware.interfaces import (
    ConnectorHardware,
    ConnectorLock,
    EnergyMeter,
    PowerSupervisor,
    ResidualCurrentMonitor,
    StationHardware,
    TokenReader,
)
from hardware.pilot import AdcProximityPilot, GpioControlPilot, PilotDecoder, SysfsPwm
from hardware.relays import GpioContactor, MotorLock, PowerFailInput, RcdInput, SolenoidLock


class HardwareConfigError(ValueError):
    """The ``[hardware]`` sections cannot describe working hardware (names the key)."""


def _mcp3008(channel: int, config: Config) -> Any:
    from gpiozero import MCP3008

    pilot = config.hardware.pilot
    return MCP3008(channel=channel, port=pilot.spi_bus, device=pilot.spi_device)


def _require(value: int | None, key: str) -> int:
    if value is None:
        raise HardwareConfigError(f"{key}: needed on real hardware (feedback is mandatory)")
    return value


def _lock(config: Config, pins: dict[str, int | None]) -> ConnectorLock | None:
    hw = config.hardware
    if not hw.has_lock:
        return None
    feedback = _require(pins.get("lock.feedback_pin"), "hardware.lock.feedback_pin")
    lock_pin = _require(pins.get("lock.lock_pin"), "hardware.lock.lock_pin")
    if hw.lock.type == "solenoid":
        return SolenoidLock(lock_pin, feedback, limit_s=hw.lock.limit_s,
                            feedback_active_high=hw.lock.feedback_active_high)
    return MotorLock(lock_pin, _require(pins.get("lock.unlock_pin"), "hardware.lock.unlock_pin"),
                     feedback, hw.lock.pulse_s, hw.lock.limit_s,
                     feedback_active_high=hw.lock.feedback_active_high)


def build_real_hardware(config: Config) -> StationHardware:
    """Open every device of the station in this process. Raises ``HardwareConfigError`` /
    ``OSError``. (``chargepoint run`` splits them: ``build_safety_hardware`` in the island,
    ``build_meters`` and ``build_reader`` in the main process.)"""
    safety = build_safety_hardware(config)
    meters = build_meters(config)
    connectors = [dataclasses.replace(c, meter=meters.get(c.connector))
                  for c in safety.connectors]
    return StationHardware(connectors=connectors, reader=build_reader(config),
                           power=safety.power)


def build_safety_hardware(config: Config) -> StationHardware:
    """The safety island's devices: pilot, PP, contactor, lock, RCD per connector and the
    power-fail input (no meters, no reader)."""
    hw = config.hardware
    connectors: list[ConnectorHardware] = []
    for cid in range(1, config.station.connectors + 1):
        pins = connector_pins(hw, cid)
        over = _override(config, cid)
        pwm_channel = over.pwm_channel
        adc_channel = over.adc_channel
        pilot = GpioControlPilot(
            SysfsPwm(hw.pilot.pwm_chip, hw.pilot.pwm_channel if pwm_channel is None
                     else pwm_channel),
            _mcp3008(hw.pilot.adc_channel if adc_channel is None else adc_channel, config),
            PilotDecoder(),
            scale=hw.pilot.scale,
            offset=hw.pilot.offset,
        )
        pp_channel = over.pp_adc_channel if over.pp_adc_channel is not None else (
            hw.pilot.pp_adc_channel)
        proximity = (
            AdcProximityPilot(_mcp3008(pp_channel, config)) if pp_channel is not None else None
        )
        contactor = GpioContactor(
            _require(pins.get("contactor.pin"), "hardware.contactor.pin"),
            _require(pins.get("contactor.mirror_pin"), "hardware.contactor.mirror_pin"),
            active_high=hw.contactor.active_high,
            mirror_active_high=hw.contactor.mirror_active_high,
            close_limit_s=hw.contactor.close_limit_s,
            open_limit_s=hw.contactor.open_limit_s,
        )
        rcd: ResidualCurrentMonitor | None = None
        rcd_pin = pins.get("rcd.pin")
        if hw.rcd is not None and rcd_pin is not None:
            rcd = RcdInput(rcd_pin, hw.rcd.active_high)
        connectors.append(ConnectorHardware(
            connector=cid, pilot=pilot, contactor=contactor, proximity=proximity,
            lock=_lock(config, pins), rcd=rcd, meter=None,
        ))
    return StationHardware(connectors=connectors, reader=None,
                           power=build_power_supervisor(config))


def build_meters(config: Config) -> dict[int, EnergyMeter | None]:
    """One Modbus meter per connector of ``[hardware.meter]`` (meters on one port share a
    bus). Opens nothing: the port is opened by the first poll."""
    hw = config.hardware
    meters: dict[int, EnergyMeter | None] = {}
    if hw.meter is None:
        return meters
    from hardware.meter import RtuBus, open_meter  # pymodbus: not in the island process

    buses: dict[str, RtuBus] = {}
    for cid in range(1, config.station.connectors + 1):
        over = _override(config, cid)
        port = over.meter_port or hw.meter.port
        unit = over.meter_unit if over.meter_unit is not None else hw.meter.unit + cid - 1
        meter = open_meter(port=port, model=hw.meter.model, unit=unit,
                           baudrate=hw.meter.baudrate, parity=hw.meter.parity,
                           stopbits=hw.meter.stopbits or 1, timeout=hw.meter.timeout_s,
                           bus=buses.get(port))
        buses.setdefault(port, meter.bus)
        meters[cid] = meter
    return meters


def build_reader(config: Config) -> TokenReader | None:
    """The RFID reader of ``[hardware.rfid]``, else ``None``."""
    if config.hardware.rfid is None:
        return None
    from hardware.rfid import NfcReader

    return NfcReader(config.hardware.rfid.device, debounce_s=config.hardware.rfid.debounce_s)


def _override(config: Config, cid: int) -> ConnectorHwConfig:
    return next((c for c in config.hardware.connectors if c.id == cid), ConnectorHwConfig(id=cid))


def build_power_supervisor(config: Config, *, pin_factory: Any = None) -> PowerSupervisor | None:
    """The station-wide mains supervision input of ``[hardware.power_fail]``, else ``None``."""
    cfg = config.hardware.power_fail
    if cfg is None:
        return None
    return PowerFailInput(cfg.pin, cfg.active_high, pin_factory=pin_factory)
