"""Configuration: ``load_config(path)`` / ``config_from_toml(text)`` -> frozen ``Config``.

Unknown keys are errors (except under ``[ocpp.config]``, which takes any OCPP key).
"""

from chargepoint.config.fields import ConfigError, ConfigIssue
from chargepoint.config.hardware import connector_pins
from chargepoint.config.load import config_from_toml, load_config
from chargepoint.config.model import (
    Config,
    ConnectorHwConfig,
    ContactorConfig,
    ControlConfig,
    FirmwareConfig,
    HardwareConfig,
    IslandConfig,
    LockConfig,
    LoggingConfig,
    MeterConfig,
    OcppConfig,
    PilotConfig,
    PowerFailConfig,
    RcdConfig,
    RfidConfig,
    StationConfig,
    StorageConfig,
)

__all__ = [
    "Config",
    "ConfigError",
    "ConfigIssue",
    "ConnectorHwConfig",
    "ContactorConfig",
    "ControlConfig",
    "FirmwareConfig",
    "HardwareConfig",
    "IslandConfig",
    "LockConfig",
    "LoggingConfig",
    "MeterConfig",
    "OcppConfig",
    "PilotConfig",
    "PowerFailConfig",
    "RcdConfig",
    "RfidConfig",
    "StationConfig",
    "StorageConfig",
    "config_from_toml",
    "connector_pins",
    "load_config",
]
