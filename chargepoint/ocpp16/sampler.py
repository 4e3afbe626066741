"""Meter values for the OCPP 1.6 adapter (sections 3.16, 9.1.8 / 9.1.17 / 9.1.21).

- Per transaction: a sampler task sends MeterValuesSampledData every
  MeterValueSampleInterval seconds (0: none) through the durable queue (context
  Sample.Periodic) and collects StopTxnSampledData for StopTransaction's transactionData.
  ``open(connector)`` when the core starts a transaction (returns the future the persist
  worker resolves with the local id), ``close(connector, at)`` when it stops (returns the
  transactionData). ``reconfigure()`` re-arms every timer after a configuration change.
- ``run_aligned()``: at every ClockAlignedDataInterval boundary of the wall clock
  (MeterValuesAlignedData, Sample.Clock) for every connector, from a reading taken then
  (``StationPort.fresh_meter_reading``: an idle meter is otherwise read slowly): durable
  with the transaction's id while one runs, else sent once when registered.
- ``can_trigger`` / ``trigger`` for TriggerMessage(MeterValues) (context Trigger).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, Protocol

from chargepoint.ocpp16.config_keys import Configuration
from chargepoint.ocpp16.metering import (
    TransactionData,
    build_meter_value,
    meter_values_request,
    next_aligned,
)
from chargepoint.ocppj.supervise import FailureLog
from chargepoint.ocppj.timestamps import Clock, format_utc
from chargepoint.ports import StationPort
from chargepoint.store.api import StoreAPI

LOG = logging.getLogger("chargepoint.ocpp.meter")


@dataclass
class _Session:
    local_id: asyncio.Future[int]
    data: TransactionData = field(default_factory=TransactionData)
    task: asyncio.Task[None] | None = None


class MeterValuesQueue(Protocol):
    """Where a transaction's MeterValues go (``transactions.Transactions``)."""

    def enqueue_meter_values(self, local_id: int, payload: dict[str, Any]) -> None: ...


class SamplerServices(Protocol):
    """What the ``Sampler`` uses of the adapter (``Ocpp16Adapter`` provides it)."""

    @property
    def port(self) -> StationPort: ...
    @property
    def store(self) -> StoreAPI: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def config(self) -> Configuration: ...
    @property
    def failures(self) -> FailureLog: ...
    @property
    def transactions(self) -> MeterValuesQueue: ...

    def spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]: ...

    async def send_when_registered(self, action: str, payload: dict[str, Any]) -> None: ...


class Sampler:
    def __init__(self, services: SamplerServices) -> None:
        self._services = services
        self._sessions: dict[int, _Session] = {}
        self._aligned_wake = asyncio.Event()

    # -- per transaction
    def open(self, connector: int) -> asyncio.Future[int]:
        """A transaction starts on ``connector`` (called from ``perform``)."""
        old = self._sessions.pop(connector, None)
        if old is not None and old.task is not None:
            old.task.cancel()
        session = _Session(asyncio.get_running_loop().create_future())
        self._sessions[connector] = session
        session.data.add(self._value(connector, "StopTxnSampledData", "Transaction.Begin"))
        self._arm(connector, session)
        return session.local_id

    def close(self, connector: int, at: float) -> list[dict[str, Any]]:
        """The transaction on ``connector`` stops: its transactionData (may be empty)."""
        session = self._sessions.pop(connector, None)
        if session is None:
            return []
        if session.task is not None:
            session.task.cancel()
        session.data.add(self._value(connector, "StopTxnSampledData", "Transaction.End", at))
        return session.data.values()

    def reconfigure(self) -> None:
        """MeterValueSampleInterval / ClockAlignedDataInterval changed: re-arm the timers."""
        for connector, session in self._sessions.items():
            if session.task is not None:
                session.task.cancel()
            self._arm(connector, session)
        self._aligned_wake.set()

    def _arm(self, connector: int, session: _Session) -> None:
        interval = self._int("MeterValueSampleInterval")
        session.task = None
        if interval > 0:
            session.task = self._services.spawn(self._periodic(connector, session, interval))

    async def _periodic(self, connector: int, session: _Session, interval: int) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        # shielded: cancelling this task (a stop, a re-arm) must not cancel the future the
        # persist worker resolves once the StartTransaction is in the store
        local_id = await asyncio.shield(session.local_id)
        while True:
            due += interval
            await asyncio.sleep(max(0.0, due - loop.time()))
            try:
                value = self._value(connector, "MeterValuesSampledData", "Sample.Periodic")
                if value is None:
                    continue
                session.data.add(self._value(connector, "StopTxnSampledData",
                                             "Sample.Periodic"))
                self._services.transactions.enqueue_meter_values(
                    local_id, meter_values_request(connector, [value]))
            except Exception as exc:  # one bad sample must not end the session's sampling
                self._services.failures.failed(f"meter sampling on connector {connector}", exc)

    # -- clock-aligned
    async def run_aligned(self) -> None:
        while True:
            self._aligned_wake.clear()
            interval = self._int("ClockAlignedDataInterval")
            wall = self._services.clock.wall_now()
            if interval <= 0 or wall is None:
                await self._wait(60.0 if wall is None else None)
                continue
            boundary = next_aligned(wall, interval)
            if await self._wait((boundary - wall).total_seconds()):
                continue  # reconfigured: compute the boundary again
            await self._fresh(self._connectors(None))  # an idle meter is read now
            self._aligned(format_utc(boundary))

    async def _wait(self, timeout: float | None) -> bool:
        """Wait for a reconfiguration (True) or the timeout (False)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._aligned_wake.wait(), timeout)
            return True
        return False

    def _aligned(self, stamp: str) -> None:
        for connector in range(1, self._services.port.connector_count + 1):
            value = self._value(connector, "MeterValuesAlignedData", "Sample.Clock", stamp=stamp)
            if value is None:
                continue
            session = self._sessions.get(connector)
            if session is not None and session.local_id.done() and not (
                    session.local_id.cancelled() or session.local_id.exception()):
                session.data.add(self._value(connector, "StopTxnAlignedData", "Sample.Clock",
                                             stamp=stamp))
                self._services.transactions.enqueue_meter_values(
                    session.local_id.result(), meter_values_request(connector, [value]))
            else:
                self._services.spawn(self._services.send_when_registered(
                    "MeterValues", meter_values_request(connector, [value])))

    # -- TriggerMessage
    def _connectors(self, connector: int | None) -> list[int]:
        if connector:
            return [connector]
        return list(range(1, self._services.port.connector_count + 1))

    def can_trigger(self, connector: int | None) -> bool:
        return any(self._services.port.meter_reading(c) is not None
                   for c in self._connectors(connector))

    async def trigger(self, connector: int | None) -> None:
        await self._fresh(self._connectors(connector))
        for c in self._connectors(connector):
            value = self._value(c, "MeterValuesSampledData", "Trigger")
            if value is None:
                continue
            tx_id = None
            record = await asyncio.to_thread(self._services.store.open_transaction_on, c)
            if record is not None and record.csms_id is not None:
                tx_id = int(record.csms_id)  # 1.6: an integer on the wire
            await self._services.send_when_registered(
                "MeterValues", meter_values_request(c, [value], tx_id))

    # -- helpers
    async def _fresh(self, connectors: list[int]) -> None:
        """Readings of ``connectors`` as of now (an idle meter is read slowly otherwise)."""
        port = self._services.port
        await asyncio.gather(*(port.fresh_meter_reading(c) for c in connectors))

    def _int(self, key: str) -> int:
        try:
            return self._services.config.get_int(key)
        except KeyError:
            return 0

    def _value(self, connector: int, key: str, context: str, at: float | None = None,
               stamp: str | None = None) -> dict[str, Any] | None:
        try:
            measurands = self._services.config.get_csl(key)
        except KeyError:
            return None
        if not measurands:
            return None
        port = self._services.port
        return build_meter_value(port.meter_reading(connector), measurands=measurands,
                                 context=context,
                                 timestamp=stamp or self._services.clock.stamp(at),
                                 offered_a=self._offered(connector))

    def _offered(self, connector: int) -> float:
        """Current.Offered: what the pilot offers, 0 A while PWM is off (e.g. a charging
        limit below 6 A: SuspendedEVSE)."""
        offered = self._services.port.offered_current(connector)
        return 0.0 if offered is None else offered
