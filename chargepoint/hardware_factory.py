"""Builds the real station hardware (``hardware.*`` drivers) from the ``[hardware]`` config.

Blocking (opens GPIO, SPI and sysfs): call it through ``asyncio.to_thread``. Every connector
gets its own pins from ``[[hardware.connectors]]`` overrides, else the shared sections.
"""

from __future__ import annotations

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
from hardware.meter import RtuBus, open_meter
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
    """Open every device of the station. Raises ``HardwareConfigError`` / ``OSError``."""
    hw = config.hardware
    buses: dict[str, RtuBus] = {}
    connectors: list[ConnectorHardware] = []
    for cid in range(1, config.station.connectors + 1):
        pins = connector_pins(hw, cid)
        over = next((c for c in hw.connectors if c.id == cid), ConnectorHwConfig(id=cid))
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
        meter: EnergyMeter | None = None
        if hw.meter is not None:
            port = over.meter_port or hw.meter.port
            unit = over.meter_unit if over.meter_unit is not None else hw.meter.unit + cid - 1
            bus = buses.get(port)
            meter = open_meter(port=port, model=hw.meter.model, unit=unit,
                               baudrate=hw.meter.baudrate, parity=hw.meter.parity,
                               stopbits=hw.meter.stopbits or 1, timeout=hw.meter.timeout_s,
                               bus=bus)
            buses.setdefault(port, meter.bus)
        connectors.append(ConnectorHardware(
            connector=cid, pilot=pilot, contactor=contactor, proximity=proximity,
            lock=_lock(config, pins), rcd=rcd, meter=meter,
        ))
    reader: TokenReader | None = None
    if hw.rfid is not None:
        from hardware.rfid import NfcReader

        reader = NfcReader(hw.rfid.device, debounce_s=hw.rfid.debounce_s)
    return StationHardware(connectors=connectors, reader=reader,
                           power=build_power_supervisor(config))


def build_power_supervisor(config: Config, *, pin_factory: Any = None) -> PowerSupervisor | None:
    """The station-wide mains supervision input of ``[hardware.power_fail]``, else ``None``."""
    cfg = config.hardware.power_fail
    if cfg is None:
        return None
    return PowerFailInput(cfg.pin, cfg.active_high, pin_factory=pin_factory)
