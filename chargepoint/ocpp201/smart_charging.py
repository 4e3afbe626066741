"""OCPP 2.0.1 smart charging (block K) on the version-neutral schedule.

``SmartCharging(services, circuit)`` is a handler object of the 2.0.1 client. The installed
profiles live in its version-neutral ``book`` (``chargepoint.profile_book.ProfileBook``: in
memory and in the store's profiles table, written before an answer says Accepted; restored by
``restore()`` at start, TxProfiles dropped: a restart ended their transaction; a TxProfile
ends with its transaction). EVSE N is station connector N; evseId 0 is the station.

- **SetChargingProfile** (K01): the profile's own rules (``profile_conversions``), then
  ``SmartChargingCtrlr``: ProfileStackLevel (the highest stackLevel), PeriodsPerSchedule,
  RateUnit (K01.FR.26), at most ``MAX_PROFILES`` installed (EntriesChargingProfiles counts
  them); then by purpose: ChargingStationMaxProfile on evseId 0 only; TxDefaultProfile on 0
  (every EVSE) or one EVSE, refused when the other placement has one with the same stackLevel
  (K01.FR.52, K01.FR.53); TxProfile only on an EVSE with a running transaction whose
  transactionId it names, refused when another TxProfile of that transaction has its
  stackLevel (K01.FR.39). A profile with the id of an installed one replaces it (K01.FR.05);
  another with the same purpose, stackLevel and EVSE whose validity overlaps is refused
  (K01.FR.06). Rejected carries ``statusInfo`` (reasonCode InvalidValue, InvalidSchedule,
  UnsupportedRateUnit, InvalidStackLevel, DuplicateProfile, TxNotFound, MissingParam,
  NotEnabled, InternalError when the store refused). ``Enabled`` false: SetChargingProfile
  is Rejected (NotEnabled), nothing is enforced and a RequestStartTransaction's profile is
  ignored.
- **GetChargingProfiles** (K09): Accepted when a profile matches (evseId: 0 = the station's
  own, absent = all; criteria chargingProfileId list, stackLevel, purpose,
  chargingLimitSource: every profile here is CSO), else NoProfiles; then
  ReportChargingProfiles per EVSE, ``REPORT_PAGE`` profiles each, ``tbc`` true but on the
  last, all with the request's requestId.
- **ClearChargingProfile** (K10): by chargingProfileId (criteria ignored), else every profile
  matching all criteria given (evseId, purpose, stackLevel), none: all. Accepted when one was
  removed, else Unknown.
- **GetCompositeSchedule** (K08): from now (the CSMS's clock) for ``duration`` s (at most a
  week), in the unit asked for or the first of RateUnit; Rejected for an unknown EVSE or a
  unit not in RateUnit.
- **RequestStartTransaction** with a chargingProfile (F01, K05): ``remote_profile_refusal``
  (a TxProfile passing the checks above; its transactionId is ignored: the new transaction
  is meant) and ``expect_remote_start``: installed on that EVSE when its transaction for the
  idToken starts (within EVConnectionTimeOut + a minute).

Enforcement: every change rebuilds the ``Schedule`` for the book's ``LimitTimer``, which gives
the core each connector's limit now and at every period boundary (local load management's
offers go through the same timer).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any, Protocol

from ocpp.v201 import call_result  # type: ignore[import-untyped]

from chargepoint.core.actions import StartTransaction
from chargepoint.core.schedule import ChargingProfile, Circuit, Purpose, RateUnit
from chargepoint.ocpp201.client import on
from chargepoint.ocpp201.handlers import after
from chargepoint.ocpp201.profile_conversions import (
    WIRE_PURPOSE,
    Refusal,
    composite_to_wire,
    profile_from_wire,
    profile_to_wire,
)
from chargepoint.ocpp201.services import AdapterServices
from chargepoint.ocppj.charging_profiles import plain
from chargepoint.profile_book import Installed, ProfileBook

LOG = logging.getLogger("chargepoint.ocpp")

MAX_PROFILES = 32  # installed at once (the maxLimit of EntriesChargingProfiles)
MAX_COMPOSITE_S = 7 * 86_400  # GetCompositeSchedule: at most a week (computed on the loop)
REPORT_PAGE = 4  # profiles per ReportChargingProfiles
MAX_PENDING_REPORTS = 8
REMOTE_START_GRACE_S = 60.0
SOURCE = "CSO"  # every profile here was set by the CSMS
RECORD_VERSION = "2.0.1"  # the store's profiles table is shared with 1.6: whose row is it


class SmartChargingServices(AdapterServices, Protocol):
    """What ``SmartCharging`` uses of the adapter (``Ocpp201Adapter`` provides it)."""


def _overlap(a: ChargingProfile, b: ChargingProfile) -> bool:
    """Whether the validity periods of ``a`` and ``b`` overlap (absent edges: open)."""
    a_from, a_to, b_from, b_to = a.valid_from, a.valid_to, b.valid_from, b.valid_to
    return ((a_to is None or b_from is None or b_from < a_to)
            and (b_to is None or a_from is None or a_from < b_to))


class SmartCharging:
    def __init__(self, services: SmartChargingServices, circuit: Circuit) -> None:
        self._s = services
        self.book = ProfileBook(
            services, {c: circuit for c in range(1, services.port.connector_count + 1)},
            record_tag={"ocpp": RECORD_VERSION}, same_level_replaces=False,
            enabled=self._enabled)
        self.book.on_start = self._remote_profile
        self.book.on_change(self._count)
        self.timer = self.book.timer
        # evse -> (idToken, profile data, monotonic deadline) of an accepted remote start
        self._remote: dict[int, tuple[str, dict[str, Any], float]] = {}
        self._reports: dict[int, list[Installed]] = {}  # requestId -> what to report
        services.model.on_change(self._variable_changed)

    # -- queries
    def wall_now(self) -> datetime:
        """The CSMS's wall clock (the system clock until the CSMS told the time)."""
        return self.book.wall_now()

    @property
    def installed(self) -> list[ChargingProfile]:
        return [i.profile for i in self.book.items()]

    def _enabled(self) -> bool:
        return self._s.model.get_bool("SmartChargingCtrlr.Enabled")

    def _count(self) -> None:
        self._s.model.apply("SmartChargingCtrlr.EntriesChargingProfiles", str(len(self.book)))

    def _variable_changed(self, key: str, value: str) -> None:
        if key == "SmartChargingCtrlr.Enabled":
            self.book.changed()

    # -- start-up
    async def restore(self) -> None:
        """Install the profiles the store kept (call once, before ``timer.run``)."""
        await self.book.restore(profile_from_wire)

    # -- checks shared by SetChargingProfile and RequestStartTransaction
    def _check(self, evse: int, data: dict[str, Any]) -> Installed:
        """The profile to install; ``Refusal`` says why not. Everything but the running
        transaction (``_check_transaction``)."""
        if not 0 <= evse <= self._s.port.connector_count:
            raise Refusal("InvalidValue", f"no EVSE {evse}")
        data = plain(data)
        profile = profile_from_wire(evse, data, self.wall_now())
        model = self._s.model
        if profile.stack_level > model.get_int("SmartChargingCtrlr.ProfileStackLevel"):
            raise Refusal("InvalidStackLevel",
                          f"stackLevel {profile.stack_level} above ProfileStackLevel")
        periods = model.get_int("SmartChargingCtrlr.PeriodsPerSchedule")
        if len(profile.schedule.periods) > periods:
            raise Refusal("InvalidSchedule", "more periods than PeriodsPerSchedule")
        unit = profile.schedule.rate_unit.value
        if unit not in model.members("SmartChargingCtrlr.RateUnit"):
            raise Refusal("UnsupportedRateUnit", f"{unit} not in RateUnit (K01.FR.26)")
        others = [i.profile for i in self.book.items() if i.profile.id != profile.id]
        self._check_conflicts(profile, others)
        if len(others) + 1 > MAX_PROFILES:
            raise Refusal("InvalidValue", f"{MAX_PROFILES} profiles installed already")
        return Installed(profile, data)

    @staticmethod
    def _check_conflicts(new: ChargingProfile, others: list[ChargingProfile]) -> None:
        for old in others:
            if old.purpose is not new.purpose or old.stack_level != new.stack_level:
                continue
            if new.purpose is Purpose.TX:
                if old.connector == new.connector:
                    raise Refusal("InvalidStackLevel", f"TxProfile {old.id} of this transaction "
                                  "has this stackLevel (K01.FR.39)")
            elif old.connector == new.connector and _overlap(old, new):
                raise Refusal("DuplicateProfile", f"profile {old.id} has this purpose, "
                              "stackLevel and EVSE and overlapping validity (K01.FR.06)")
            elif new.purpose is Purpose.TX_DEFAULT and 0 in (old.connector, new.connector):
                raise Refusal("DuplicateProfile", f"TxDefaultProfile {old.id} on evseId "
                              f"{old.connector} has this stackLevel (K01.FR.52, K01.FR.53)")

    async def _check_transaction(self, item: Installed) -> None:
        """A TxProfile names the transaction running on its EVSE."""
        p = item.profile
        if p.transaction_id is None:
            raise Refusal("MissingParam", "a TxProfile names its transactionId")
        record = await asyncio.to_thread(self._s.port.store.open_transaction_on, p.connector)
        if record is None or record.stopped:
            raise Refusal("TxNotFound", f"no transaction on EVSE {p.connector}")
        if str(p.transaction_id) != record.csms_id:
            raise Refusal("TxNotFound", f"transaction {p.transaction_id} is not the one "
                          f"running on EVSE {p.connector}")

    # -- SetChargingProfile (K01)
    @on("SetChargingProfile")
    async def on_set_charging_profile(self, evse_id: int, charging_profile: dict[str, Any],
                                      **_: Any) -> call_result.SetChargingProfile:
        async with self.book.lock:
            try:
                if not self._enabled():
                    raise Refusal("NotEnabled", "SmartChargingCtrlr.Enabled is false")
                item = self._check(evse_id, charging_profile)
                if item.profile.purpose is Purpose.TX:
                    await self._check_transaction(item)
                if not await self.book.persist(item):
                    raise Refusal("InternalError", "the profile could not be stored")
            except Refusal as refusal:
                LOG.info("SetChargingProfile on EVSE %d rejected: %s", evse_id, refusal)
                return call_result.SetChargingProfile(status="Rejected",
                                                      status_info=refusal.status_info())
            self.book.install(item)
        return call_result.SetChargingProfile(status="Accepted")

    # -- GetChargingProfiles -> ReportChargingProfiles (K09)
    def _matching(self, evse_id: int | None, criteria: dict[str, Any]) -> list[Installed]:
        ids = criteria.get("charging_profile_id")
        purpose = criteria.get("charging_profile_purpose")
        stack_level = criteria.get("stack_level")
        sources = criteria.get("charging_limit_source")
        if sources is not None and SOURCE not in sources:
            return []
        return self.book.matching(evse_id, purpose, stack_level, ids=ids,
                                  wire=WIRE_PURPOSE.__getitem__)

    @on("GetChargingProfiles")
    def on_get_charging_profiles(self, request_id: int, charging_profile: dict[str, Any],
                                 evse_id: int | None = None,
                                 **_: Any) -> call_result.GetChargingProfiles:
        found = self._matching(evse_id, charging_profile)
        if not found:
            return call_result.GetChargingProfiles(status="NoProfiles")
        self._reports[request_id] = found  # for send_reports, right after the answer
        while len(self._reports) > MAX_PENDING_REPORTS:  # answers that never went out
            del self._reports[next(iter(self._reports))]
        return call_result.GetChargingProfiles(status="Accepted")

    @after("GetChargingProfiles")
    async def send_reports(self, request_id: int, **_: Any) -> None:
        found = self._reports.pop(request_id, [])
        running = await self._running_ids({i.profile.connector for i in found
                                           if i.profile.purpose is Purpose.TX})
        pages: list[tuple[int, list[dict[str, Any]]]] = []
        for evse in sorted({i.profile.connector for i in found}):
            mine = [self._reported(i, running) for i in found if i.profile.connector == evse]
            pages.extend((evse, mine[n:n + REPORT_PAGE])
                         for n in range(0, len(mine), REPORT_PAGE))
        for n, (evse, page) in enumerate(pages):
            payload = {"requestId": request_id, "chargingLimitSource": SOURCE,
                       "evseId": evse, "chargingProfile": page, "tbc": n < len(pages) - 1}
            try:
                await self._s.request("ReportChargingProfiles", payload)
            except Exception as exc:
                LOG.warning("ReportChargingProfiles %d of request %d not confirmed: %s", n,
                            request_id, exc)
                return

    async def _running_ids(self, evses: set[int]) -> dict[int, str]:
        """The transactionId running on each of ``evses`` (a remote start's TxProfile was
        installed before its transaction had one)."""
        store = self._s.port.store
        ids: dict[int, str] = {}
        for evse in evses:
            record = await asyncio.to_thread(store.open_transaction_on, evse)
            if record is not None and not record.stopped and record.csms_id is not None:
                ids[evse] = record.csms_id
        return ids

    @staticmethod
    def _reported(item: Installed, running: dict[int, str]) -> dict[str, Any]:
        data = dict(item.data)
        evse = item.profile.connector
        if item.profile.purpose is Purpose.TX and "transaction_id" not in data and evse in running:
            data["transaction_id"] = running[evse]
        return profile_to_wire(data)

    # -- ClearChargingProfile (K10)
    @on("ClearChargingProfile")
    async def on_clear_charging_profile(
            self, charging_profile_id: int | None = None,
            charging_profile_criteria: dict[str, Any] | None = None,
            **_: Any) -> call_result.ClearChargingProfile:
        criteria = charging_profile_criteria or {}
        matches = await self.book.clear(
            charging_profile_id, criteria.get("evse_id"),
            criteria.get("charging_profile_purpose"), criteria.get("stack_level"),
            wire=WIRE_PURPOSE.__getitem__)
        if not matches:
            return call_result.ClearChargingProfile(status="Unknown")
        LOG.info("charging profile(s) %s cleared", matches)
        return call_result.ClearChargingProfile(status="Accepted")

    # -- GetCompositeSchedule (K08)
    @on("GetCompositeSchedule")
    def on_get_composite_schedule(self, duration: int, evse_id: int,
                                  charging_rate_unit: str | None = None,
                                  **_: Any) -> call_result.GetCompositeSchedule:
        units = self._s.model.members("SmartChargingCtrlr.RateUnit")
        try:
            if not 0 <= evse_id <= self._s.port.connector_count:
                raise Refusal("UnknownEVSE", f"no EVSE {evse_id}")
            unit = charging_rate_unit or (units[0] if units else "A")
            if unit not in units:
                raise Refusal("UnsupportedRateUnit", f"{unit} not in RateUnit")
            composite = self.timer.schedule.composite_schedule(
                evse_id, self.wall_now(), min(duration, MAX_COMPOSITE_S), RateUnit(unit),
                transaction=self.book.running.get(evse_id))
        except (Refusal, ValueError) as exc:
            LOG.info("GetCompositeSchedule rejected: %s", exc)
            info = exc.status_info() if isinstance(exc, Refusal) else {
                "reason_code": "InvalidValue", "additional_info": str(exc)[:512]}
            return call_result.GetCompositeSchedule(status="Rejected", status_info=info)
        return call_result.GetCompositeSchedule(status="Accepted",
                                                schedule=composite_to_wire(composite))

    # -- RequestStartTransaction with a profile (F01, K05)
    def remote_profile_refusal(self, evse: int, data: dict[str, Any]) -> Refusal | None:
        """Why a RequestStartTransaction may not carry this profile (None: it may, or smart
        charging is disabled and the profile is ignored)."""
        if not self._enabled():
            return None
        if data.get("charging_profile_purpose") != "TxProfile":
            return Refusal("InvalidValue", "a RequestStartTransaction profile is a TxProfile")
        try:
            self._check(evse, {k: v for k, v in data.items() if k != "transaction_id"})
        except Refusal as refusal:
            return refusal
        return None

    def expect_remote_start(self, evse: int, id_token: str, data: dict[str, Any]) -> None:
        """Install ``data`` as the TxProfile of the transaction that starts on ``evse`` for
        ``id_token``."""
        if not self._enabled():
            return
        # It waits as long as the core waits for the EV, plus the time an authorization
        # may take; a start for this idToken after that is another one.
        wait_s = self._s.model.get_int("TxCtrlr.EVConnectionTimeOut") + REMOTE_START_GRACE_S
        profile = {k: v for k, v in plain(data).items() if k != "transaction_id"}
        self._remote[evse] = (id_token, profile, self._s.port.now() + wait_s)

    def _remote_profile(self, action: StartTransaction) -> Installed | None:
        """The profile of the RequestStartTransaction this transaction answers, if any."""
        remote = self._remote.pop(action.connector, None)
        if remote is None or remote[0] != action.id_tag or action.at > remote[2]:
            return None
        try:
            return self._check(action.connector, remote[1])
        except Refusal as refusal:
            LOG.warning("RequestStartTransaction profile not installed: %s", refusal)
            return None
