"""Read and validate the TOML configuration (docs/configuration.md lists every key)."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

from chargepoint import __version__
from chargepoint.config.fields import ConfigError, ConfigIssue, Context, Table
from chargepoint.config.hardware import parse_hardware
from chargepoint.config.lines import key_lines
from chargepoint.config.model import (
    Config,
    ControlConfig,
    FirmwareConfig,
    LoggingConfig,
    OcppConfig,
    StationConfig,
    StorageConfig,
)
from chargepoint.config.site import parse_charging, parse_site

LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
OCPP_VERSIONS = ("1.6", "2.0.1")
# A charge point identity becomes a URL path segment: keep it to unreserved characters.
_IDENTITY_RE = re.compile(r"^[A-Za-z0-9._~:*@+-]{1,48}$")
_GROUP_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$")  # useradd's NAME_REGEX
_SUN_PATH_MAX = 107  # sockaddr_un.sun_path is 108 bytes with the terminating NUL


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and validate the file at ``path``.

    Raises ``ConfigError`` (every problem, each naming its key and line) for a bad file and for
    a file that cannot be read.
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(source, [ConfigIssue("", None, f"cannot read: {exc}")]) from exc
    return config_from_toml(text, source=source)


def config_from_toml(text: str, source: str = "<string>") -> Config:
    """Validate TOML ``text``; ``source`` names it in error messages. Raises ``ConfigError``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        line = int(match.group(1)) if match else None
        raise ConfigError(source, [ConfigIssue("", line, f"TOML syntax: {exc}")]) from exc
    ctx = Context(source, key_lines(text))
    root = Table(ctx, data, "")
    station = _station(root.table("station"), ctx)
    ocpp = _ocpp(root.table("ocpp"), ctx)
    storage = _storage(root.table("storage"))
    control = _control(root.table("control"))
    hardware = parse_hardware(root.table("hardware"), station.connectors)
    logging = _logging(root.table("logging"))
    firmware = _firmware(root.table("firmware"))
    charging = parse_charging(root.table("charging"))
    site = parse_site(root.table("site"))
    root.finish()
    if ctx.issues:
        raise ConfigError(source, ctx.issues)
    return Config(station=station, ocpp=ocpp, storage=storage, control=control,
                  hardware=hardware, logging=logging, firmware=firmware, source=source,
                  charging=charging, site=site)


def _station(t: Table | None, ctx: Context) -> StationConfig:
    if t is None:
        ctx.error("station", "section [station] is required (at least: id)")
        return StationConfig(id="invalid")
    ident = t.string("id", "invalid", required=True)
    if t.has("id") and isinstance(t.data["id"], str) and not _IDENTITY_RE.match(ident):
        t.error("id", "must be 1..48 characters of A-Z a-z 0-9 . _ ~ : * @ + - "
                      "(it becomes a URL path segment)")
    cfg = StationConfig(
        id=ident,
        vendor=t.string("vendor", "chargepoint", max_len=20),
        model=t.string("model", "Pi", max_len=20),
        serial=t.string("serial", "", max_len=25),
        connectors=t.integer("connectors", 1, 1, 16),
        max_current_a=t.number("max_current_a", 32.0, 6.0, 80.0),
        firmware_version=t.string("firmware_version", __version__, max_len=50),
    )
    t.finish()
    return cfg


def _wire_value(t: Table, name: str) -> str | None:
    """An [ocpp.config] value as the OCPP 1.6 wire string (GetConfiguration shows it so)."""
    value = t.raw(name)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ",".join(value)  # comma separated list (CSL), e.g. MeterValuesSampledData
    t.error(name, "must be a string, number, boolean or array of strings")
    return None


def _ocpp(t: Table | None, ctx: Context) -> OcppConfig:
    if t is None:
        ctx.error("ocpp", "section [ocpp] is required (at least: url)")
        return OcppConfig(url="ws://invalid")
    version = t.string("version", "1.6", choices=OCPP_VERSIONS)
    url = t.string("url", "ws://invalid", required=True)
    profile = t.integer("security_profile", 0, 0, 3)
    password = t.opt_string("password")
    files = {name: t.opt_string(name) for name in ("ca_file", "cert_file", "key_file")}
    reconnect_min = t.number("reconnect_min_s", 1.0, 0.0, 3600.0, lo_open=True)
    reconnect_max = t.number("reconnect_max_s", 60.0, 0.0, 86400.0, lo_open=True)
    timeout = t.number("response_timeout_s", 30.0, 0.0, 600.0, lo_open=True)
    max_frame = t.integer("max_frame_bytes", 4 * 2**20, 2**16, 64 * 2**20)
    wire: dict[str, str] = {}
    table = t.table("config")
    if table is not None:
        for name in table.data:
            if len(name) > 50:  # OCPP 1.6 key is CiString50
                table.error(name, "OCPP configuration key names are at most 50 characters")
            value = _wire_value(table, name)
            if value is not None:
                wire[name] = value
            if name.lower() == "authorizationkey":
                table.error(name, "set the basic auth password with [ocpp] password instead")
    if table is not None:
        _check_protocol_keys(table, version, wire)
    variables = _variables(t.table("variables"), version)
    if reconnect_max < reconnect_min:
        t.error("reconnect_max_s", "must not be smaller than reconnect_min_s")
    if t.has("url") and isinstance(t.data["url"], str):
        _check_url(t, url, profile)
    # OCPP 1.6 security whitepaper: profiles 1 and 2 send HTTP basic auth with the
    # AuthorizationKey (16..40 characters); profile 3 authenticates with a client certificate.
    if profile in (1, 2):
        if password is None:
            t.error("password", f"is required with security_profile = {profile}")
        elif not 16 <= len(password) <= 40:
            t.error("password", "must be 16..40 characters (OCPP AuthorizationKey)")
    if profile == 3:
        for name in ("cert_file", "key_file"):
            if files[name] is None:
                t.error(name, "is required with security_profile = 3")
    if profile >= 2 and files["ca_file"] is None:
        # No silent fallback to the system store: the CSMS root is named (whitepaper A00.FR.307).
        t.error("ca_file", f"is required with security_profile = {profile} (the CSMS root "
                           "certificate(s), PEM)")
    for name, value in files.items():
        if value is not None and not os.path.exists(value):
            t.error(name, f"file not found: {value}")
    t.finish()
    return OcppConfig(version=version, url=url, security_profile=profile, password=password,
                      ca_file=files["ca_file"], cert_file=files["cert_file"],
                      key_file=files["key_file"], config=wire, variables=variables,
                      reconnect_min_s=reconnect_min,
                      reconnect_max_s=reconnect_max, response_timeout_s=timeout,
                      max_frame_bytes=max_frame)


def _check_protocol_keys(table: Table, version: str, wire: dict[str, str]) -> None:
    """Unknown, read-only or invalid keys are errors (the station would refuse them); the
    protocol package of ``version`` knows its keys (none yet: nothing to check)."""
    from chargepoint.protocols import find  # imports the package: only when needed

    known = find(version)
    if known is None:
        return
    for message in known.check_config(wire):
        key, _, problem = message.removeprefix("[ocpp.config] ").partition(": ")
        table.error(key, problem or message)


def _variables(table: Table | None, version: str) -> dict[str, str]:
    """``[ocpp.variables]`` (2.0.1 device-model variables) as wire strings, checked by the
    protocol package; a config error under any other version."""
    from chargepoint.protocols import find

    values: dict[str, str] = {}
    if table is None:
        return values
    check = getattr(find(version), "check_variables", None)
    for name in table.data:
        if check is None:
            table.error(name, f"[ocpp.variables] is for OCPP 2.0.1, not {version}")
            continue
        raw = table.raw(name)
        if isinstance(raw, (list, float)):
            table.error(name, "must be an integer, boolean or string (lists: comma separated)")
            continue
        value = _wire_value(table, name)
        if value is not None:
            values[name] = value
    if check is not None:
        for message in check(values):
            key, _, problem = message.removeprefix("[ocpp.variables] ").partition(": ")
            table.error(key, problem or message)
    return values


def _check_url(t: Table, url: str, profile: int) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        t.error("url", f"must be a ws:// or wss:// URL with a host, not {url!r}")
        return
    if parts.username or parts.password:
        t.error("url", "must not carry credentials; use [ocpp] password")
    if profile >= 2 and parts.scheme != "wss":
        t.error("url", f"security_profile = {profile} needs TLS: use wss://")
    if profile == 1 and parts.scheme != "ws":
        t.error("url", "security_profile = 1 is basic auth without TLS (ws://); "
                       "use security_profile = 2 for wss://")


def _storage(t: Table | None) -> StorageConfig:
    if t is None:
        return StorageConfig()
    path = t.string("path", StorageConfig().path)
    if not path:
        t.error("path", "must not be empty")
    t.finish()
    return StorageConfig(path=path)


def _firmware(t: Table | None) -> FirmwareConfig:
    default = FirmwareConfig()
    if t is None:
        return default
    installer = t.string("installer", default.installer)
    if installer not in ("venv", "command"):
        t.error("installer", f'must be "venv" or "command", not {installer!r}')
    command = t.raw("install_command")
    if command is None:
        command = []
    elif not isinstance(command, list) or not all(isinstance(a, str) for a in command):
        t.error("install_command", 'must be a list of strings, e.g. ["rauc", "install", "{file}"]')
        command = []
    if installer == "command" and not command:
        t.error("install_command", 'needed with installer = "command"')
    cfg = FirmwareConfig(
        releases_dir=t.opt_string("releases_dir"),
        work_dir=t.opt_string("work_dir"),
        roots_dir=t.string("roots_dir", default.roots_dir),
        health_timeout_s=t.number("health_timeout_s", default.health_timeout_s, 10.0, 86400.0),
        installer=installer,
        install_command=list(command),
        allow_unsigned=t.boolean("allow_unsigned", default.allow_unsigned),
    )
    t.finish()
    return cfg


def _control(t: Table | None) -> ControlConfig:
    if t is None:
        return ControlConfig()
    socket = t.string("socket", ControlConfig().socket)
    if not socket:
        t.error("socket", "must not be empty")
    elif len(os.fsencode(socket)) > _SUN_PATH_MAX:
        t.error("socket", f"a Unix socket path is at most {_SUN_PATH_MAX} bytes")
    group = t.opt_string("group")
    technician = t.string("technician_group", ControlConfig().technician_group)
    for name, value in (("group", group), ("technician_group", technician)):
        if value is not None and not _GROUP_RE.match(value):
            t.error(name, f"{value!r} is not a group name (letters, digits, _ . -)")
    t.finish()
    return ControlConfig(socket=socket, group=group, technician_group=technician)


def _logging(t: Table | None) -> LoggingConfig:
    if t is None:
        return LoggingConfig()
    cfg = LoggingConfig(level=t.string("level", "info", choices=LOG_LEVELS),
                        frames=t.boolean("frames", False), file=t.opt_string("file"))
    t.finish()
    return cfg
