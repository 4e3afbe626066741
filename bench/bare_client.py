"""The baseline: a bare OCPP charge point written with the ``ocpp`` library only.

It boots, heartbeats at the interval the CSMS gives, and answers the bench's requests: under
1.6 (``ocpp.v16``) GetConfiguration and DataTransfer, under 2.0.1 (``ocpp.v201``, subprotocol
``ocpp2.0.1``) GetVariables (``VARIABLES_201``; any other item UnknownComponent) and
DataTransfer (UnknownVendorId); no hardware, no store, no core. This is the smallest program
that looks like a charge point to a CSMS, so its footprint and latency are the floor ours is
compared with.

Run: ``python -m bench.bare_client URL STATION_ID [1.6|2.0.1]`` (default 1.6; stops on
SIGTERM / SIGINT).
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
from ocpp.v201 import ChargePoint as ChargePoint201  # type: ignore[import-untyped]
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as call_result201

# 2.0.1 GetVariables: (component, evse id or None, variable) -> value; "?" the interval
VARIABLES_201: dict[tuple[str, int | None, str], str] = {
    ("OCPPCommCtrlr", None, "HeartbeatInterval"): "?",
    ("EVSE", 1, "AvailabilityState"): "Available",
}


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


class BareChargePoint201(ChargePoint201):  # type: ignore[misc]  # the library is untyped
    interval = 300

    @on("GetVariables")  # type: ignore[untyped-decorator]
    def on_get_variables(self, get_variable_data: list[dict[str, Any]], **_: Any) -> Any:
        results = []
        for item in get_variable_data:
            component, variable = item["component"], item["variable"]
            evse = component.get("evse", {}).get("id")
            value = VARIABLES_201.get((component["name"], evse, variable["name"]))
            result: dict[str, Any] = {"component": component, "variable": variable,
                                      "attribute_status": "Accepted"
                                      if value is not None else "UnknownComponent"}
            if value is not None:
                result["attribute_value"] = str(self.interval) if value == "?" else value
            results.append(result)
        return call_result201.GetVariables(get_variable_result=results)

    @on("DataTransfer")  # type: ignore[untyped-decorator]
    def on_data_transfer(self, **_: Any) -> Any:
        return call_result201.DataTransfer(status="UnknownVendorId")

    async def boot_and_heartbeat(self) -> None:
        while True:
            result = await self.call(call201.BootNotification(
                charging_station={"vendor_name": "Bare", "model": "Baseline"},
                reason="PowerUp"))
            if result.status == "Accepted":
                break
            await asyncio.sleep(result.interval or 10)
        self.interval = result.interval or 300
        while True:
            await asyncio.sleep(self.interval)
            await self.call(call201.Heartbeat())


async def main(url: str, station_id: str, version: str = "1.6") -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    kind = BareChargePoint201 if version == "2.0.1" else BareChargePoint
    async with websockets.connect(f"{url.rstrip('/')}/{station_id}",
                                  subprotocols=[f"ocpp{version}"]) as ws:  # type: ignore[list-item]
        cp = kind(station_id, ws)
        tasks = [asyncio.create_task(cp.start()), asyncio.create_task(cp.boot_and_heartbeat())]
        waiter = asyncio.create_task(stop.wait())
        await asyncio.wait([*tasks, waiter], return_when=asyncio.FIRST_COMPLETED)
        for task in [*tasks, waiter]:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main(*sys.argv[1:4]))
