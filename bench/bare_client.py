"""The baseline: a bare OCPP 1.6J charge point written with the ``ocpp`` library only.

It boots, heartbeats at the interval the CSMS gives, and answers GetConfiguration and
DataTransfer; no hardware, no store, no core. This is the smallest program that looks like a
charge point to a CSMS, so its footprint and latency are the floor ours is compared with.

Run: ``python -m bench.bare_client URL STATION_ID`` (stops on SIGTERM / SIGINT).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from typing import Any

import websockets
from ocpp.routing import on  # type: ignore[import-untyped]
from ocpp.v16 import ChargePoint, call, call_result  # type: ignore[import-untyped]
from ocpp.v16.enums import RegistrationStatus  # type: ignore[import-untyped]


class BareChargePoint(ChargePoint):  # type: ignore[misc]  # the library is untyped
    @on("GetConfiguration")  # type: ignore[untyped-decorator]
    def on_get_configuration(self, **_: Any) -> Any:
        return call_result.GetConfiguration(
            configuration_key=[{"key": "HeartbeatInterval", "readonly": False,
                                "value": str(self.interval)}])

    @on("DataTransfer")  # type: ignore[untyped-decorator]
    def on_data_transfer(self, **_: Any) -> Any:
        return call_result.DataTransfer(status="UnknownVendorId")

    interval = 300

    async def boot_and_heartbeat(self) -> None:
        while True:
            result = await self.call(call.BootNotification(
                charge_point_vendor="Bare", charge_point_model="Baseline"))
            if result.status == RegistrationStatus.accepted:
                break
            await asyncio.sleep(result.interval or 10)
        self.interval = result.interval or 300
        while True:
            await asyncio.sleep(self.interval)
            await self.call(call.Heartbeat())


async def main(url: str, station_id: str) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with websockets.connect(f"{url.rstrip('/')}/{station_id}",
                                  subprotocols=["ocpp1.6"]) as ws:  # type: ignore[list-item]
        cp = BareChargePoint(station_id, ws)
        tasks = [asyncio.create_task(cp.start()), asyncio.create_task(cp.boot_and_heartbeat())]
        waiter = asyncio.create_task(stop.wait())
        await asyncio.wait([*tasks, waiter], return_when=asyncio.FIRST_COMPLETED)
        for task in [*tasks, waiter]:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main(sys.argv[1], sys.argv[2]))
