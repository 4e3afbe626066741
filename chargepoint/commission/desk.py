"""The daemon's side of ``chargepoint commission`` (control command ``commission``).

Ops (``args`` of each):

- ``info`` -> station identity for the report: id, firmware, ``config_sha256`` (of the loaded
  config with secrets redacted: the hash identifies a configuration without revealing a
  password), whether the bench is simulated, the CSMS clock against the system clock;
- ``probe`` (``connector``) -> the raw readings of one connector's safety parts as the island
  last reported them: pilot state and levels, diode check, PWM, PP cable rating, contactor and
  lock commanded/feedback, RCD. Reads only;
- ``save`` (``report``) -> checks the document, stamps the station's own identity on it and
  writes it to ``<state dir>/commissioning/`` (``report.ReportStore``);
- ``latest`` -> ``{"report", "markdown", "path"}`` of the newest report, or null.

Nothing here switches anything: the walk itself drives the station through the ordinary
commands (``relay`` behind its own interlock, sessions through the core).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chargepoint import __version__
from chargepoint.commission.report import ReportError, ReportStore, check_report
from chargepoint.config import Config
from chargepoint.diagnostics.redact import redact_config
from hardware.interfaces import StationHardware

REPORT_DIR = "commissioning"


class DeskError(ValueError):
    """A request the desk refuses (``str()`` is the one-line reason)."""


def state_dir(config: Config) -> Path:
    """Where the station keeps its state (the store's directory)."""
    return Path(config.storage.path).resolve().parent


def config_sha256(config: Config) -> str:
    """SHA-256 of the loaded config (secrets redacted), canonical JSON."""
    data = redact_config(dataclasses.asdict(config))
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def report_store(config: Config) -> ReportStore:
    return ReportStore(state_dir(config) / REPORT_DIR)


def latest_report(config: Config) -> dict[str, Any] | None:
    """The newest report document (blocking), for diagnostics bundles; None if none."""
    found = report_store(config).latest()
    return None if found is None else found[0]


class CommissionDesk:
    """Answers the ``commission`` control command for one running station."""

    def __init__(self, config: Config, hardware: StationHardware, *, simulated: bool,
                 clock: Callable[[], datetime | None]) -> None:
        self._config = config
        self._hardware = hardware
        self._simulated = simulated
        self._clock = clock
        self._store = report_store(config)

    async def handle(self, op: str, args: dict[str, Any]) -> Any:
        """Raises ``DeskError`` for what it refuses, ``OSError`` when a file fails."""
        match op:
            case "info":
                return self.info()
            case "probe":
                return self.probe(args.get("connector"))
            case "save":
                try:
                    doc = check_report(args.get("report"))
                except ReportError as exc:
                    raise DeskError(f"report refused: {exc}") from None
                doc = {**doc, "station": {**doc.get("station", {}), **self.identity()},
                       "saved_at": datetime.now(UTC).isoformat(timespec="seconds")}
                json_path, md_path = await asyncio.to_thread(self._store.save, doc)
                return {"json": str(json_path), "markdown": str(md_path)}
            case "latest":
                found = await asyncio.to_thread(self._store.latest)
                if found is None:
                    return None
                doc, text, path = found
                return {"report": doc, "markdown": text, "path": str(path)}
        raise DeskError(f"unknown commission op {op!r}")

    def identity(self) -> dict[str, Any]:
        station = self._config.station
        return {"id": station.id, "firmware": station.firmware_version or __version__,
                "config_sha256": config_sha256(self._config), "simulated": self._simulated}

    def info(self) -> dict[str, Any]:
        system = datetime.now(UTC)
        csms = self._clock()
        offset = None if csms is None else round((csms - system).total_seconds(), 3)
        return {
            "station": self.identity(),
            "connectors": [c.connector for c in self._hardware.connectors],
            "reader": self._hardware.reader is not None,
            "report_dir": str(self._store.directory),
            "clock": {"known": csms is not None, "system_utc": system.isoformat(),
                      "csms_utc": None if csms is None else csms.isoformat(),
                      "offset_s": offset},
        }

    def probe(self, connector: object) -> dict[str, Any]:
        parts = {c.connector: c for c in self._hardware.connectors}
        if isinstance(connector, bool) or not isinstance(connector, int) \
                or connector not in parts:
            raise DeskError(f"no connector {connector!r}: this station has "
                            f"{', '.join(str(c) for c in parts)}")
        hw = parts[connector]
        reading = hw.pilot.read()
        return {
            "connector": connector,
            "pilot": reading.state.value,
            "high_v": round(reading.high_v, 2),
            "low_v": None if reading.low_v is None else round(reading.low_v, 2),
            "diode_ok": reading.diode_ok,
            "duty_percent": hw.pilot.duty_percent,
            "proximity": hw.proximity is not None,
            "cable_a": None if hw.proximity is None else hw.proximity.cable_rating_a(),
            "contactor": {"commanded": "closed" if hw.contactor.commanded_closed else "open",
                          "mirror": "closed" if hw.contactor.mirror_closed() else "open"},
            "lock": None if hw.lock is None else {
                "commanded": "locked" if hw.lock.commanded_locked else "unlocked",
                "feedback": "locked" if hw.lock.is_locked() else "unlocked"},
            "rcd": None if hw.rcd is None else {"tripped": hw.rcd.tripped()},
            "meter": None if hw.meter is None else {"model": hw.meter.model},
        }
