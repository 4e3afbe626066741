"""TriggerMessage (F06): the CSMS asks the station to send one of its messages now.

``Triggers(services)`` is a handler object for ``Ocpp201Client``. The answer (F06.FR.04: sent
before the message itself, which goes from the ``@after`` hook):

- BootNotification: Accepted while the boot is not (yet) Accepted (Pending / Rejected): the
  boot loop sends the next one at once with reason Triggered; Rejected once Accepted
  (F06.FR.17).
- Heartbeat: Accepted; one Heartbeat.
- StatusNotification: needs ``evse`` with ``connectorId`` (F06.FR.12: Rejected without);
  Accepted for a known EVSE / connector 1: its current status.
- MeterValues: Accepted when the meter of the EVSE named (all EVSEs without ``evse``) has a
  reading: one MeterValuesRequest per EVSE with every quantity the meter reads (energy, power,
  current and voltage per phase), context Trigger (F06.FR.03, F06.FR.06); else Rejected.
- TransactionEvent: Accepted when a transaction runs on the EVSE named (any EVSE without
  ``evse``): an Updated with triggerReason Trigger for each (F06.FR.07); else Rejected.
- LogStatusNotification, FirmwareStatusNotification, SignChargingStationCertificate and the
  other messages of other blocks: through ``TriggerHooks`` (``register(message, send,
  accepts)``): Accepted when a hook is registered (and its ``accepts(evse_id)`` says so, else
  Rejected), NotImplemented when none is.
- An ``evse`` the station does not have (id outside 1..N, connectorId other than 1): Rejected.

Coalesced: at most one follow-up per (message, EVSE) waits behind the one in flight
(``ocppj.follow_ups.TriggerFollowUps``), a triggered StatusNotification is not queued while
one for its EVSE waits, and a triggered TransactionEvent is not queued while an earlier
triggered one of the transaction is still unconfirmed: a TriggerMessage storm is answered
but never queues more than a few messages.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from ocpp.v201 import call_result  # type: ignore[import-untyped]

from chargepoint.core.actions import ReportStatus
from chargepoint.ocpp201.client import on
from chargepoint.ocpp201.handlers import after
from chargepoint.ocpp201.services import AdapterServices
from chargepoint.ocpp201.transactions import Transactions, sampled_values
from chargepoint.ocppj.follow_ups import TriggerFollowUps
from chargepoint.ocppj.rpc_errors import CallFailed
from chargepoint.ocppj.timestamps import Clock, ClockUnknown, format_utc

LOG = logging.getLogger("chargepoint.ocpp")

TriggerSend = Callable[[], Awaitable[None]]
TriggerAccepts = Callable[[int | None], bool]

# Messages other blocks answer through ``TriggerHooks``; the rest are built in here.
HOOKED = frozenset({"LogStatusNotification", "FirmwareStatusNotification",
                    "PublishFirmwareStatusNotification", "SignChargingStationCertificate",
                    "SignV2GCertificate", "SignCombinedCertificate"})
METER_MEASURANDS = ["Power.Active.Import", "Current.Import", "Voltage"]  # energy always
_PLANS_KEPT = 1024  # answered triggers whose follow-up has not started yet


@dataclass(frozen=True, slots=True)
class _Hook:
    send: TriggerSend
    accepts: TriggerAccepts


class TriggerHooks:
    """The follow-ups of the triggerable messages other blocks own (``HOOKED``).

    ``register(message, send, accepts=None)``: ``send()`` sends ``message`` (it is called
    after the TriggerMessageResponse Accepted, at most one waiting behind one in flight);
    ``accepts(evse_id)`` (default: always) decides Accepted / Rejected."""

    def __init__(self) -> None:
        self._hooks: dict[str, _Hook] = {}

    def register(self, message: str, send: TriggerSend,
                 accepts: TriggerAccepts | None = None) -> None:
        if message not in HOOKED:
            raise ValueError(f"{message} is not a hooked trigger (one of {sorted(HOOKED)})")
        self._hooks[message] = _Hook(send, accepts or (lambda _evse: True))

    def get(self, message: str) -> _Hook | None:
        return self._hooks.get(message)


class TriggerServices(AdapterServices, Protocol):
    """What ``Triggers`` uses of the adapter (``Ocpp201Adapter``)."""

    @property
    def transactions(self) -> Transactions: ...
    @property
    def registration(self) -> str: ...
    @property
    def trigger_hooks(self) -> TriggerHooks: ...

    async def heartbeat(self) -> None: ...

    def post_status(self, action: ReportStatus, triggered: bool = False) -> None: ...

    def trigger_boot(self) -> None: ...


def now_stamp(clock: Clock) -> str:
    """Now as a 2.0.1 timestamp (the system clock while the CSMS's is not known)."""
    try:
        return clock.resolve(clock.stamp())
    except (ClockUnknown, ValueError):
        return format_utc(datetime.now(UTC))


class Triggers:
    def __init__(self, services: TriggerServices) -> None:
        self._s = services
        self._follow_ups = TriggerFollowUps()
        self._plans: dict[str, Callable[[], Awaitable[None]]] = {}  # call id -> follow-up
        self._statuses: dict[int, ReportStatus] = {}  # EVSE -> its latest status
        services.port.observe(self._seen)

    def _seen(self, item: object) -> None:
        if isinstance(item, ReportStatus) and item.connector > 0:
            self._statuses[item.connector] = item

    def idle(self) -> bool:
        """No triggered message waits or is in flight."""
        return self._follow_ups.idle() and not self._plans

    @on("TriggerMessage")
    def on_trigger(self, requested_message: str, evse: dict[str, Any] | None = None,
                   call_unique_id: str = "", **_: Any) -> call_result.TriggerMessage:
        status, plan = self._decide(requested_message, evse)
        if plan is not None:
            if len(self._plans) >= _PLANS_KEPT:  # answers that never went out (link lost)
                self._plans.pop(next(iter(self._plans)))
            self._plans[call_unique_id] = plan
        return call_result.TriggerMessage(status=status)

    @after("TriggerMessage")
    def after_trigger(self, requested_message: str, evse: dict[str, Any] | None = None,
                      call_unique_id: str = "", **_: Any) -> None:
        plan = self._plans.pop(call_unique_id, None)
        if plan is not None:
            key = (requested_message, evse.get("id") if evse else None)
            self._s.spawn(self._follow_ups.run(key, plan))

    # -- the answer and what follows it
    def _decide(self, message: str, evse: dict[str, Any] | None
                ) -> tuple[str, Callable[[], Awaitable[None]] | None]:
        evse_id = int(evse["id"]) if evse else None
        if evse is not None and (not 1 <= int(evse["id"]) <= self._s.port.connector_count
                                 or evse.get("connector_id", 1) != 1):
            return "Rejected", None
        if message in HOOKED:
            hook = self._s.trigger_hooks.get(message)
            if hook is None:
                return "NotImplemented", None
            return ("Accepted", lambda: self._guarded(message, hook.send())) \
                if hook.accepts(evse_id) else ("Rejected", None)
        if message == "BootNotification":
            if self._s.registration == "Accepted":
                return "Rejected", None  # F06.FR.17
            return "Accepted", self._boot
        if message == "Heartbeat":
            return "Accepted", self._heartbeat
        evses = [evse_id] if evse_id is not None else list(
            range(1, self._s.port.connector_count + 1))
        if message == "StatusNotification":
            if evse is None or "connector_id" not in evse or evse_id not in self._statuses:
                return "Rejected", None  # F06.FR.12
            return "Accepted", lambda: self._status(evses[0])
        if message == "MeterValues":
            read = [e for e in evses if self._s.port.meter_reading(e) is not None]
            return ("Accepted", lambda: self._meter_values(read)) if read else ("Rejected", None)
        if message == "TransactionEvent":
            running = [e for e in evses if self._s.transactions.running(e)]
            return ("Accepted", lambda: self._transaction_events(running)) \
                if running else ("Rejected", None)
        return "NotImplemented", None

    async def _guarded(self, message: str, sending: Awaitable[Any]) -> None:
        try:
            await sending
        except (ConnectionError, CallFailed, TimeoutError) as exc:
            LOG.warning("triggered %s not sent: %s", message, exc)

    async def _boot(self) -> None:
        self._s.trigger_boot()

    async def _heartbeat(self) -> None:
        """A Heartbeat; while Pending too (a triggered message may be sent then, B02)."""
        if self._s.registered.is_set():
            await self._guarded("Heartbeat", self._s.heartbeat())
        else:
            await self._guarded("Heartbeat", self._s.request("Heartbeat", {}))

    async def _status(self, evse_id: int) -> None:
        status = self._statuses.get(evse_id)
        if status is not None:
            self._s.post_status(status, triggered=True)

    async def _meter_values(self, evses: list[int]) -> None:
        for evse_id in evses:
            port = self._s.port  # a reading as of now: an idle meter is otherwise read slowly
            reading = await port.fresh_meter_reading(evse_id) or port.meter_reading(evse_id)
            if reading is None:
                continue
            stamp = now_stamp(self._s.clock)
            values = sampled_values(reading, None, "Trigger", METER_MEASURANDS)
            await self._guarded("MeterValues", self._s.request("MeterValues", {
                "evseId": evse_id,
                "meterValue": [{"timestamp": stamp, "sampledValue": values}]}))

    async def _transaction_events(self, evses: list[int]) -> None:
        for evse_id in evses:
            await self._s.transactions.trigger_update(evse_id)
