"""Shared fixtures for tests/app: short socket paths and a fake control target."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chargepoint.control import Refused


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A directory with a short path (AF_UNIX paths are limited to 107 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="cp", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


class FakeTarget:
    """A ControlTarget recording its calls; ``refuse`` makes every operation refuse."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.refuse: str | None = None
        self.delay = 0.0
        self.big = 0  # bytes of padding in status()
        self.card: dict[str, Any] | None = {"uid": "04A1B2C3", "type": "ISO14443A"}
        self.release = asyncio.Event()
        self.journald = False  # what logs answers: does the "daemon" log to the journal

    async def _call(self, name: str, *args: Any) -> None:
        self.calls.append((name, args))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.refuse:
            raise Refused(self.refuse)

    async def status(self) -> dict[str, Any]:
        await self._call("status")
        doc: dict[str, Any] = {
            "station": {"id": "CP-1", "firmware": "0.1.0"},
            "ocpp": {"version": "1.6", "connected": True, "registration": "Accepted",
                     "queued": 2},
            "connectors": [{
                "id": 1, "status": "Charging", "pilot": "C", "contactor": "closed",
                "lock": "locked", "limit_a": 16.0, "energy_wh": 1234, "power_w": 11040,
                "faults": [], "transaction": {"id": 17, "id_tag": "04A1B2C3",
                                              "meter_start_wh": 1000}}],
        }
        if self.big:
            doc["pad"] = "x" * self.big
        return doc

    async def meter(self) -> dict[str, Any]:
        await self._call("meter")
        return {"connectors": [{"id": 1, "energy_wh": 1234.5, "power_w": 11040.0,
                                "voltage_v": [230.0, 231.0, 229.5],
                                "current_a": [16.0, 16.1, 15.9], "frequency_hz": 50.0}]}

    async def fault_clear(self, connector: int) -> str:
        await self._call("fault_clear", connector)
        return f"connector {connector}: faults cleared"

    async def relay(self, connector: int, which: str, op: str) -> str:
        await self._call("relay", connector, which, op)
        return f"connector {connector}: {which} {op} ok"

    async def selftest(self) -> dict[str, Any]:
        await self._call("selftest")
        return {"ok": False, "parts": [{"part": "meter", "ok": True, "detail": "sdm630"},
                                       {"part": "rfid", "ok": False, "detail": "no reader"}]}

    async def rfid_read(self, timeout_s: float) -> dict[str, Any] | None:
        await self._call("rfid_read", timeout_s)
        return self.card

    async def ocpp_ping(self) -> float:
        await self._call("ocpp_ping")
        return 0.012

    async def sim(self, command: str, args: dict[str, Any]) -> dict[str, Any]:
        await self._call("sim", command, args)
        return {"done": command}

    async def commission(self, op: str, args: dict[str, Any]) -> Any:
        await self._call("commission", op, args)
        return {"station": {"id": "CP-1", "simulated": True}, "connectors": [1],
                "reader": True, "clock": {"known": True, "offset_s": 0.0}}

    async def logs(self, since: str | None, query: Any = None) -> Any:
        if query is None:
            await self._call("logs", since)
            return ["line one", "line two"]
        await self._call("logs", since, query)
        records = [{"seq": n, "time": f"2026-01-01T12:00:0{n}.000+00:00", "level": "INFO",
                    "logger": "chargepoint.test", "connector": 1, "transaction_id": None,
                    "message": text} for n, text in ((1, "line one"), (2, "line two"))]
        return {"records": records[-query.limit:] if query.limit else records, "next": 2,
                "journald": self.journald, "file": None}


@pytest.fixture
def target() -> FakeTarget:
    return FakeTarget()
