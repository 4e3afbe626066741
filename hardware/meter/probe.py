"""Technician probes: read a meter once, without the daemon.

``chargepoint meter probe`` and ``chargepoint meter models`` (the CLI, elsewhere) call
``probe`` / ``reading_json`` / ``list_models``; the JSON keys are the ones INTERFACE.md fixes.
"""

from __future__ import annotations

from typing import Any

from hardware.interfaces import MeterFault, MeterReading
from hardware.meter.driver import open_meter
from hardware.meter.regmap import list_models

__all__ = ["list_models", "probe", "reading_json"]


async def probe(
    port: str,
    model: str,
    unit: int = 1,
    baudrate: int | None = None,
    parity: str | None = None,
    timeout: float = 1.0,
) -> MeterReading | MeterFault:
    """Poll the meter once (with the driver's retries) and release the port.

    A meter that does not answer, or answers nonsense, is a ``MeterFault`` with the reason.
    Raises ``MapError`` for an unknown model and ``ValueError`` for bad settings.
    """
    meter = open_meter(
        port=port, model=model, unit=unit, baudrate=baudrate, parity=parity, timeout=timeout
    )
    try:
        return await meter.poll()
    finally:
        await meter.bus.close()


def reading_json(reading: MeterReading) -> dict[str, Any]:
    """The INTERFACE.md JSON document of a reading: Wh, W, V, A, Hz; lists per phase.

    ``energy_export_wh`` is an addition (null when the meter does not count export).
    """
    return {
        "energy_wh": reading.energy_import_wh,
        "energy_export_wh": reading.energy_export_wh,
        "power_w": reading.power_w,
        "voltage_v": list(reading.voltage_v),
        "current_a": list(reading.current_a),
        "power_w_phases": list(reading.power_w_phases),
        "frequency_hz": reading.frequency_hz,
    }
