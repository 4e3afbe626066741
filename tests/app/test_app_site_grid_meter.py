"""The [site] grid meter poller: readings, faults, a map without phase currents, an unusable
meter, and sharing the connector meters' RS-485 bus."""

from __future__ import annotations

from chargepoint.config.model import MeterConfig
from chargepoint.site.grid_meter import GridMeter, UnusableMeter, open_grid_meter
from hardware.interfaces import MeterFault, MeterReading
from hardware.meter import open_meter


class FakeMeter:
    def __init__(self, *results: MeterReading | MeterFault | Exception) -> None:
        self.results = list(results)

    @property
    def model(self) -> str:
        return "fake"

    @property
    def requests_per_poll(self) -> int:
        return 1

    async def poll(self) -> MeterReading | MeterFault:
        result = self.results.pop(0)
        if isinstance(result, Exception):
            raise result
        return result


async def test_readings_faults_and_recovery() -> None:
    grid = GridMeter(FakeMeter(MeterReading(1.0, current_a=[10.0, 11.0, 12.0]),
                               MeterFault("timeout"), OSError("port gone"),
                               MeterReading(1.0, current_a=[]),
                               MeterReading(1.0, current_a=[3.0, 2.0, 1.0])))
    assert await grid.read() == (10.0, 11.0, 12.0) and grid.reason is None
    assert await grid.read() is None and grid.reason == "timeout"
    assert await grid.read() is None and "port gone" in (grid.reason or "")
    assert await grid.read() is None and "phase currents" in (grid.reason or "")
    assert await grid.read() == (3.0, 2.0, 1.0) and grid.reason is None


async def test_an_unusable_meter_never_reads() -> None:
    grid = GridMeter(UnusableMeter("no grid meter: unknown model"))
    assert await grid.read() is None
    assert grid.reason == "no grid meter: unknown model"


def test_on_a_connector_meter_port_it_joins_that_bus() -> None:
    connector = open_meter(port="/dev/ttyUSB7", model="sdm630", unit=1)
    shared = open_grid_meter(MeterConfig(port="/dev/ttyUSB7", model="sdm72", unit=10),
                             [None, connector])
    assert shared.meter.bus is connector.bus  # type: ignore[attr-defined]
    alone = open_grid_meter(MeterConfig(port="/dev/ttyUSB8", unit=10), [connector])
    assert alone.meter.bus is not connector.bus  # type: ignore[attr-defined]
