"""OCPP 1.6 configuration keys: the registry of standard keys and the station's live values.

API (for the handlers of GetConfiguration / ChangeConfiguration and everyone reading a key):

- ``cfg = Configuration(store, initial, connectors=N, profiles=..., measurands=...)``
  ``store``: anything with ``config_get / config_set / config_all`` (the store).
  ``initial``: the ``[ocpp.config]`` table (strings). Raises ``ValueError`` on an unknown,
  unsupported, read-only or invalid initial value (use ``check_initial`` to list all errors).
- ``cfg.get(keys: list[str] | None) -> (list[KeyValue], unknown: list[str])``: GetConfiguration.
  ``None`` / ``[]``: every supported key. At most ``GetConfigurationMaxKeys`` requested keys are
  answered (the rest are ignored). AuthorizationKey comes back without a value (write-only).
- ``cfg.change(key, value) -> "Accepted" | "Rejected" | "RebootRequired" | "NotSupported"``:
  ChangeConfiguration. Persists (a store failure answers Rejected and changes nothing), then
  calls every ``on_change`` listener synchronously with ``(canonical_key, normalized_value)``;
  a listener that raises is logged and does not undo the change. One small store write, in the
  calling thread: asyncio code uses ``await cfg.update(key, value)``, the same with the write
  in a worker thread (validation and listeners stay on the loop).
- A CSMS may not set MeterValueSampleInterval or ClockAlignedDataInterval below
  ``min_sample_interval_s`` (default ``MIN_SAMPLE_INTERVAL_S``, 0 = off stays allowed): Rejected.
  One sample a second for a week offline is 600k queued messages; the installer's
  ``[ocpp.config]`` may still go lower on purpose (logged at start).
- ``cfg.on_change(callback) -> unsubscribe``.
- ``cfg.value(key) -> str | None``; typed: ``get_bool``, ``get_int``, ``get_int_or_none``,
  ``get_csl -> list[str]``, ``get_str``. ``KeyError`` for an unknown or unsupported key.
- ``protocol_settings(cfg) -> chargepoint.core.settings.ProtocolSettings``: the 1.6 keys the
  core depends on (``chargepoint.core.settings.build_settings`` makes the core's ``Settings``).
- ``REGISTRY`` (every standard key, ``KeyDef``), ``key_def(name)``, ``SUPPORTED_MEASURANDS``.

Precedence of a value (INTERFACE.md): what the CSMS set (persisted in the store) wins over the
``[ocpp.config]`` initial value, which wins over the default. Initial values are not copied into
the store, so an installer's later edit of the file still applies to keys the CSMS never set.
Key names are CiString50: they match case-insensitively (OCPP 1.6 section 9).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from chargepoint.core.settings import ProtocolSettings

log = logging.getLogger(__name__)

ChangeStatus = Literal["Accepted", "Rejected", "RebootRequired", "NotSupported"]


class ConfigStore(Protocol):
    """The part of ``chargepoint.store.api.StoreAPI`` the configuration uses."""

    def config_get(self, key: str) -> str | None: ...

    def config_set(self, key: str, value: str) -> None: ...

    def config_all(self) -> dict[str, str]: ...


class Access(enum.Enum):
    R = "R"
    RW = "RW"
    W = "W"  # write-only (AuthorizationKey): never read back


class Kind(enum.Enum):
    BOOL = "boolean"
    INT = "integer"
    CSL = "CSL"
    STR = "string"


@dataclass(frozen=True, slots=True)
class KeyDef:
    """One standard key. ``lo``/``hi``: integer range; ``max_len``/``min_len``: string length;
    ``max_items_key``: the key whose value bounds a CSL's member count; ``members``: the allowed
    CSL members when they are a fixed set (measurand lists are checked against the station)."""

    name: str
    profile: str
    access: Access
    kind: Kind
    default: str | None = None
    lo: int | None = None
    hi: int | None = None
    min_len: int = 0
    max_len: int | None = None
    max_items_key: str | None = None
    members: frozenset[str] | None = None
    required: bool = False
    reboot_required: bool = False


@dataclass(frozen=True, slots=True)
class KeyValue:
    """One entry of GetConfiguration.conf ``configurationKey`` (value None: omitted)."""

    key: str
    readonly: bool
    value: str | None

    def to_wire(self) -> dict[str, object]:
        d: dict[str, object] = {"key": self.key, "readonly": self.readonly}
        if self.value is not None:
            d["value"] = self.value
        return d


# The measurands our meters and pilot can deliver (MeterValuesSampledData & co. members).
SUPPORTED_MEASURANDS: tuple[str, ...] = (
    "Energy.Active.Import.Register",
    "Energy.Active.Export.Register",
    "Power.Active.Import",
    "Current.Import",
    "Current.Offered",
    "Voltage",
    "Frequency",
)
PHASES = frozenset({"L1", "L2", "L3", "N", "L1-N", "L2-N", "L3-N", "L1-L2", "L2-L3", "L3-L1"})
# Measurands that make sense per phase (the "Voltage.L1" form of section 9.1.x descriptions).
PHASED_MEASURANDS = frozenset({"Power.Active.Import", "Current.Import", "Voltage"})
DEFAULT_PROFILES: tuple[str, ...] = ("Core", "LocalAuthListManagement", "Reservation",
                                     "RemoteTrigger", "SmartCharging")
_ROTATIONS = frozenset({"NotApplicable", "Unknown", "RST", "RTS", "SRT", "STR", "TRS", "TSR"})

# Read-only capacities we declare (the handlers must honour them).
MEASURAND_LIST_MAX = 12
GET_CONFIGURATION_MAX_KEYS = 100
LOCAL_AUTH_LIST_MAX_LENGTH = 10000
SEND_LOCAL_LIST_MAX_LENGTH = 500

# The shortest sample / clock-aligned interval a CSMS may set (seconds); see the module docstring.
MIN_SAMPLE_INTERVAL_S = 5
_SAMPLE_INTERVALS = ("MeterValueSampleInterval", "ClockAlignedDataInterval")

_R, _RW, _W = Access.R, Access.RW, Access.W
_B, _I, _C, _S = Kind.BOOL, Kind.INT, Kind.CSL, Kind.STR
_DAY = 86400


# OCPP 1.6 section 9.1 (Core), 9.2 (LocalAuthListManagement), 9.3 (Reservation),
# 9.4 (SmartCharging), FirmwareManagement and the 1.6 Security whitepaper (edition 3).
REGISTRY: tuple[KeyDef, ...] = (
    # --- Core, required RW
    KeyDef("AuthorizeRemoteTxRequests", "Core", _RW, _B, "false", required=True),
    KeyDef("ClockAlignedDataInterval", "Core", _RW, _I, "0", lo=0, hi=_DAY, required=True),
    KeyDef("ConnectionTimeOut", "Core", _RW, _I, "60", lo=1, hi=3600, required=True),
    KeyDef("ConnectorPhaseRotation", "Core", _RW, _C, "0.Unknown", required=True,
           max_items_key="ConnectorPhaseRotationMaxLength"),
    KeyDef("HeartbeatInterval", "Core", _RW, _I, "300", lo=0, hi=_DAY, required=True),
    KeyDef("LocalAuthorizeOffline", "Core", _RW, _B, "true", required=True),
    KeyDef("LocalPreAuthorize", "Core", _RW, _B, "false", required=True),
    KeyDef("MeterValuesAlignedData", "Core", _RW, _C, "Energy.Active.Import.Register",
           required=True, max_items_key="MeterValuesAlignedDataMaxLength"),
    KeyDef("MeterValuesSampledData", "Core", _RW, _C, "Energy.Active.Import.Register",
           required=True, max_items_key="MeterValuesSampledDataMaxLength"),
    KeyDef("MeterValueSampleInterval", "Core", _RW, _I, "60", lo=0, hi=_DAY, required=True),
    KeyDef("ResetRetries", "Core", _RW, _I, "1", lo=0, hi=10, required=True),
    KeyDef("StopTransactionOnEVSideDisconnect", "Core", _RW, _B, "true", required=True),
    KeyDef("StopTransactionOnInvalidId", "Core", _RW, _B, "true", required=True),
    KeyDef("StopTxnAlignedData", "Core", _RW, _C, "", required=True,
           max_items_key="StopTxnAlignedDataMaxLength"),
    KeyDef("StopTxnSampledData", "Core", _RW, _C, "", required=True,
           max_items_key="StopTxnSampledDataMaxLength"),
    KeyDef("TransactionMessageAttempts", "Core", _RW, _I, "3", lo=0, hi=100, required=True),
    KeyDef("TransactionMessageRetryInterval", "Core", _RW, _I, "60", lo=0, hi=_DAY,
           required=True),
    KeyDef("UnlockConnectorOnEVSideDisconnect", "Core", _RW, _B, "true", required=True),
    # --- Core, required R (values derived from the station)
    KeyDef("GetConfigurationMaxKeys", "Core", _R, _I, str(GET_CONFIGURATION_MAX_KEYS),
           required=True),
    KeyDef("NumberOfConnectors", "Core", _R, _I, None, required=True),
    KeyDef("SupportedFeatureProfiles", "Core", _R, _C, None, required=True),
    # --- Core, optional RW
    KeyDef("AllowOfflineTxForUnknownId", "Core", _RW, _B, "false"),
    KeyDef("AuthorizationCacheEnabled", "Core", _RW, _B, "true"),
    KeyDef("BlinkRepeat", "Core", _RW, _I, None, lo=0, hi=1000),  # no light: unsupported
    KeyDef("LightIntensity", "Core", _RW, _I, None, lo=0, hi=100),  # no light: unsupported
    KeyDef("MaxEnergyOnInvalidId", "Core", _RW, _I, None, lo=0, hi=10**9),  # Wh; unset: no cap
    KeyDef("MinimumStatusDuration", "Core", _RW, _I, None, lo=0, hi=_DAY),  # unsupported
    KeyDef("WebSocketPingInterval", "Core", _RW, _I, "60", lo=0, hi=_DAY),
    # --- Core, optional R
    KeyDef("ConnectorPhaseRotationMaxLength", "Core", _R, _I, None),
    KeyDef("MeterValuesAlignedDataMaxLength", "Core", _R, _I, str(MEASURAND_LIST_MAX)),
    KeyDef("MeterValuesSampledDataMaxLength", "Core", _R, _I, str(MEASURAND_LIST_MAX)),
    KeyDef("StopTxnAlignedDataMaxLength", "Core", _R, _I, str(MEASURAND_LIST_MAX)),
    KeyDef("StopTxnSampledDataMaxLength", "Core", _R, _I, str(MEASURAND_LIST_MAX)),
    KeyDef("SupportedFeatureProfilesMaxLength", "Core", _R, _I, "6"),
    # --- LocalAuthListManagement (9.2)
    KeyDef("LocalAuthListEnabled", "LocalAuthListManagement", _RW, _B, "true", required=True),
    KeyDef("LocalAuthListMaxLength", "LocalAuthListManagement", _R, _I,
           str(LOCAL_AUTH_LIST_MAX_LENGTH), required=True),
    KeyDef("SendLocalListMaxLength", "LocalAuthListManagement", _R, _I,
           str(SEND_LOCAL_LIST_MAX_LENGTH), required=True),
    # --- Reservation (9.3)
    KeyDef("ReserveConnectorZeroSupported", "Reservation", _R, _B, "true"),
    # --- SmartCharging (9.4), all R
    # (enforced by chargepoint.ocpp16.smart_charging: a profile beyond them is Rejected)
    KeyDef("ChargeProfileMaxStackLevel", "SmartCharging", _R, _I, "8", required=True),
    KeyDef("ChargingScheduleAllowedChargingRateUnit", "SmartCharging", _R, _C, "Current,Power",
           required=True),
    KeyDef("ChargingScheduleMaxPeriods", "SmartCharging", _R, _I, "24", required=True),
    KeyDef("ConnectorSwitch3to1PhaseSupported", "SmartCharging", _R, _B, "false"),
    KeyDef("MaxChargingProfilesInstalled", "SmartCharging", _R, _I, "16", required=True),
    # --- FirmwareManagement
    KeyDef("SupportedFileTransferProtocols", "FirmwareManagement", _R, _C, "FTP,FTPS,HTTP,HTTPS"),
    # --- Security whitepaper
    KeyDef("AdditionalRootCertificateCheck", "Security", _R, _B, "false"),
    KeyDef("AuthorizationKey", "Security", _W, _S, None, min_len=16, max_len=40),
    KeyDef("CertificateSignedMaxChainSize", "Security", _R, _I, "10000"),
    KeyDef("CertificateStoreMaxLength", "Security", _R, _I, "20"),
    KeyDef("CpoName", "Security", _RW, _S, None, max_len=50),
    KeyDef("SecurityProfile", "Security", _RW, _I, "0", lo=0, hi=3),
)

_BY_LOWER = {d.name.lower(): d for d in REGISTRY}
_UNSUPPORTED = frozenset({"BlinkRepeat", "LightIntensity", "MinimumStatusDuration"})
_INT_RE = re.compile(r"^[+-]?\d+$")


def key_def(name: str) -> KeyDef | None:
    """The registry entry of a key, matched case-insensitively (supported or not)."""
    return _BY_LOWER.get(name.strip().lower())


class Configuration:
    """The station's OCPP 1.6 configuration (see the module docstring for the contract)."""

    def __init__(
        self,
        store: ConfigStore,
        initial: Mapping[str, str] | None = None,
        *,
        connectors: int = 1,
        profiles: Sequence[str] = DEFAULT_PROFILES,
        measurands: Sequence[str] = SUPPORTED_MEASURANDS,
        security_profile_allowed: Callable[[int], bool] | None = None,
        min_sample_interval_s: int = MIN_SAMPLE_INTERVAL_S,
    ) -> None:
        if connectors < 1:
            raise ValueError("connectors must be >= 1")
        self._store = store
        self._min_interval = min_sample_interval_s
        self._connectors = connectors
        self._profiles = tuple(profiles)
        self._measurands = frozenset(measurands)
        self._profile_ok = security_profile_allowed or (lambda _p: True)
        self._listeners: list[Callable[[str, str], None]] = []
        self._derived = {
            "NumberOfConnectors": str(connectors),
            "SupportedFeatureProfiles": ",".join(self._profiles),
            "ConnectorPhaseRotationMaxLength": str(connectors + 1),
        }
        self._set: dict[str, str] = {}
        self._initial: dict[str, str] = {}
        self._live: dict[str, Callable[[], str]] = {}
        errors = check_initial(initial or {}, self)
        if errors:
            raise ValueError("; ".join(errors))
        self._initial = {
            d.name: self._normalize(d, v)
            for k, v in (initial or {}).items()
            if (d := key_def(k)) is not None
        }
        for k, v in store.config_all().items():
            d = key_def(k)
            if d is None or not self._supported(d) or d.access is Access.R:
                continue
            if self._check(d, v) is None:
                self._set[d.name] = self._normalize(d, v)
            else:
                log.warning("ignoring invalid persisted value of %s: %r", d.name, v)
        for name in _SAMPLE_INTERVALS:
            value = self._initial.get(name)
            if value is not None and 0 < int(value) < self._min_interval:
                log.warning("[ocpp.config] %s = %s is below the %d s a CSMS may set: every "
                            "sample is a queued message while offline", name, value,
                            self._min_interval)

    # -- lookups
    def _supported(self, d: KeyDef) -> bool:
        if d.name in _UNSUPPORTED:
            return False
        return d.profile == "Security" or d.profile in self._profiles

    def lookup(self, key: str) -> KeyDef | None:
        """The definition of a supported key (case-insensitive), else None."""
        d = key_def(key)
        return d if d is not None and self._supported(d) else None

    def _def(self, key: str) -> KeyDef:
        d = self.lookup(key)
        if d is None:
            raise KeyError(key)
        return d

    def value(self, key: str) -> str | None:
        """The effective value (CSMS-set > initial > default); ``KeyError`` if unsupported."""
        d = self._def(key)
        if d.name in self._live:
            return self._live[d.name]()
        if d.name in self._derived:
            return self._derived[d.name]
        if d.name in self._set:
            return self._set[d.name]
        if d.name in self._initial:
            return self._initial[d.name]
        return d.default

    def get_str(self, key: str) -> str | None:
        return self.value(key)

    def get_bool(self, key: str) -> bool:
        return self.value(key) == "true"

    def get_int_or_none(self, key: str) -> int | None:
        v = self.value(key)
        return None if v is None or v == "" else int(v)

    def get_int(self, key: str) -> int:
        v = self.get_int_or_none(key)
        if v is None:
            raise KeyError(f"{key} has no value")
        return v

    def get_csl(self, key: str) -> list[str]:
        v = self.value(key) or ""
        return [m for m in (p.strip() for p in v.split(",")) if m]

    def provide(self, key: str, getter: Callable[[], str]) -> None:
        """Let ``getter`` give the value of ``key`` from now on (the SecurityProfile in use is
        decided by the security module, not by the last value a CSMS wrote)."""
        self._live[self._def(key).name] = getter

    def check_security_profile(self, allowed: Callable[[int], bool]) -> None:
        """Set the prerequisite check of a SecurityProfile change (whitepaper A05.FR.02-04)."""
        self._profile_ok = allowed

    # -- GetConfiguration
    def get(self, keys: Sequence[str] | None = None) -> tuple[list[KeyValue], list[str]]:
        """GetConfiguration.conf content: (configurationKey, unknownKey)."""
        if not keys:
            return [self._kv(d) for d in REGISTRY if self._supported(d)], []
        found: list[KeyValue] = []
        unknown: list[str] = []
        seen: set[str] = set()
        for key in list(keys)[: self.get_int("GetConfigurationMaxKeys")]:
            d = self.lookup(key)
            if d is None:
                if key not in unknown:
                    unknown.append(key)
            elif d.name not in seen:
                seen.add(d.name)
                found.append(self._kv(d))
        return found, unknown

    def _kv(self, d: KeyDef) -> KeyValue:
        value = None if d.access is Access.W else self.value(d.name)
        return KeyValue(d.name, d.access is Access.R, value)

    # -- ChangeConfiguration
    def change(self, key: str, value: str) -> ChangeStatus:
        """Validate, persist and announce a change (OCPP 1.6 section 5.3 / 6.9)."""
        checked = self._validate(key, value)
        if isinstance(checked, str):
            return checked
        d, normalized = checked
        try:
            self._store.config_set(d.name, normalized)
        except Exception:
            # Not persisted, so not applied: the honest answer is Rejected (never half-done).
            log.exception("persisting %s failed", d.name)
            return "Rejected"
        return self._apply(d, normalized)

    async def update(self, key: str, value: str) -> ChangeStatus:
        """``change`` for asyncio code: the store write runs in a worker thread."""
        checked = self._validate(key, value)
        if isinstance(checked, str):
            return checked
        d, normalized = checked
        try:
            await asyncio.to_thread(self._store.config_set, d.name, normalized)
        except Exception:
            log.exception("persisting %s failed", d.name)
            return "Rejected"
        return self._apply(d, normalized)

    def _validate(self, key: str, value: str) -> tuple[KeyDef, str] | ChangeStatus:
        """(definition, normalized value) of an acceptable change, else the answer."""
        d = self.lookup(key)
        if d is None:
            return "NotSupported"  # OCTT 040_1
        if d.access is Access.R:
            return "Rejected"
        problem = self._check(d, value)
        normalized = self._normalize(d, value) if problem is None else ""
        if problem is None and d.name in _SAMPLE_INTERVALS \
                and 0 < int(normalized) < self._min_interval:
            problem = f"below the minimum of {self._min_interval} s"
        if problem is not None:
            # A write-only key (AuthorizationKey) is a secret even when its value is refused.
            shown = "***" if d.access is Access.W else repr(value[:100])
            log.info("ChangeConfiguration %s=%s rejected: %s", d.name, shown, problem)
            return "Rejected"  # OCTT 040_2
        if d.name == "SecurityProfile":
            new = int(normalized)
            if new <= self.get_int("SecurityProfile") or not self._profile_ok(new):
                return "Rejected"  # whitepaper A05.FR.01: lower or equal (OCTT 084)
        return d, normalized

    def _apply(self, d: KeyDef, normalized: str) -> ChangeStatus:
        self._set[d.name] = normalized
        for callback in list(self._listeners):
            try:
                callback(d.name, normalized)
            except Exception:
                log.exception("configuration listener failed for %s", d.name)
        return "RebootRequired" if d.reboot_required else "Accepted"

    def on_change(self, callback: Callable[[str, str], None]) -> Callable[[], None]:
        """Call ``callback(key, value)`` after every accepted change; returns an unsubscribe."""
        self._listeners.append(callback)

        def unsubscribe() -> None:
            if callback in self._listeners:
                self._listeners.remove(callback)

        return unsubscribe

    # -- validation
    def _check(self, d: KeyDef, raw: str) -> str | None:
        """Why ``raw`` is not a valid value of ``d``, or None when it is."""
        if not isinstance(raw, str):
            return "not a string"
        v = raw.strip()
        if d.kind is Kind.BOOL:
            return None if v.lower() in ("true", "false") else "not a boolean"
        if d.kind is Kind.INT:
            if not _INT_RE.match(v):
                return "not an integer"
            n = int(v)
            if (d.lo is not None and n < d.lo) or (d.hi is not None and n > d.hi):
                return f"out of range {d.lo}..{d.hi}"
            return None
        if d.kind is Kind.STR:
            if len(raw) < d.min_len or (d.max_len is not None and len(raw) > d.max_len):
                return f"length not in {d.min_len}..{d.max_len}"
            return None
        members = [m.strip() for m in v.split(",")] if v else []
        if any(not m for m in members):
            return "empty list member"
        if len(set(members)) != len(members):
            return "duplicate member"
        if d.max_items_key is not None:
            limit = self.get_int_or_none(d.max_items_key)
            if limit is not None and len(members) > limit:
                return f"more than {limit} members"
        bad = [m for m in members if not self._member_ok(d, m)]
        return f"unsupported member(s) {','.join(bad)}" if bad else None

    def _member_ok(self, d: KeyDef, member: str) -> bool:
        if d.members is not None:
            return member in d.members
        if d.name == "ConnectorPhaseRotation":
            conn, dot, rot = member.partition(".")
            if not dot:
                return member in _ROTATIONS
            return conn.isdigit() and int(conn) <= self._connectors and rot in _ROTATIONS
        if d.max_items_key is not None:  # the four measurand lists
            return measurand_member_ok(member, self._measurands)
        return True

    @staticmethod
    def _normalize(d: KeyDef, raw: str) -> str:
        v = raw.strip()
        if d.kind is Kind.BOOL:
            return v.lower()
        if d.kind is Kind.INT:
            return str(int(v))
        if d.kind is Kind.CSL:
            return ",".join(m.strip() for m in v.split(",")) if v else ""
        return raw


def measurand_member_ok(member: str, supported: Iterable[str]) -> bool:
    """A measurand list member: ``Measurand`` or ``Measurand.Phase`` (e.g. ``Voltage.L1``)."""
    supported = frozenset(supported)
    if member in supported:
        return True
    for m in PHASED_MEASURANDS & supported:
        if member.startswith(m + "."):
            return member[len(m) + 1:] in PHASES
    return False


def check_initial(initial: Mapping[str, str], cfg: Configuration | None = None) -> list[str]:
    """Every problem of an ``[ocpp.config]`` table, one message per key (for config check)."""
    probe = cfg if cfg is not None else Configuration(_NullStore())
    errors: list[str] = []
    for key, value in initial.items():
        d = key_def(key)
        if d is None:
            errors.append(f"[ocpp.config] {key}: unknown OCPP 1.6 configuration key")
        elif not probe._supported(d):
            errors.append(f"[ocpp.config] {key}: not supported by this station")
        elif d.access is Access.R:
            errors.append(f"[ocpp.config] {key}: read-only key")
        elif not isinstance(value, str):
            errors.append(f"[ocpp.config] {key}: value must be a string, e.g. \"{value}\"")
        elif (problem := probe._check(d, value)) is not None:
            errors.append(f"[ocpp.config] {key}: invalid value {value!r} ({problem})")
    return errors


class _NullStore:
    def config_get(self, key: str) -> str | None:
        return None

    def config_set(self, key: str, value: str) -> None:
        raise RuntimeError("read-only probe")

    def config_all(self) -> dict[str, str]:
        return {}


def protocol_settings(cfg: Configuration) -> ProtocolSettings:
    """The values of the current configuration the core depends on (1.6 key -> meaning)."""
    max_energy = cfg.get_int_or_none("MaxEnergyOnInvalidId")
    return ProtocolSettings(
        connection_timeout_s=float(cfg.get_int("ConnectionTimeOut")),
        stop_transaction_on_ev_side_disconnect=cfg.get_bool("StopTransactionOnEVSideDisconnect"),
        unlock_connector_on_ev_side_disconnect=cfg.get_bool("UnlockConnectorOnEVSideDisconnect"),
        stop_transaction_on_invalid_id=cfg.get_bool("StopTransactionOnInvalidId"),
        max_energy_on_invalid_id_wh=None if max_energy is None else float(max_energy),
        reserve_connector_zero_supported=(
            cfg.lookup("ReserveConnectorZeroSupported") is not None
            and cfg.get_bool("ReserveConnectorZeroSupported")
        ),
    )
