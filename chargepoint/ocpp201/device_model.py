"""The device model of the 2.0.1 slice: the component-level variables the station uses.

Each variable (``VARIABLES``, keyed "Component.Variable") has a data type, a mutability, a
default, and for list-valued ones the values allowed. ``DeviceModel(store, initial)`` starts
from the defaults, applies ``[ocpp.variables]`` (``initial``, wire strings), then the values
the CSMS set before (persisted in the store's configuration table under the same keys, so they
win after the first boot). A SetVariables value is ``check``-ed (the variable's type and range,
then any rule a block added with ``add_check``), ``persist``-ed (blocking, off the loop) and
``apply``-ed; ``on_change`` callbacks see every change. Construct off the loop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from chargepoint.store.api import StoreAPI

_TX_POINTS = ("EVConnected", "Authorized", "PowerPathClosed", "EnergyTransfer")
_MEASURANDS = ("Energy.Active.Import.Register", "Power.Active.Import", "Current.Import",
               "Current.Offered", "Voltage")


@dataclass(frozen=True, slots=True)
class Variable:
    component: str
    name: str
    data_type: str  # "integer", "boolean", "string", "MemberList" (comma separated),
    # "OptionList" (one of members), "SequenceList" (ordered members, each once)
    default: str
    read_only: bool = False
    minimum: int = 0  # integer: the smallest value; string: the shortest length
    members: tuple[str, ...] = ()  # MemberList: the values allowed
    unit: str | None = None
    write_only: bool = False  # never read back (GetVariables: Rejected; reports: no value)
    max_length: int = 1000  # string: the longest
    reboot_required: bool = False  # SetVariables answers RebootRequired (used after a reboot)

    @property
    def key(self) -> str:
        return f"{self.component}.{self.name}"

    def problem(self, value: str) -> str | None:
        """Why ``value`` (a wire string) is not valid for this variable, None if it is."""
        if self.data_type == "integer":
            try:
                number = int(value)
            except ValueError:
                return f"must be an integer, not {value!r}"
            return f"must be at least {self.minimum}" if number < self.minimum else None
        if self.data_type == "boolean":
            return None if value in ("true", "false") else f"must be true or false, not {value!r}"
        if self.data_type == "string":
            if not self.minimum <= len(value) <= self.max_length:
                return f"must be {self.minimum}..{self.max_length} characters"
            return None
        items = [v.strip() for v in value.split(",") if v.strip()]
        if self.data_type == "OptionList" and len(items) != 1:
            return f"must be one of {', '.join(self.members)}"
        if self.data_type == "SequenceList" and len(set(items)) != len(items):
            return "lists a value twice"
        unknown = [v for v in items if v not in self.members]
        if unknown:
            return f"unknown value(s) {', '.join(unknown)} (allowed: {', '.join(self.members)})"
        return None


VARIABLES: dict[str, Variable] = {v.key: v for v in (
    Variable("OCPPCommCtrlr", "HeartbeatInterval", "integer", "300", unit="s"),
    Variable("OCPPCommCtrlr", "MessageTimeout", "integer", "30", read_only=True, minimum=1,
             unit="s"),
    Variable("TxCtrlr", "EVConnectionTimeOut", "integer", "60", minimum=1, unit="s"),
    Variable("TxCtrlr", "TxStartPoint", "MemberList", "PowerPathClosed", members=_TX_POINTS),
    Variable("TxCtrlr", "TxStopPoint", "MemberList", "EVConnected,Authorized",
             members=_TX_POINTS),
    # E24-E27: the core's StopTransactionOnEVSideDisconnect / UnlockConnectorOnEVSideDisconnect
    Variable("TxCtrlr", "StopTxOnEVSideDisconnect", "boolean", "true"),
    Variable("OCPPCommCtrlr", "UnlockOnEVSideDisconnect", "boolean", "true"),
    Variable("SampledDataCtrlr", "TxUpdatedInterval", "integer", "0", unit="s"),
    Variable("SampledDataCtrlr", "TxUpdatedMeasurands", "MemberList",
             "Energy.Active.Import.Register", members=_MEASURANDS),
    Variable("AuthCtrlr", "AuthorizeRemoteStart", "boolean", "true"),
    Variable("AuthCtrlr", "LocalPreAuthorize", "boolean", "false"),
    # Transactions and meter values (E, J): chargepoint/ocpp201/tx_points.py, meter_values.py
    Variable("OCPPCommCtrlr", "MessageAttempts", "integer", "3", minimum=1),
    Variable("OCPPCommCtrlr", "MessageAttemptInterval", "integer", "10", minimum=1, unit="s"),
    Variable("SampledDataCtrlr", "TxStartedMeasurands", "MemberList",
             "Energy.Active.Import.Register", members=_MEASURANDS),
    Variable("SampledDataCtrlr", "TxEndedMeasurands", "MemberList",
             "Energy.Active.Import.Register", members=_MEASURANDS),
    Variable("SampledDataCtrlr", "TxEndedInterval", "integer", "0", unit="s"),
    Variable("AlignedDataCtrlr", "Interval", "integer", "0", unit="s"),
    Variable("AlignedDataCtrlr", "Measurands", "MemberList", "Energy.Active.Import.Register",
             members=_MEASURANDS),
    Variable("AlignedDataCtrlr", "TxEndedInterval", "integer", "0", unit="s"),
    Variable("AlignedDataCtrlr", "SendDuringIdle", "boolean", "false"),  # J06
    Variable("AlignedDataCtrlr", "TxEndedMeasurands", "MemberList",
             "Energy.Active.Import.Register", members=_MEASURANDS),
    Variable("ReservationCtrlr", "Enabled", "boolean", "true"),
    Variable("ReservationCtrlr", "NonEvseSpecific", "boolean", "true", read_only=True),
    # authorization cache and local list (chargepoint.ocpp201.authorization)
    Variable("AuthCtrlr", "LocalAuthorizeOffline", "boolean", "true"),
    Variable("AuthCtrlr", "OfflineTxForUnknownIdEnabled", "boolean", "false"),
    Variable("AuthCacheCtrlr", "Available", "boolean", "true", read_only=True),
    Variable("AuthCacheCtrlr", "Enabled", "boolean", "true"),
    Variable("AuthCacheCtrlr", "LifeTime", "integer", "86400", unit="s"),
    Variable("AuthCacheCtrlr", "Policy", "OptionList", "LRU", read_only=True, members=("LRU",)),
    Variable("AuthCacheCtrlr", "Storage", "integer", "0", read_only=True, unit="B"),
    Variable("LocalAuthListCtrlr", "Available", "boolean", "true", read_only=True),
    Variable("LocalAuthListCtrlr", "Enabled", "boolean", "true"),
    Variable("LocalAuthListCtrlr", "Entries", "integer", "0", read_only=True),
    Variable("LocalAuthListCtrlr", "ItemsPerMessage", "integer", "500", read_only=True,
             minimum=1),
    Variable("LocalAuthListCtrlr", "BytesPerMessage", "integer", "4194304", read_only=True,
             minimum=1, unit="B"),
    Variable("LocalAuthListCtrlr", "Storage", "integer", "0", read_only=True, unit="B"),
    # smart charging (K01-K10, chargepoint.ocpp201.smart_charging)
    Variable("SmartChargingCtrlr", "Enabled", "boolean", "true"),
    Variable("SmartChargingCtrlr", "Available", "boolean", "true", read_only=True),
    Variable("SmartChargingCtrlr", "ProfileStackLevel", "integer", "8", read_only=True),
    Variable("SmartChargingCtrlr", "PeriodsPerSchedule", "integer", "24", read_only=True,
             minimum=1),
    Variable("SmartChargingCtrlr", "RateUnit", "MemberList", "A,W", read_only=True,
             members=("A", "W")),
    Variable("SmartChargingCtrlr", "EntriesChargingProfiles", "integer", "0", read_only=True),
    Variable("SmartChargingCtrlr", "LimitChangeSignificance", "integer", "10", unit="Percent"),
    # A (security): SecurityProfile and Identity are set by ocpp201.security at start
    Variable("SecurityCtrlr", "SecurityProfile", "integer", "0", read_only=True),
    Variable("SecurityCtrlr", "Identity", "string", "", read_only=True),
    Variable("SecurityCtrlr", "BasicAuthPassword", "string", "", write_only=True, minimum=16,
             max_length=40),
    Variable("SecurityCtrlr", "OrganizationName", "string", "", max_length=64),
    Variable("SecurityCtrlr", "CertSigningWaitMinimum", "integer", "60", minimum=1, unit="s"),
    Variable("SecurityCtrlr", "CertSigningRepeatTimes", "integer", "3"),
    Variable("SecurityCtrlr", "MaxCertificateChainSize", "integer", "10000", read_only=True),
    # B09 / B10 network connection profiles (chargepoint.ocpp201.network_profiles)
    Variable("OCPPCommCtrlr", "NetworkConfigurationPriority", "SequenceList", "",
             members=("1", "2", "3"), reboot_required=True),
    Variable("OCPPCommCtrlr", "NetworkProfileConnectionAttempts", "integer", "3", minimum=1),
)}


def check_initial(initial: Mapping[str, str]) -> list[str]:
    """Every problem of an ``[ocpp.variables]`` table, one "[ocpp.variables] key: why" each."""
    problems = []
    for key, value in initial.items():
        variable = VARIABLES.get(key)
        if variable is None:
            component = key.partition(".")[0]
            known = {v.component for v in VARIABLES.values()}
            what = "variable" if component in known else "component"
            problems.append(f"[ocpp.variables] {key}: unknown {what} (known: "
                            f"{', '.join(sorted(VARIABLES))})")
        elif (problem := variable.problem(value)) is not None:
            problems.append(f"[ocpp.variables] {key}: {problem}")
    return problems


class SetRefused(ValueError):
    """A SetVariables value the station does not take; ``status`` is the 2.0.1 answer."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class DeviceModel:
    def __init__(self, store: StoreAPI, initial: Mapping[str, str]) -> None:
        self._store = store
        self._values = {key: v.default for key, v in VARIABLES.items()}
        self._values.update({k: v for k, v in initial.items()
                             if k in VARIABLES and VARIABLES[k].problem(v) is None})
        for key in VARIABLES:
            stored = store.config_get(key)
            if stored is not None and VARIABLES[key].problem(stored) is None:
                self._values[key] = stored
        self._listeners: list[Callable[[str, str], None]] = []
        self._checks: dict[str, Callable[[str], str | None]] = {}

    def value(self, key: str) -> str:
        return self._values[key]

    def get_int(self, key: str) -> int:
        return int(self._values[key])

    def get_bool(self, key: str) -> bool:
        return self._values[key] == "true"

    def members(self, key: str) -> list[str]:
        return [v.strip() for v in self._values[key].split(",") if v.strip()]

    def items(self) -> list[tuple[Variable, str]]:
        return [(VARIABLES[key], value) for key, value in self._values.items()]

    def on_change(self, listener: Callable[[str, str], None]) -> None:
        self._listeners.append(listener)

    def add_check(self, key: str, check: Callable[[str], str | None]) -> None:
        """One more rule for SetVariables values of ``key``: ``check(value)`` says why a value
        is refused (None: it is not). Runs on the loop: in-memory state only."""
        self._checks[key] = check

    def lookup(self, component: str, name: str) -> Variable:
        """The variable; ``SetRefused`` with UnknownComponent / UnknownVariable if none."""
        variable = VARIABLES.get(f"{component}.{name}")
        if variable is not None:
            return variable
        if any(v.component == component for v in VARIABLES.values()):
            raise SetRefused("UnknownVariable", f"{component} has no variable {name}")
        raise SetRefused("UnknownComponent", f"no component {component}")

    def check(self, component: str, name: str, value: str) -> Variable:
        """The variable a SetVariables value is for; ``SetRefused`` says why it is not taken."""
        variable = self.lookup(component, name)
        if variable.read_only:
            raise SetRefused("Rejected", f"{variable.key} is read-only")
        problem = variable.problem(value)
        if problem is None and (check := self._checks.get(variable.key)) is not None:
            problem = check(value)
        if problem is not None:
            raise SetRefused("Rejected", f"{variable.key} {problem}")
        return variable

    def persist(self, key: str, value: str) -> None:
        """Write a checked value to the store (blocking: off the loop)."""
        self._store.config_set(key, value)

    def apply(self, key: str, value: str) -> None:
        """Use a persisted value from now on (on the loop: the listeners run here)."""
        self._values[key] = value
        for listener in self._listeners:
            listener(key, value)
