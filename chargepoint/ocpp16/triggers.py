"""TriggerMessage and ExtendedTriggerMessage follow-ups, coalesced.

A CSMS may trigger the same message hundreds of times a second. Each trigger is answered
Accepted, but at most one message per (message, connector) waits behind the one in flight
(``chargepoint.ocppj.follow_ups.TriggerFollowUps``, shared with 2.0.1). Both trigger
requests share one ``TriggerFollowUps`` (the adapter's), so they cannot be combined into a
storm either (docs/security.md, "The station's own CALLs").
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Protocol

from chargepoint.core.actions import ReportStatus

LOG = logging.getLogger("chargepoint.ocpp")


class MeterTrigger(Protocol):
    """TriggerMessage(MeterValues) (``sampler.Sampler``)."""

    async def trigger(self, connector: int | None) -> None: ...


class Triggerable(Protocol):
    """What ``send_shared`` uses of the adapter (``Ocpp16Adapter`` provides it)."""

    @property
    def registered(self) -> asyncio.Event: ...
    @property
    def sampler(self) -> MeterTrigger: ...

    async def trigger_boot(self) -> None: ...

    def wake_boot(self) -> None: ...

    async def heartbeat(self) -> None: ...

    def post_status(self, action: ReportStatus, triggered: bool = False) -> None: ...


def known_statuses(statuses: Mapping[int, ReportStatus], connector: int | None) -> list[int]:
    """The connectors whose status a trigger for ``connector`` (None: all) reports."""
    return [c for c in sorted(statuses) if connector is None or c == connector]


async def send_shared(adapter: Triggerable, statuses: Mapping[int, ReportStatus],
                      message: str, connector: int | None) -> bool:
    """Send ``message`` if it is one that TriggerMessage and ExtendedTriggerMessage share
    (BootNotification, Heartbeat, StatusNotification, MeterValues); False for any other."""
    if message == "BootNotification":
        if adapter.registered.is_set():
            await adapter.trigger_boot()
        else:
            adapter.wake_boot()
    elif message == "Heartbeat":
        try:
            await adapter.heartbeat()
        except Exception as exc:
            LOG.warning("triggered Heartbeat failed: %s", exc)
    elif message == "StatusNotification":
        for c in known_statuses(statuses, connector):
            adapter.post_status(statuses[c], triggered=True)
    elif message == "MeterValues":
        await adapter.sampler.trigger(connector)
    else:
        return False
    return True
