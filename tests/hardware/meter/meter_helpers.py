"""Shared helpers: a VirtualMeter on a pty and meters on it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from hardware.meter import ModbusMeter, RtuBus, open_meter
from hardware.sim.virtual_meter import VirtualMeter

FAST_TIMEOUT = 0.2  # s: a silent meter costs (retries + 1) of these per block


@asynccontextmanager
async def virtual_bus(
    units: dict[int, str], **kwargs: float | None
) -> AsyncIterator[tuple[VirtualMeter, RtuBus]]:
    """Start a VirtualMeter and an RtuBus on its tty; stop both afterwards."""
    vm = VirtualMeter(units, **kwargs)  # type: ignore[arg-type]
    path = await vm.start()
    bus = RtuBus(path, baudrate=9600, timeout=FAST_TIMEOUT)
    try:
        yield vm, bus
    finally:
        await bus.close()
        await vm.stop()


def meter_on(bus: RtuBus, model: str, unit: int = 1, retries: int = 1) -> ModbusMeter:
    return open_meter(port=bus.port, model=model, unit=unit, bus=bus, retries=retries)
