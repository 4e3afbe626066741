"""OCPP 1.6 Smart Charging (sections 3.13, 5.4 ClearChargingProfile, 5.7 GetCompositeSchedule,
5.11 RemoteStartTransaction with a profile, 5.16 SetChargingProfile; keys 9.4).

``SmartCharging(adapter)`` is a handler object for ``OcppClient`` and the owner of the
installed profiles:

- **SetChargingProfile**: the profile is checked (``profile_conversions``: kinds, periods,
  placement), then against the keys ChargeProfileMaxStackLevel, ChargingScheduleMaxPeriods,
  ChargingScheduleAllowedChargingRateUnit and MaxChargingProfilesInstalled, then by purpose:
  ChargePointMaxProfile on connector 0 only; TxProfile only on a connector with a running
  transaction, whose id it must name if it names one (OCTT 058_1 / 058_2); TxDefaultProfile
  on connector 0 (every connector) or one. Accepted only once it is in the store; it replaces
  a profile with the same id, or the same connector, stackLevel and purpose (5.16.2). Any
  refusal (Rejected, a CALLERROR for a schema violation) leaves the installed profiles as
  they were.
- **ClearChargingProfile**: by id; else by every filter given (connectorId, purpose,
  stackLevel); none: all. Accepted when one was removed, else Unknown.
- **GetCompositeSchedule**: ``Schedule.composite_schedule`` from now (the CSMS's wall clock),
  in the unit asked for (default A; A <-> W with the connector's phases and nominal voltage).
- **RemoteStartTransaction** with a profile (from ``CoreHandlers``): ``check_remote_profile``
  (TxProfile only, same limits; else Rejected) and ``expect_remote_start``: the profile is
  installed on the connector where the transaction for that idTag starts.
- A TxProfile ends with its transaction (removed from memory and store); at start-up the
  store's profiles are restored (TxProfiles dropped: a restart ended their transaction).

The installed profiles, their store rows, the transactions they follow and their
enforcement (the ``LimitTimer``, which gives the core the limits now and at every period
boundary) are version-neutral: ``chargepoint.profile_book.ProfileBook`` (``book``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from datetime import datetime
from typing import Any, Protocol

from ocpp.v16 import call_result  # type: ignore[import-untyped]

from chargepoint.core.actions import StartTransaction
from chargepoint.core.schedule import ChargingProfile, Circuit, Purpose, RateUnit
from chargepoint.ocpp16.client import on
from chargepoint.ocpp16.config_keys import Configuration
from chargepoint.ocpp16.options import Ocpp16Options
from chargepoint.ocpp16.profile_conversions import (
    composite_to_wire,
    plain,
    profile_from_wire,
    rate_unit,
)
from chargepoint.ocppj.timestamps import Clock
from chargepoint.ports import StationPort
from chargepoint.profile_book import Installed, ProfileBook
from chargepoint.store.api import StoreAPI


class SmartChargingServices(Protocol):
    """What ``SmartCharging`` uses of the adapter (``Ocpp16Adapter`` provides it)."""

    @property
    def port(self) -> StationPort: ...
    @property
    def store(self) -> StoreAPI: ...
    @property
    def config(self) -> Configuration: ...
    @property
    def options(self) -> Ocpp16Options: ...
    @property
    def clock(self) -> Clock: ...

    def spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]: ...

LOG = logging.getLogger("chargepoint.ocpp")

_UNIT_KEYWORDS = {RateUnit.AMPS: "Current", RateUnit.WATTS: "Power"}
# GetCompositeSchedule covers at most a week: a year of a Daily profile with many periods
# would be thousands of periods computed on the event loop, for a CSMS that asks too much.
MAX_COMPOSITE_S = 7 * 86_400
REMOTE_START_GRACE_S = 60.0


class SmartCharging:
    def __init__(self, services: SmartChargingServices) -> None:
        self._services = services
        options = services.options
        circuit = Circuit(options.max_current_a, options.phases, options.voltage_v)
        self.book = ProfileBook(
            services, {c: circuit for c in range(1, services.port.connector_count + 1)})
        self.book.on_start = self._remote_profile
        # idTag -> (connector, profile, monotonic deadline) of an accepted RemoteStart
        self._remote: dict[str, tuple[int | None, dict[str, Any], float]] = {}
        self.timer = self.book.timer

    # -- queries
    def wall_now(self) -> datetime:
        """The CSMS's wall clock (the system clock until the CSMS told the time)."""
        return self.book.wall_now()

    @property
    def installed(self) -> list[ChargingProfile]:
        return [i.profile for i in self.book.items()]

    def _supported(self) -> bool:
        return self._services.config.lookup("ChargeProfileMaxStackLevel") is not None

    # -- start-up
    async def restore(self) -> None:
        """Install the profiles the store kept (call once, before ``timer.run``)."""
        await self.book.restore(profile_from_wire)

    # -- checks shared by SetChargingProfile and RemoteStartTransaction
    def _check(self, connector: int, data: dict[str, Any]) -> Installed | str:
        """The profile to install, or why not (logged, answered Rejected)."""
        if not 0 <= connector <= self._services.port.connector_count:
            return f"no connector {connector}"
        data = plain(data)
        try:
            profile = profile_from_wire(connector, data, self.wall_now())
        except ValueError as exc:
            return str(exc)
        config = self._services.config
        if profile.stack_level > config.get_int("ChargeProfileMaxStackLevel"):
            return f"stackLevel {profile.stack_level} above ChargeProfileMaxStackLevel"
        if len(profile.schedule.periods) > config.get_int("ChargingScheduleMaxPeriods"):
            return "more periods than ChargingScheduleMaxPeriods"
        unit = _UNIT_KEYWORDS[profile.schedule.rate_unit]
        if unit not in config.get_csl("ChargingScheduleAllowedChargingRateUnit"):
            return f"{unit} not in ChargingScheduleAllowedChargingRateUnit"
        kept = [i for i in self.book.items() if not self.book.replaced_by(i.profile, profile)]
        if len(kept) + 1 > config.get_int("MaxChargingProfilesInstalled"):
            return "MaxChargingProfilesInstalled reached"
        return Installed(profile, data)

    # -- SetChargingProfile (5.16)
    @on("SetChargingProfile")
    async def on_set_charging_profile(self, connector_id: int,
                                      cs_charging_profiles: dict[str, Any],
                                      **_: Any) -> call_result.SetChargingProfile:
        if not self._supported():
            return call_result.SetChargingProfile(status="NotSupported")
        async with self.book.lock:
            checked = self._check(connector_id, cs_charging_profiles)
            if isinstance(checked, Installed) and checked.profile.purpose is Purpose.TX:
                checked = await self._check_transaction(checked)
            if isinstance(checked, str):
                LOG.info("SetChargingProfile on connector %d rejected: %s", connector_id,
                         checked)
                return call_result.SetChargingProfile(status="Rejected")
            if not await self.book.persist(checked):
                return call_result.SetChargingProfile(status="Rejected")
            self.book.install(checked)
        return call_result.SetChargingProfile(status="Accepted")

    async def _check_transaction(self, item: Installed) -> Installed | str:
        """3.13.1: a TxProfile only for the transaction running on its connector."""
        p = item.profile
        record = await asyncio.to_thread(self._services.store.open_transaction_on, p.connector)
        if record is None or record.stopped:
            return f"TxProfile: no transaction on connector {p.connector}"
        if p.transaction_id is not None and str(p.transaction_id) != record.csms_id:
            return f"TxProfile: transaction {p.transaction_id} is not the one running"
        return item

    # -- ClearChargingProfile (5.4)
    @on("ClearChargingProfile")
    async def on_clear_charging_profile(
            self, id: int | None = None, connector_id: int | None = None,
            charging_profile_purpose: str | None = None, stack_level: int | None = None,
            **_: Any) -> call_result.ClearChargingProfile:
        matches = await self.book.clear(id, connector_id, charging_profile_purpose, stack_level)
        if not matches:
            return call_result.ClearChargingProfile(status="Unknown")
        LOG.info("charging profile(s) %s cleared", matches)
        return call_result.ClearChargingProfile(status="Accepted")

    # -- GetCompositeSchedule (5.7)
    @on("GetCompositeSchedule")
    def on_get_composite_schedule(self, connector_id: int, duration: int,
                                  charging_rate_unit: str | None = None,
                                  **_: Any) -> call_result.GetCompositeSchedule:
        if not self._supported() or not 0 <= connector_id <= self._services.port.connector_count:
            return call_result.GetCompositeSchedule(status="Rejected")
        try:
            unit = RateUnit.AMPS if charging_rate_unit is None else rate_unit(charging_rate_unit)
            composite = self.timer.schedule.composite_schedule(
                connector_id, self.wall_now(), min(duration, MAX_COMPOSITE_S), unit,
                transaction=self.book.running.get(connector_id))
        except ValueError as exc:
            LOG.info("GetCompositeSchedule rejected: %s", exc)
            return call_result.GetCompositeSchedule(status="Rejected")
        return call_result.GetCompositeSchedule(**composite_to_wire(composite))

    # -- RemoteStartTransaction with a profile (5.11)
    def check_remote_profile(self, connector: int | None, data: dict[str, Any]) -> bool:
        """May a RemoteStartTransaction carry this profile? (TxProfile only, the same checks
        as SetChargingProfile; a transactionId is ignored: the new one is meant.)"""
        if data.get("charging_profile_purpose") != Purpose.TX.value:
            return False
        if not self._supported():
            return True  # without SmartCharging the profile is ignored
        checked = self._check(connector or 1, {**data, "transaction_id": None})
        if isinstance(checked, str):
            LOG.info("RemoteStartTransaction profile rejected: %s", checked)
            return False
        return True

    def expect_remote_start(self, id_tag: str, connector: int | None,
                            data: dict[str, Any]) -> None:
        """Install ``data`` as the TxProfile of the transaction that starts for ``id_tag``."""
        if not self._supported():
            return
        # It waits as long as the core waits for the EV (ConnectionTimeOut), plus the time
        # an authorization may take; a start for this idTag after that is another one.
        wait_s = self._services.config.get_int("ConnectionTimeOut") + REMOTE_START_GRACE_S
        self._remote[id_tag] = (connector, {**plain(data), "transaction_id": None},
                                self._services.port.now() + wait_s)

    def _remote_profile(self, action: StartTransaction) -> Installed | None:
        """The profile of the RemoteStartTransaction this transaction answers, if any."""
        c = action.connector
        remote = self._remote.pop(action.id_tag, None)
        if remote is None or remote[0] not in (None, c) or action.at > remote[2]:
            return None
        checked = self._check(c, remote[1])
        if isinstance(checked, str):
            LOG.warning("RemoteStartTransaction profile not installed: %s", checked)
            return None
        return checked
