"""chargepoint.ocpp16.config_keys: section 9 keys, GetConfiguration, ChangeConfiguration."""

from __future__ import annotations

import pytest

from chargepoint.core.settings import StationWiring, build_settings
from chargepoint.core.types import Settings
from chargepoint.ocpp16.config_keys import (
    REGISTRY,
    Access,
    Configuration,
    KeyValue,
    Kind,
    check_initial,
    key_def,
    protocol_settings,
)
from chargepoint.store.db import Store
from tests.ocpp16.unit.ocppunit_store import open_store

# Every key of reference/ocpp16.md with its access (W = write-only).
EXPECTED_ACCESS = {
    # Core required RW
    "AuthorizeRemoteTxRequests": "RW", "ClockAlignedDataInterval": "RW",
    "ConnectionTimeOut": "RW", "ConnectorPhaseRotation": "RW", "HeartbeatInterval": "RW",
    "LocalAuthorizeOffline": "RW", "LocalPreAuthorize": "RW", "MeterValuesAlignedData": "RW",
    "MeterValuesSampledData": "RW", "MeterValueSampleInterval": "RW", "ResetRetries": "RW",
    "StopTransactionOnEVSideDisconnect": "RW", "StopTransactionOnInvalidId": "RW",
    "StopTxnAlignedData": "RW", "StopTxnSampledData": "RW", "TransactionMessageAttempts": "RW",
    "TransactionMessageRetryInterval": "RW", "UnlockConnectorOnEVSideDisconnect": "RW",
    # Core required R
    "GetConfigurationMaxKeys": "R", "NumberOfConnectors": "R", "SupportedFeatureProfiles": "R",
    # Core optional RW
    "AllowOfflineTxForUnknownId": "RW", "AuthorizationCacheEnabled": "RW", "BlinkRepeat": "RW",
    "LightIntensity": "RW", "MaxEnergyOnInvalidId": "RW", "MinimumStatusDuration": "RW",
    "WebSocketPingInterval": "RW",
    # Core optional R
    "ConnectorPhaseRotationMaxLength": "R", "MeterValuesAlignedDataMaxLength": "R",
    "MeterValuesSampledDataMaxLength": "R", "StopTxnAlignedDataMaxLength": "R",
    "StopTxnSampledDataMaxLength": "R", "SupportedFeatureProfilesMaxLength": "R",
    # LocalAuthListManagement
    "LocalAuthListEnabled": "RW", "LocalAuthListMaxLength": "R", "SendLocalListMaxLength": "R",
    # Reservation
    "ReserveConnectorZeroSupported": "R",
    # SmartCharging
    "ChargeProfileMaxStackLevel": "R", "ChargingScheduleAllowedChargingRateUnit": "R",
    "ChargingScheduleMaxPeriods": "R", "ConnectorSwitch3to1PhaseSupported": "R",
    "MaxChargingProfilesInstalled": "R",
    # FirmwareManagement
    "SupportedFileTransferProtocols": "R",
    # Security
    "AdditionalRootCertificateCheck": "R", "AuthorizationKey": "W",
    "CertificateSignedMaxChainSize": "R", "CertificateStoreMaxLength": "R", "CpoName": "RW",
    "SecurityProfile": "RW",
}
BOOL_KEYS = {
    "AuthorizeRemoteTxRequests", "LocalAuthorizeOffline", "LocalPreAuthorize",
    "StopTransactionOnEVSideDisconnect", "StopTransactionOnInvalidId",
    "UnlockConnectorOnEVSideDisconnect", "AllowOfflineTxForUnknownId",
    "AuthorizationCacheEnabled", "LocalAuthListEnabled",
}
# writable integer keys: (lowest valid, highest valid)
INT_RANGES = {
    "ClockAlignedDataInterval": (0, 86400), "ConnectionTimeOut": (1, 3600),
    "HeartbeatInterval": (0, 86400), "MeterValueSampleInterval": (0, 86400),
    "ResetRetries": (0, 10), "TransactionMessageAttempts": (0, 100),
    "TransactionMessageRetryInterval": (0, 86400), "MaxEnergyOnInvalidId": (0, 10**9),
    "WebSocketPingInterval": (0, 86400), "SecurityProfile": (0, 3),
}
MEASURAND_LISTS = ("MeterValuesAlignedData", "MeterValuesSampledData", "StopTxnAlignedData",
                   "StopTxnSampledData")
ALL_PROFILES = ("Core", "FirmwareManagement", "LocalAuthListManagement", "Reservation",
                "RemoteTrigger", "SmartCharging")


def make(store: Store | None = None, initial: dict[str, str] | None = None,
         **kw: object) -> Configuration:
    return Configuration(store if store is not None else open_store(), initial, **kw)  # type: ignore[arg-type]


def test_registry_has_exactly_the_reference_keys_with_their_access() -> None:
    assert {d.name: d.access.value for d in REGISTRY} == EXPECTED_ACCESS
    assert len({d.name.lower() for d in REGISTRY}) == len(REGISTRY)


@pytest.mark.parametrize("name", sorted(EXPECTED_ACCESS))
def test_every_key_type_and_access(name: str) -> None:
    cfg = make(profiles=ALL_PROFILES, connectors=2)
    d = cfg.lookup(name)
    if name in ("BlinkRepeat", "LightIntensity", "MinimumStatusDuration"):
        assert d is None  # no light, no status debouncing on this station
        assert cfg.change(name, "1") == "NotSupported"
        return
    assert d is not None
    values, unknown = cfg.get([name])
    assert unknown == []
    [kv] = values
    assert kv.key == name and kv.readonly == (d.access is Access.R)
    if d.access is Access.R:
        assert cfg.change(name, kv.value or "1") == "Rejected"
        assert kv.value is not None
        if d.kind is Kind.INT:
            int(kv.value)
        return
    if d.access is Access.W:
        assert kv.value is None
        return
    if name in BOOL_KEYS:
        assert d.kind is Kind.BOOL
        for good in ("true", "false", "TRUE", "False"):
            assert cfg.change(name, good) == "Accepted"
            assert cfg.value(name) == good.lower()
        for bad in ("yes", "1", "", "truee"):
            assert cfg.change(name, bad) == "Rejected"
    elif name in INT_RANGES:
        assert d.kind is Kind.INT
        lo, hi = INT_RANGES[name]
        for edge in (lo, hi):
            if name == "SecurityProfile":
                continue  # checked on its own (no downgrade)
            assert cfg.change(name, str(edge)) == "Accepted"
            assert cfg.get_int(name) == edge
        for bad in (str(lo - 1), str(hi + 1), "1.5", "abc", "", "1_0"):
            assert cfg.change(name, bad) == "Rejected", bad
    elif name in MEASURAND_LISTS or name == "ConnectorPhaseRotation":
        assert d.kind is Kind.CSL
    else:
        assert name == "CpoName" and d.kind is Kind.STR


def test_names_match_case_insensitively() -> None:
    cfg = make()
    assert cfg.change("heartbeatinterval", "42") == "Accepted"
    assert cfg.get_int("HEARTBEATINTERVAL") == 42
    values, unknown = cfg.get(["HeartBeatInterval", "heartbeatINTERVAL"])
    assert values == [KeyValue("HeartbeatInterval", False, "42")] and unknown == []
    assert key_def("localpreauthorize") is key_def("LocalPreAuthorize")


def test_unknown_key_not_supported_040_1() -> None:
    cfg = make()
    assert cfg.change("UnknownKeyXYZ", "1") == "NotSupported"
    values, unknown = cfg.get(["UnknownKeyXYZ", "HeartbeatInterval"])
    assert unknown == ["UnknownKeyXYZ"] and [v.key for v in values] == ["HeartbeatInterval"]


def test_invalid_value_rejected_040_2() -> None:
    cfg = make()
    assert cfg.change("MeterValueSampleInterval", "-1") == "Rejected"
    assert cfg.change("MeterValueSampleInterval", "ten") == "Rejected"
    assert cfg.get_int("MeterValueSampleInterval") == 60  # unchanged


def test_full_get_lists_supported_keys_without_authorization_key_value() -> None:
    cfg = make(initial={"AuthorizationKey": "0123456789abcdef0123"})
    values, unknown = cfg.get(None)
    assert unknown == []
    by_key = {v.key: v for v in values}
    assert by_key["AuthorizationKey"].value is None
    assert "0123456789abcdef0123" not in repr(values)
    assert "BlinkRepeat" not in by_key
    assert "SupportedFileTransferProtocols" not in by_key  # FirmwareManagement not offered
    assert by_key["ChargeProfileMaxStackLevel"].readonly  # SmartCharging offered
    assert by_key["AuthorizationKey"].to_wire() == {"key": "AuthorizationKey", "readonly": False}
    assert cfg.get_str("AuthorizationKey") == "0123456789abcdef0123"  # for the connection


def test_authorization_key_write_only_and_length() -> None:
    cfg = make()
    assert cfg.change("AuthorizationKey", "short") == "Rejected"
    assert cfg.change("AuthorizationKey", "x" * 41) == "Rejected"
    assert cfg.change("AuthorizationKey", "a-fine-password-16") == "Accepted"
    [kv], _ = cfg.get(["AuthorizationKey"])
    assert kv.value is None


def test_get_configuration_max_keys_is_honoured() -> None:
    cfg = make()
    n = cfg.get_int("GetConfigurationMaxKeys")
    assert n >= len(REGISTRY)  # a full request always fits
    keys = ["HeartbeatInterval"] + [f"Unknown{i}" for i in range(n + 10)]
    values, unknown = cfg.get(keys)
    assert len(values) + len(unknown) == n


def test_derived_read_only_values() -> None:
    cfg = make(connectors=2, profiles=("Core", "LocalAuthListManagement", "Reservation",
                                       "RemoteTrigger", "FirmwareManagement"))
    assert cfg.get_int("NumberOfConnectors") == 2
    assert cfg.get_csl("SupportedFeatureProfiles") == [
        "Core", "LocalAuthListManagement", "Reservation", "RemoteTrigger", "FirmwareManagement"]
    assert cfg.get_int("ConnectorPhaseRotationMaxLength") == 3
    assert cfg.get_csl("SupportedFileTransferProtocols")
    assert cfg.change("NumberOfConnectors", "3") == "Rejected"


def test_persisted_value_wins_over_initial_which_wins_over_default() -> None:
    store = open_store()
    assert make(store).get_int("HeartbeatInterval") == 300  # default
    cfg = make(store, {"HeartbeatInterval": "120"})
    assert cfg.get_int("HeartbeatInterval") == 120  # initial
    assert store.config_all() == {}  # initial values are not copied into the store
    assert cfg.change("HeartbeatInterval", "30") == "Accepted"
    assert store.config_all() == {"HeartbeatInterval": "30"}
    again = make(store, {"HeartbeatInterval": "120"})  # after a reboot
    assert again.get_int("HeartbeatInterval") == 30


def test_invalid_persisted_value_is_ignored() -> None:
    store = open_store()
    for k, v in {"heartbeatinterval": "oops", "NumberOfConnectors": "9", "Nope": "1"}.items():
        store.config_set(k, v)
    cfg = make(store)
    assert cfg.get_int("HeartbeatInterval") == 300
    assert cfg.get_int("NumberOfConnectors") == 1


def test_bad_initial_values_raise_and_are_listed() -> None:
    bad = {"HeartbeatInterval": "-5", "NoSuchKey": "1", "NumberOfConnectors": "2",
           "BlinkRepeat": "3", "LocalPreAuthorize": "true"}
    errors = check_initial(bad)
    assert len(errors) == 4 and all(e.startswith("[ocpp.config] ") for e in errors)
    assert any("HeartbeatInterval" in e for e in errors)
    with pytest.raises(ValueError, match="NoSuchKey"):
        make(initial=bad)


def test_change_listeners_get_canonical_key_and_normalised_value() -> None:
    cfg = make()
    seen: list[tuple[str, str]] = []
    unsubscribe = cfg.on_change(lambda k, v: seen.append((k, v)))

    def broken(key: str, value: str) -> None:
        raise RuntimeError("listener bug")

    cfg.on_change(broken)
    assert cfg.change("metervaluesampleinterval", " 15 ") == "Accepted"
    assert cfg.change("MeterValueSampleInterval", "x") == "Rejected"
    assert seen == [("MeterValueSampleInterval", "15")]
    unsubscribe()
    cfg.change("MeterValueSampleInterval", "20")
    assert seen == [("MeterValueSampleInterval", "15")]


def test_security_profile_cannot_be_lowered_084() -> None:
    cfg = make(initial={"SecurityProfile": "1"})
    assert cfg.change("SecurityProfile", "0") == "Rejected"
    assert cfg.change("SecurityProfile", "1") == "Rejected"  # equal: A05.FR.01
    assert cfg.change("SecurityProfile", "2") == "Accepted"
    assert cfg.change("SecurityProfile", "1") == "Rejected"
    assert cfg.change("SecurityProfile", "4") == "Rejected"
    assert cfg.get_int("SecurityProfile") == 2


def test_security_profile_upgrade_needs_the_station_to_be_able() -> None:
    cfg = make(security_profile_allowed=lambda p: p <= 1)
    assert cfg.change("SecurityProfile", "2") == "Rejected"
    assert cfg.change("SecurityProfile", "1") == "Accepted"


@pytest.mark.parametrize("key", MEASURAND_LISTS)
def test_measurand_lists_validate_members(key: str) -> None:
    cfg = make()
    ok = "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage,Frequency"
    assert cfg.change(key, ok) == "Accepted"
    assert cfg.get_csl(key) == ok.split(",")
    assert cfg.change(key, "Energy.Active.Import.Register , Current.Offered") == "Accepted"
    assert cfg.value(key) == "Energy.Active.Import.Register,Current.Offered"
    assert cfg.change(key, "Voltage.L1,Current.Import.L2") == "Accepted"  # per-phase form
    assert cfg.change(key, "") == "Accepted" and cfg.get_csl(key) == []
    for bad in ("SoC", "Temperature", "Energy.Active.Import.Register,RPM", "Voltage.L4",
                "Frequency.L1", "Voltage,Voltage", "Voltage,,Frequency"):
        assert cfg.change(key, bad) == "Rejected", bad
    too_many = ",".join(f"Voltage.{p}" for p in ("L1", "L2", "L3", "L1-N", "L2-N", "L3-N",
                                                   "L1-L2", "L2-L3", "L3-L1", "N"))
    too_many += ",Frequency,Current.Offered,Power.Active.Import"
    assert cfg.change(key, too_many) == "Rejected"  # over its MaxLength key (12)


def test_measurands_follow_the_station() -> None:
    cfg = make(measurands=("Energy.Active.Import.Register",))
    assert cfg.change("MeterValuesSampledData", "Voltage") == "Rejected"


def test_connector_phase_rotation() -> None:
    cfg = make(connectors=2)
    assert cfg.change("ConnectorPhaseRotation", "0.RST,1.RST,2.RTS") == "Accepted"
    assert cfg.change("ConnectorPhaseRotation", "NotApplicable") == "Accepted"
    assert cfg.change("ConnectorPhaseRotation", "3.RST") == "Rejected"
    assert cfg.change("ConnectorPhaseRotation", "1.XYZ") == "Rejected"
    assert cfg.change("ConnectorPhaseRotation", "0.RST,1.RST,2.RST,1.TSR") == "Rejected"


def test_cpo_name_length() -> None:
    cfg = make()
    assert cfg.value("CpoName") is None
    assert cfg.change("CpoName", "ACME Charging") == "Accepted"
    assert cfg.change("CpoName", "x" * 51) == "Rejected"


def test_max_energy_on_invalid_id_unset_means_no_cap() -> None:
    cfg = make()
    assert cfg.get_int_or_none("MaxEnergyOnInvalidId") is None
    with pytest.raises(KeyError):
        cfg.get_int("MaxEnergyOnInvalidId")
    with pytest.raises(KeyError):
        cfg.value("BlinkRepeat")


def core_settings(cfg: Configuration, *, has_lock: bool, max_current_a: float) -> Settings:
    return build_settings(protocol_settings(cfg), StationWiring(has_lock, max_current_a))


def test_core_settings() -> None:
    cfg = make()
    s = core_settings(cfg, has_lock=True, max_current_a=16.0)
    assert s == Settings(has_lock=True, max_current_a=16.0, connection_timeout_s=60.0)
    cfg.change("ConnectionTimeOut", "30")
    cfg.change("StopTransactionOnInvalidId", "false")
    cfg.change("MaxEnergyOnInvalidId", "500")
    cfg.change("StopTransactionOnEVSideDisconnect", "false")
    cfg.change("UnlockConnectorOnEVSideDisconnect", "false")
    s = core_settings(cfg, has_lock=False, max_current_a=32.0)
    assert s.connection_timeout_s == 30.0 and not s.stop_transaction_on_invalid_id
    assert s.max_energy_on_invalid_id_wh == 500.0
    assert not s.stop_transaction_on_ev_side_disconnect
    assert not s.unlock_connector_on_ev_side_disconnect
    no_res = make(profiles=("Core",))
    settings = core_settings(no_res, has_lock=False, max_current_a=32)
    assert not settings.reserve_connector_zero_supported


def test_store_failure_rejects_and_changes_nothing(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = make(store)
    seen: list[str] = []
    cfg.on_change(lambda k, v: seen.append(k))

    def broken(key: str, value: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(store, "config_set", broken)
    assert cfg.change("HeartbeatInterval", "10") == "Rejected"
    assert cfg.get_int("HeartbeatInterval") == 300 and seen == []
