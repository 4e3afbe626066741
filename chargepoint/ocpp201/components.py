"""The device model's components, addressed as the 2.0.1 wire addresses them (B05-B08).

Two kinds of component:
- the controllers of ``device_model.VARIABLES`` (OCPPCommCtrlr, TxCtrlr ...): component level,
  no ``evse``, no ``instance``; their values live in the ``DeviceModel``;
- the hardware the station reports, read-only and computed when asked:
  ``ChargingStation`` (AvailabilityState, Available, Problem), ``EVSE`` with ``evse.id`` N
  (AvailabilityState, Available, Power with ``maxLimit``, Problem) and ``Connector`` with
  ``evse.id`` N, ``evse.connectorId`` 1 (AvailabilityState, Available, ConnectorType,
  SupplyPhases, Problem). Station connector N is EVSE N with connector 1.

AvailabilityState is the 2.0.1 connector status of the last StatusNotification (``seen``),
Problem is true while it is Faulted. ConnectorType is sType2 (a socket: the station has a lock)
or cType2 (a fixed cable). Power's Actual is the meter's active power (W), its ``maxLimit`` the
wiring limit ``[station] max_current_a`` on 3 phases at 230 V.

``Components.resolve(component, variable)`` finds what a Get/SetVariables item addresses
(``SetRefused`` UnknownComponent / UnknownVariable otherwise: a controller addressed with an
``evse`` or an ``instance``, an EVSE that does not exist, a variable ``instance``);
``slots()`` lists every variable of every component, in report order, with its value now.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from chargepoint.core.actions import ReportStatus
from chargepoint.core.types import ConnectorStatus
from chargepoint.ocpp201 import conversions
from chargepoint.ocpp201.device_model import DeviceModel, SetRefused, Variable
from hardware.interfaces import MeterReading

NOMINAL_VOLTAGE_V = 230.0
PHASES = 3
STATION, EVSE, CONNECTOR = "ChargingStation", "EVSE", "Connector"
_STATES = ("Available", "Occupied", "Reserved", "Unavailable", "Faulted")


def _read_only(component: str, name: str, data_type: str, members: tuple[str, ...] = (),
               unit: str | None = None) -> Variable:
    return Variable(component, name, data_type, "", read_only=True, members=members, unit=unit)


def _common(component: str) -> tuple[Variable, ...]:
    return (_read_only(component, "AvailabilityState", "OptionList", _STATES),
            _read_only(component, "Available", "boolean"))


# component name -> its variables (all read-only: the hardware's facts)
HARDWARE: dict[str, tuple[Variable, ...]] = {
    STATION: (*_common(STATION), _read_only(STATION, "Problem", "boolean")),
    EVSE: (*_common(EVSE), _read_only(EVSE, "Power", "decimal", unit="W"),
           _read_only(EVSE, "Problem", "boolean")),
    CONNECTOR: (*_common(CONNECTOR),
                _read_only(CONNECTOR, "ConnectorType", "OptionList", ("cType2", "sType2")),
                _read_only(CONNECTOR, "SupplyPhases", "integer"),
                _read_only(CONNECTOR, "Problem", "boolean")),
}


@dataclass(frozen=True, slots=True)
class Instance:
    """One component as addressed on the wire (``evse`` / ``connector`` for the hardware)."""

    name: str
    evse: int | None = None
    connector: int | None = None

    def wire(self) -> dict[str, Any]:
        """The ComponentType of this instance."""
        component: dict[str, Any] = {"name": self.name}
        if self.evse is not None:
            component["evse"] = {"id": self.evse}
            if self.connector is not None:
                component["evse"]["connectorId"] = self.connector
        return component


@dataclass(frozen=True, slots=True)
class Slot:
    """One variable of one component instance, with its value now."""

    instance: Instance
    variable: Variable
    value: str
    max_limit: float | None = None


class Readings(Protocol):
    """What the components read of the running station (``ports.StationPort`` has it)."""

    @property
    def connector_count(self) -> int: ...

    def meter_reading(self, connector: int) -> MeterReading | None: ...


def _bool(flag: bool) -> str:
    return "true" if flag else "false"


class Components:
    def __init__(self, readings: Readings, model: DeviceModel, *, has_lock: bool,
                 max_current_a: float) -> None:
        self._readings = readings
        self._model = model
        self._connector_type = "sType2" if has_lock else "cType2"
        self._max_power_w = max_current_a * NOMINAL_VOLTAGE_V * PHASES
        self._status: dict[int, ConnectorStatus] = {}  # 0: the station

    def seen(self, action: ReportStatus) -> None:
        """A status the station reported (connector 0: the station as a whole)."""
        self._status[action.connector] = action.status

    # -- addressing (Get/SetVariables)
    def instances(self) -> Iterator[Instance]:
        """Every hardware component instance, in report order."""
        yield Instance(STATION)
        for evse in range(1, self._readings.connector_count + 1):
            yield Instance(EVSE, evse)
            yield Instance(CONNECTOR, evse, 1)

    def resolve(self, component: dict[str, Any], variable: dict[str, Any]
                ) -> tuple[Instance, Variable]:
        """The instance and variable a Get/SetVariables item addresses (payload in
        snake_case); ``SetRefused`` with UnknownComponent / UnknownVariable if there is none."""
        name = str(component["name"])
        evse = component.get("evse")
        instance = Instance(name, None if evse is None else int(evse["id"]),
                            None if evse is None else evse.get("connector_id"))
        if "instance" in component:
            raise SetRefused("UnknownComponent", f"{name} has no instances")
        if name in HARDWARE:
            if instance not in set(self.instances()):
                raise SetRefused("UnknownComponent", f"no component {_describe(instance)}")
            found = next((v for v in HARDWARE[name] if v.name == variable["name"]), None)
            if found is None:
                raise SetRefused("UnknownVariable", f"{name} has no variable {variable['name']}")
        else:
            if evse is not None:
                raise SetRefused("UnknownComponent", f"{name} has no EVSE instances")
            found = self._model.lookup(name, str(variable["name"]))
        if "instance" in variable:
            raise SetRefused("UnknownVariable", f"{found.key} has no instances")
        return instance, found

    # -- values
    def slot(self, instance: Instance, variable: Variable) -> Slot:
        """``variable`` of ``instance`` with its value now."""
        if instance.name not in HARDWARE:
            return Slot(instance, variable, self._model.value(variable.key))
        connector = instance.evse or 0
        status = self._status.get(connector, ConnectorStatus.AVAILABLE)
        match variable.name:
            case "AvailabilityState":
                return Slot(instance, variable, conversions.connector_status(status))
            case "Available":
                return Slot(instance, variable, "true")
            case "Problem":
                return Slot(instance, variable, _bool(status is ConnectorStatus.FAULTED))
            case "Power":
                reading = self._readings.meter_reading(connector)
                power = reading.power_w if reading is not None else None
                return Slot(instance, variable, f"{power or 0.0:.1f}",
                            max_limit=self._max_power_w)
            case "ConnectorType":
                return Slot(instance, variable, self._connector_type)
            case "SupplyPhases":
                return Slot(instance, variable, str(PHASES))
        raise AssertionError(f"no value for {variable.key}")  # HARDWARE lists only these

    def controller_slots(self) -> list[Slot]:
        """The component-level variables of ``device_model.VARIABLES``."""
        return [Slot(Instance(v.component), v, value) for v, value in self._model.items()]

    def hardware_slots(self) -> list[Slot]:
        """Every variable of ChargingStation, each EVSE and each connector."""
        return [self.slot(i, v) for i in self.instances() for v in HARDWARE[i.name]]

    def slots(self) -> list[Slot]:
        """Everything: the controllers first, then the hardware."""
        return self.controller_slots() + self.hardware_slots()


def _describe(instance: Instance) -> str:
    """``EVSE (evse 3)``, ``Connector (evse 1, connector 2)``."""
    if instance.evse is None:
        return instance.name
    where = f"evse {instance.evse}"
    if instance.connector is not None:
        where += f", connector {instance.connector}"
    return f"{instance.name} ({where})"
