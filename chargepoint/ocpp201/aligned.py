"""Clock-aligned meter values (J01, J02): at every ``AlignedDataCtrlr.Interval`` boundary of
the wall clock (from midnight UTC, ``ocppj.measurands.next_aligned``) each EVSE reports
``AlignedDataCtrlr.Measurands`` (context Sample.Clock): inside a transaction as a
TransactionEvent Updated (triggerReason MeterValueClock, durable, ``Transactions.clock_sample``),
outside one as a MeterValuesRequest, sent while registered (J01: not queued offline; a
boundary passed offline is lost). At every ``AlignedDataCtrlr.TxEndedInterval`` boundary a
transaction keeps ``AlignedDataCtrlr.TxEndedMeasurands`` for its Ended. 0: off. Nothing is
sampled while the wall clock is unknown. ``AlignedDataCtrlr.SendDuringIdle`` true: no
Interval sample at all while a transaction runs on any EVSE (the TxEnded samples go on).
Every boundary's values come from readings taken then (``StationPort.fresh_meter_reading``:
an idle meter is otherwise read only every ``idle_poll_interval_s``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Protocol

from chargepoint.ocpp201.meter_values import meter_value, meter_values_request
from chargepoint.ocpp201.services import AdapterServices
from chargepoint.ocppj.measurands import next_aligned
from chargepoint.ocppj.rpc_errors import CallFailed
from chargepoint.ocppj.timestamps import format_utc

LOG = logging.getLogger("chargepoint.ocpp.meter")


class ClockSamples(Protocol):
    """Where a boundary inside a transaction goes (``transactions.Transactions``)."""

    def clock_sample(self, connector: int, stamp: str) -> bool: ...
    def clock_ended_sample(self, connector: int, stamp: str) -> None: ...
    def running(self, connector: int) -> bool: ...


class AlignedServices(AdapterServices, Protocol):
    """What ``AlignedSampler`` uses of the adapter."""


class AlignedSampler:
    def __init__(self, services: AlignedServices, transactions: ClockSamples) -> None:
        self._s = services
        self._transactions = transactions
        self._wake = asyncio.Event()

    def interval_changed(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Forever: wait for the next boundary of either interval, then sample."""
        while True:
            self._wake.clear()
            wall = self._s.clock.wall_now()
            intervals = {key: self._s.model.get_int(key) for key in
                         ("AlignedDataCtrlr.Interval", "AlignedDataCtrlr.TxEndedInterval")}
            if wall is None or not any(v > 0 for v in intervals.values()):
                await self._wait(60.0 if wall is None else None)
                continue
            due = {key: next_aligned(wall, v) for key, v in intervals.items() if v > 0}
            boundary = min(due.values())
            if await self._wait((boundary - wall).total_seconds()):
                continue  # reconfigured: compute the boundaries again
            stamp = format_utc(boundary)
            connectors = range(1, self._s.port.connector_count + 1)
            # readings as of the boundary: an idle meter is otherwise read slowly
            await asyncio.gather(*(self._s.port.fresh_meter_reading(c) for c in connectors))
            idle_only = self._s.model.get_bool("AlignedDataCtrlr.SendDuringIdle") and any(
                self._transactions.running(c) for c in connectors)
            for connector in connectors:
                if due.get("AlignedDataCtrlr.TxEndedInterval") == boundary:
                    self._transactions.clock_ended_sample(connector, stamp)
                if due.get("AlignedDataCtrlr.Interval") == boundary and not idle_only:
                    self._sample(connector, stamp)

    async def _wait(self, timeout: float | None) -> bool:
        """Wait for a reconfiguration (True) or the timeout (False)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)
            return True
        return False

    def _sample(self, connector: int, stamp: str) -> None:
        if self._transactions.clock_sample(connector, stamp):
            return
        port = self._s.port
        value = meter_value(port.meter_reading(connector),
                            self._s.model.members("AlignedDataCtrlr.Measurands"),
                            "Sample.Clock", stamp, port.offered_current(connector))
        if value is None or not self._s.registered.is_set():
            return
        self._s.spawn(self._send(meter_values_request(connector, [value])))

    async def _send(self, payload: dict[str, Any]) -> None:
        try:
            await self._s.request("MeterValues", payload)
        except (ConnectionError, CallFailed, TimeoutError) as exc:
            LOG.warning("MeterValues of EVSE %s not sent: %s", payload["evseId"], exc)
