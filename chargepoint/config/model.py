"""The configuration as frozen values: what ``load_config`` returns and the runtime reads.

Every field has the default documented in docs/configuration.md; only ``station.id`` and
``ocpp.url`` must be given in a file. Construct with keywords.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chargepoint import __version__


@dataclass(frozen=True, slots=True, kw_only=True)
class StationConfig:
    id: str  # charge point identity, appended to the OCPP url as a path segment
    vendor: str = "chargepoint"  # BootNotification chargePointVendor (CiString20)
    model: str = "Pi"  # BootNotification chargePointModel (CiString20)
    serial: str = ""  # chargePointSerialNumber (CiString25), "" = not sent
    connectors: int = 1
    max_current_a: float = 32.0  # wiring limit per connector
    firmware_version: str = __version__


@dataclass(frozen=True, slots=True, kw_only=True)
class OcppConfig:
    url: str
    version: str = "1.6"
    security_profile: int = 0
    password: str | None = None  # basic auth (AuthorizationKey), profiles 1 and 2
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    # Initial OCPP configuration keys as wire strings (booleans lower-case, lists comma-joined).
    config: dict[str, str] = field(default_factory=dict)
    # 2.0.1: initial device-model variables, "Component.Variable" -> wire string
    variables: dict[str, str] = field(default_factory=dict)
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 60.0
    response_timeout_s: float = 30.0
    max_frame_bytes: int = 4 * 2**20  # largest WebSocket message accepted from the CSMS


@dataclass(frozen=True, slots=True, kw_only=True)
class StorageConfig:
    path: str = "/var/lib/chargepoint/state.db"


@dataclass(frozen=True, slots=True, kw_only=True)
class ControlConfig:
    socket: str = "/run/chargepoint/control.sock"
    group: str | None = None  # the socket's group (mode 0660): read commands; None: our group
    technician_group: str = "chargepoint-tech"  # members may also change things (relay, ...)


@dataclass(frozen=True, slots=True, kw_only=True)
class LoggingConfig:
    level: str = "info"  # debug, info, warning, error, critical
    frames: bool = False  # log every OCPP frame (redacted) at debug level
    file: str | None = None  # also append to this file


@dataclass(frozen=True, slots=True, kw_only=True)
class FirmwareConfig:
    """Where firmware releases and transfer files live, and how a release is installed."""

    releases_dir: str | None = None  # None: "releases" beside the [storage] database
    work_dir: str | None = None  # None: "work" beside the [storage] database
    roots_dir: str = "/etc/chargepoint/firmware-roots"  # manufacturer root certificates (PEM)
    health_timeout_s: float = 600.0  # a new release must reach BootNotification Accepted
    installer: str = "venv"  # "venv": a release slot of this program; "command": OS updater
    install_command: list[str] = field(default_factory=list)  # e.g. ["rauc", "install", "{file}"]
    allow_unsigned: bool = False  # lab setting: install updates that carry no signature


@dataclass(frozen=True, slots=True, kw_only=True)
class PilotConfig:
    """CP PWM output (sysfs pwmchip) and CP/PP sampling through an SPI ADC."""

    pwm_chip: int = 0
    pwm_channel: int = 0
    spi_bus: int = 0
    spi_device: int = 0
    adc_channel: int = 0
    pp_adc_channel: int | None = 1  # None: no PP circuit (fixed cable)
    # pilot volts = adc_volts * scale + offset; defaults: the reference divider of docs/hardware.md
    scale: float = 9.116
    offset: float = -15.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactorConfig:
    pin: int = 17  # BCM number of the contactor coil driver
    mirror_pin: int | None = 27  # auxiliary (mirror) contact input; None: no feedback
    active_high: bool = True
    mirror_active_high: bool = True
    close_limit_s: float = 0.3
    open_limit_s: float = 0.3


@dataclass(frozen=True, slots=True, kw_only=True)
class LockConfig:
    type: str = "motor"  # "motor" (lock/unlock pulses) or "solenoid" (held while locked)
    lock_pin: int = 22
    unlock_pin: int | None = 23  # motor only
    feedback_pin: int | None = 24
    feedback_active_high: bool = True
    pulse_s: float = 0.6
    limit_s: float = 1.5


@dataclass(frozen=True, slots=True, kw_only=True)
class RcdConfig:
    pin: int = 25
    active_high: bool = True  # True: the input reads high when tripped


@dataclass(frozen=True, slots=True, kw_only=True)
class PowerFailConfig:
    pin: int = 6  # e.g. the power-loss output of Geekworm X728-style UPS HATs
    active_high: bool = True  # True: the input reads high when mains has failed


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterConfig:
    port: str = "/dev/ttyUSB0"
    model: str = "sdm630"
    unit: int = 1
    baudrate: int | None = None  # None: the model's default
    parity: str | None = None  # "N", "E", "O"; None: the model's default
    stopbits: int | None = None
    timeout_s: float = 0.5
    poll_interval_s: float = 1.0
    # connector meters only ([hardware.meter]): the poll interval while no energy can flow
    idle_poll_interval_s: float = 60.0


@dataclass(frozen=True, slots=True, kw_only=True)
class RfidConfig:
    device: str = "tty:S0:pn532"  # nfcpy device path
    debounce_s: float = 2.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectorHwConfig:
    """Per-connector overrides of the [hardware.*] sections (multi-connector stations).

    ``None`` means: use the shared section's value.
    """

    id: int
    pwm_channel: int | None = None
    adc_channel: int | None = None
    pp_adc_channel: int | None = None
    contactor_pin: int | None = None
    mirror_pin: int | None = None
    lock_pin: int | None = None
    unlock_pin: int | None = None
    feedback_pin: int | None = None
    rcd_pin: int | None = None
    meter_unit: int | None = None
    meter_port: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class IslandConfig:
    """``[hardware.island]``: the safety island process (docs/architecture.md)."""

    tick_ms: float = 2.0  # sampling period while a contactor may be live
    idle_tick_ms: float = 100.0  # sampling period while nothing is live (plug-in seen within it)
    lease_s: float = 2.0  # a contactor opens this long after the main process stops renewing
    realtime_priority: int | None = None  # SCHED_FIFO priority; None: 50 on real hardware,
    # 0 (normal scheduling) on the simulated bench
    sim_pilot: str = "sim"  # simulated bench: "driver" reads the EV through the real CP driver

    def priority(self, simulate: bool) -> int:
        if self.realtime_priority is not None:
            return self.realtime_priority
        return 0 if simulate else 50


@dataclass(frozen=True, slots=True, kw_only=True)
class HardwareConfig:
    simulate: bool = False
    has_lock: bool = True
    pilot: PilotConfig = field(default_factory=PilotConfig)
    contactor: ContactorConfig = field(default_factory=ContactorConfig)
    lock: LockConfig = field(default_factory=LockConfig)
    rcd: RcdConfig | None = None
    meter: MeterConfig | None = None
    rfid: RfidConfig | None = None
    power_fail: PowerFailConfig | None = None
    island: IslandConfig = field(default_factory=IslandConfig)
    connectors: list[ConnectorHwConfig] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    station: StationConfig
    ocpp: OcppConfig
    storage: StorageConfig = field(default_factory=StorageConfig)
    control: ControlConfig = field(default_factory=ControlConfig)
    hardware: HardwareConfig = field(default_factory=HardwareConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    firmware: FirmwareConfig = field(default_factory=FirmwareConfig)
    source: str = "<string>"
    charging: ChargingConfig = field(default_factory=lambda: ChargingConfig())
    site: SiteConfig | None = None  # None: no local load management


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargingConfig:
    """``[charging]``: how sessions start (docs/site.md)."""

    free_vend: bool = False  # a plug-in starts a transaction without a card
    free_vend_id_tag: str = "FREEVEND"  # 1.6: the idTag of free-vend transactions

    def free_vend_tag(self) -> str | None:
        """The id tag a plug-in starts with, None when free vend is off."""
        return self.free_vend_id_tag if self.free_vend else None


@dataclass(frozen=True, slots=True, kw_only=True)
class SiteConfig:
    """``[site]``: local load management at the grid connection (docs/site.md)."""

    max_current_a: float = 32.0  # per-phase limit of the connection (main fuse), house + EVs
    fallback_current_a: float = 6.0  # per connector while the grid meter cannot be read
    rotate_s: float = 600.0  # paused connectors take turns this often
    margin_a: float = 1.0  # hysteresis: left unused at every change; a rise must gain this
    hold_s: float = 5.0  # no rise sooner than this after a change
    meter: MeterConfig = field(default_factory=MeterConfig)  # the grid meter
