"""The [hardware] section: simulation switch, pins, meter, reader (docs/configuration.md)."""

from __future__ import annotations

from dataclasses import replace

from chargepoint.config.fields import Table
from chargepoint.config.model import (
    ConnectorHwConfig,
    ContactorConfig,
    HardwareConfig,
    IslandConfig,
    LockConfig,
    MeterConfig,
    PilotConfig,
    PowerFailConfig,
    RcdConfig,
    RfidConfig,
)

PIN_MAX = 27  # BCM GPIO numbers of the Raspberry Pi 40-pin header
LOCK_TYPES = ("motor", "solenoid")
PARITIES = ("N", "E", "O")
BAUDRATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)


def parse_hardware(t: Table | None, connectors: int) -> HardwareConfig:
    """Parse [hardware] for a station with ``connectors`` connectors."""
    if t is None:
        return HardwareConfig()
    simulate = t.boolean("simulate", False)
    has_lock = t.boolean("has_lock", True)
    pilot = _pilot(t.table("pilot"))
    contactor = _contactor(t.table("contactor"))
    lock = _lock(t.table("lock"))
    rcd = _rcd(t.table("rcd"))
    meter = _meter(t.table("meter"), connector_meter=True)
    rfid = _rfid(t.table("rfid"))
    power_fail = _power_fail(t.table("power_fail"))
    island = _island(t.table("island"))
    # [[hardware.connector]]; "connectors" is accepted as an alias (the dataclass field's name)
    if t.has("connector") and t.has("connectors"):
        t.error("connectors", "give either [[hardware.connector]] or [[hardware.connectors]]")
    tables = t.tables("connector") + t.tables("connectors")
    overrides = [_connector(c, connectors) for c in tables]
    ids = [c.id for c in overrides]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        t.error("connector", f"connector {dup} is listed more than once")
    cfg = HardwareConfig(simulate=simulate, has_lock=has_lock, pilot=pilot, contactor=contactor,
                         lock=lock, rcd=rcd, meter=meter, rfid=rfid, power_fail=power_fail,
                         island=island, connectors=overrides)
    if not simulate:
        _check_pins(t, cfg, connectors)
    t.finish()
    return cfg


def _pilot(t: Table | None) -> PilotConfig:
    if t is None:
        return PilotConfig()
    cfg = PilotConfig(
        pwm_chip=t.integer("pwm_chip", 0, 0, 15),
        pwm_channel=t.integer("pwm_channel", 0, 0, 15),
        spi_bus=t.integer("spi_bus", 0, 0, 6),
        spi_device=t.integer("spi_device", 0, 0, 3),
        adc_channel=t.integer("adc_channel", 0, 0, 7),
        pp_adc_channel=t.opt_integer("pp_adc_channel", 1, 0, 7),
        scale=t.number("scale", 9.116),
        offset=t.number("offset", -15.0),
    )
    if cfg.pp_adc_channel == cfg.adc_channel:
        t.error("pp_adc_channel", "must differ from adc_channel")
    t.finish()
    return cfg


def _contactor(t: Table | None) -> ContactorConfig:
    if t is None:
        return ContactorConfig()
    cfg = ContactorConfig(
        pin=t.integer("pin", 17, 0, PIN_MAX),
        mirror_pin=t.opt_integer("mirror_pin", 27, 0, PIN_MAX),
        active_high=t.boolean("active_high", True),
        mirror_active_high=t.boolean("mirror_active_high", True),
        close_limit_s=t.number("close_limit_s", 0.3, 0.0, 5.0, lo_open=True),
        open_limit_s=t.number("open_limit_s", 0.3, 0.0, 5.0, lo_open=True),
    )
    t.finish()
    return cfg


def _lock(t: Table | None) -> LockConfig:
    if t is None:
        return LockConfig()
    cfg = LockConfig(
        type=t.string("type", "motor", choices=LOCK_TYPES),
        lock_pin=t.integer("lock_pin", 22, 0, PIN_MAX),
        unlock_pin=t.opt_integer("unlock_pin", 23, 0, PIN_MAX),
        feedback_pin=t.opt_integer("feedback_pin", 24, 0, PIN_MAX),
        feedback_active_high=t.boolean("feedback_active_high", True),
        pulse_s=t.number("pulse_s", 0.6, 0.0, 5.0, lo_open=True),
        limit_s=t.number("limit_s", 1.5, 0.0, 10.0, lo_open=True),
    )
    if cfg.type == "motor" and cfg.unlock_pin is None:
        t.error("unlock_pin", 'is required with type = "motor"')
    t.finish()
    return cfg


def _island(t: Table | None) -> IslandConfig:
    if t is None:
        return IslandConfig()
    cfg = IslandConfig(
        tick_ms=t.number("tick_ms", 2.0, 0.5, 20.0),
        idle_tick_ms=t.number("idle_tick_ms", 100.0, 0.5, 200.0),
        lease_s=t.number("lease_s", 2.0, 0.5, 5.0),
        realtime_priority=t.opt_integer("realtime_priority", None, 0, 99),
        sim_pilot=t.string("sim_pilot", "sim", choices=("sim", "driver")),
    )
    if cfg.idle_tick_ms < cfg.tick_ms:
        t.error("idle_tick_ms", "must be >= tick_ms")
    t.finish()
    return cfg


def _rcd(t: Table | None) -> RcdConfig | None:
    if t is None:
        return None
    cfg = RcdConfig(pin=t.integer("pin", 25, 0, PIN_MAX),
                    active_high=t.boolean("active_high", True))
    t.finish()
    return cfg


def _power_fail(t: Table | None) -> PowerFailConfig | None:
    if t is None:
        return None
    cfg = PowerFailConfig(pin=t.integer("pin", 6, 0, PIN_MAX),
                          active_high=t.boolean("active_high", True))
    t.finish()
    return cfg


def parse_meter(t: Table | None) -> MeterConfig | None:
    """A meter table (``[hardware.meter]``, ``[site.meter]``); None when absent."""
    return _meter(t)


def _meter(t: Table | None, *, connector_meter: bool = False) -> MeterConfig | None:
    """``connector_meter``: ``[hardware.meter]``, which also has ``idle_poll_interval_s``
    (the grid meter of ``[site.meter]`` is always read at ``poll_interval_s``)."""
    if t is None:
        return None
    baudrate = t.opt_integer("baudrate", None)
    if baudrate is not None and baudrate not in BAUDRATES:
        t.error("baudrate", f"must be one of {', '.join(map(str, BAUDRATES))}")
    parity = t.opt_string("parity")
    if parity is not None and parity.upper() not in PARITIES:
        t.error("parity", 'must be "N", "E" or "O"')
    cfg = MeterConfig(
        port=t.string("port", "/dev/ttyUSB0"),
        model=t.string("model", "sdm630"),
        unit=t.integer("unit", 1, 1, 247),  # Modbus unit ids 1..247
        baudrate=baudrate,
        parity=parity.upper() if parity else None,
        stopbits=t.opt_integer("stopbits", None, 1, 2),
        timeout_s=t.number("timeout_s", 0.5, 0.0, 10.0, lo_open=True),
        poll_interval_s=t.number("poll_interval_s", 1.0, 0.1, 60.0),
    )
    if connector_meter:
        idle = t.number("idle_poll_interval_s", 60.0, 0.1, 600.0)
        if idle < cfg.poll_interval_s:
            t.error("idle_poll_interval_s", "must not be shorter than poll_interval_s")
        cfg = replace(cfg, idle_poll_interval_s=max(idle, cfg.poll_interval_s))
    t.finish()
    return cfg


def _rfid(t: Table | None) -> RfidConfig | None:
    if t is None:
        return None
    cfg = RfidConfig(device=t.string("device", "tty:S0:pn532"),
                     debounce_s=t.number("debounce_s", 2.0, 0.0, 60.0))
    t.finish()
    return cfg


def _connector(t: Table, connectors: int) -> ConnectorHwConfig:
    ident = t.integer("id", 0)
    if not t.has("id"):
        t.error("id", "is required in every [[hardware.connector]]")
    elif not 1 <= ident <= connectors:
        t.error("id", f"must be a connector of this station (1..{connectors})")
    pins = {name: t.opt_integer(name, None, 0, PIN_MAX) for name in (
        "contactor_pin", "mirror_pin", "lock_pin", "unlock_pin", "feedback_pin", "rcd_pin")}
    cfg = ConnectorHwConfig(
        id=ident,
        pwm_channel=t.opt_integer("pwm_channel", None, 0, 15),
        adc_channel=t.opt_integer("adc_channel", None, 0, 7),
        pp_adc_channel=t.opt_integer("pp_adc_channel", None, 0, 7),
        meter_unit=t.opt_integer("meter_unit", None, 1, 247),
        meter_port=t.opt_string("meter_port"),
        **pins,
    )
    t.finish()
    return cfg


def connector_pins(cfg: HardwareConfig, connector: int) -> dict[str, int | None]:
    """The GPIO pins one connector uses, shared sections overlaid with its overrides."""
    over = next((c for c in cfg.connectors if c.id == connector), ConnectorHwConfig(id=connector))
    lock_used = cfg.has_lock

    def pick(override: int | None, shared: int | None) -> int | None:
        return override if override is not None else shared

    return {
        "contactor.pin": pick(over.contactor_pin, cfg.contactor.pin),
        "contactor.mirror_pin": pick(over.mirror_pin, cfg.contactor.mirror_pin),
        "lock.lock_pin": pick(over.lock_pin, cfg.lock.lock_pin) if lock_used else None,
        "lock.unlock_pin": (pick(over.unlock_pin, cfg.lock.unlock_pin)
                            if lock_used and cfg.lock.type == "motor" else None),
        "lock.feedback_pin": pick(over.feedback_pin, cfg.lock.feedback_pin) if lock_used else None,
        "rcd.pin": pick(over.rcd_pin, cfg.rcd.pin) if cfg.rcd else None,
    }


def _check_pins(t: Table, cfg: HardwareConfig, connectors: int) -> None:
    """Real hardware needs its feedback inputs, and no GPIO may serve two functions."""
    for n in range(1, connectors + 1):
        pins = connector_pins(cfg, n)
        where = "" if connectors == 1 else f" (connector {n})"
        # ARCHITECTURE: only the mirror contact can tell that the contactor welded.
        if pins["contactor.mirror_pin"] is None:
            t.error("contactor", f"mirror_pin is required on real hardware{where}: without the "
                                 "mirror contact a welded contactor goes unnoticed")
        if cfg.has_lock and pins["lock.feedback_pin"] is None:
            t.error("lock", f"feedback_pin is required on real hardware{where} "
                            "(or has_lock = false on fixed-cable stations)")
    if connectors > 1:
        for n in range(1, connectors + 1):
            if not any(c.id == n for c in cfg.connectors):
                t.error("connector", f"a station with {connectors} connectors needs a "
                                     f"[[hardware.connector]] with id = {n} (its own pins)")
    users: dict[int, list[str]] = {}
    for n in range(1, connectors + 1):
        for name, pin in connector_pins(cfg, n).items():
            if pin is not None:
                label = name if connectors == 1 else f"connector {n} {name}"
                users.setdefault(pin, []).append(label)
    if cfg.power_fail is not None:  # station-wide: one input, shared with nothing
        users.setdefault(cfg.power_fail.pin, []).append("power_fail.pin")
    for pin, names in sorted(users.items()):
        # One RCD input may guard the whole station; any other sharing is a wiring error.
        roles = {"rcd.pin" if n.endswith("rcd.pin") else n for n in names}
        if len(roles) > 1:
            section = names[0].split()[-1].split(".")[0]
            t.error(section, f"GPIO {pin} is used more than once: {', '.join(names)}")
