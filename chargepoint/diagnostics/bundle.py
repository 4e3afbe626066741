"""The diagnostics bundle: a tar.gz assembled from the station's sources, secrets redacted.

Members (``build_bundle``): ``controller.log`` and ``ocpp-frames.log`` for since..until,
``config.json`` (the config file's values, redacted), ``ocpp-config.json`` (OCPP keys from the
store, redacted), ``store.json`` (``StoreAPI.summary()``: queue length, open transactions),
``versions.json`` (python, platform, packages), ``selftest.json`` (the selftest hook's result
or its error), ``manifest.json`` (what was asked and when). ``build_security_log`` makes the
GetLog SecurityLog file. Both are blocking on I/O only inside ``asyncio.to_thread``.
"""

from __future__ import annotations

import asyncio
import io
import json
import platform
import re
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

from chargepoint.diagnostics.redact import redact_config, redact_text
from chargepoint.diagnostics.sources import LogLine, LogProvider
from chargepoint.firmware.manager import parse_time
from chargepoint.store.api import StoreAPI

PACKAGES = ("chargepoint", "ocpp", "websockets", "pymodbus", "pyserial", "gpiozero", "nfcpy",
            "cryptography", "systemd-python")
_SELFTEST_TIMEOUT_S = 60.0


class SecurityLogSource(Protocol):
    def events(self) -> list[dict[str, str]]:
        """Blocking: every security event kept, oldest first."""


@dataclass
class BundleSources:
    store: StoreAPI
    station_id: str
    log: LogProvider | None = None
    config: Callable[[], dict[str, Any]] | None = None  # the loaded config file as a mapping
    selftest: Callable[[], Awaitable[dict[str, Any]]] | None = None
    security_log: SecurityLogSource | None = None
    packages: tuple[str, ...] = PACKAGES
    extra: dict[str, Callable[[], Any]] = field(default_factory=dict)  # name.json -> data


def bundle_name(prefix: str, station_id: str, at: float) -> str:
    """A safe file name: ``<prefix>-<station>-<UTC time>.tar.gz``."""
    station = re.sub(r"[^0-9A-Za-z._-]", "_", station_id)[:48] or "station"
    return f"{prefix}-{station}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(at))}.tar.gz"


def versions(packages: tuple[str, ...]) -> dict[str, Any]:
    found: dict[str, str | None] = {}
    for name in packages:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return {"python": sys.version, "platform": platform.platform(), "packages": found}


def _json(data: Any) -> bytes:
    return json.dumps(data, indent=2, sort_keys=True, default=str).encode()


def _log_text(lines: list[LogLine]) -> bytes:
    return "".join(redact_text(line.text) + "\n" for line in lines).encode()


def _write_tar(path: Path, members: dict[str, bytes]) -> None:
    import tarfile  # not with this module: a station imports it when it makes a bundle

    # A temporary name of its own: a GetLog that replaces a running one (AcceptedCanceled)
    # within the same second builds a bundle of the same name while the first one's worker
    # thread is still writing.
    tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        with tarfile.open(tmp, "w:gz") as tar:
            for name, data in members.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                info.mtime = int(time.time())
                info.mode = 0o600
                tar.addfile(info, io.BytesIO(data))
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


async def _selftest(sources: BundleSources) -> dict[str, Any]:
    if sources.selftest is None:
        return {"result": "not available"}
    try:
        return await asyncio.wait_for(sources.selftest(), _SELFTEST_TIMEOUT_S)
    except Exception as exc:  # the bundle must still be made
        return {"result": "error", "error": f"{type(exc).__name__}: {exc}"}


def _collect(sources: BundleSources, since: float | None, until: float | None,
             request: dict[str, Any]) -> dict[str, bytes]:
    lines = sources.log.lines(since, until) if sources.log is not None else []
    members = {
        "manifest.json": _json(request),
        "controller.log": _log_text([x for x in lines if not x.is_frame]),
        "ocpp-frames.log": _log_text([x for x in lines if x.is_frame]),
        "config.json": _json(redact_config(sources.config() if sources.config else {})),
        "ocpp-config.json": _json(redact_config(sources.store.config_all())),
        "store.json": _json(redact_config(sources.store.summary())),
        "versions.json": _json(versions(sources.packages)),
    }
    for name, provider in sources.extra.items():
        members[f"{name}.json"] = _json(redact_config(provider()))
    return members


async def build_bundle(sources: BundleSources, path: Path, since: float | None,
                       until: float | None) -> Path:
    """Write the diagnostics bundle to ``path`` (see the module docstring)."""
    selftest = await _selftest(sources)
    request = {"station": sources.station_id, "created": time.time(), "since": since,
               "until": until}

    def work() -> None:
        members = _collect(sources, since, until, request)
        members["selftest.json"] = _json(redact_config(selftest))
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _write_tar(path, members)

    await asyncio.to_thread(work)
    return path


async def build_security_log(sources: BundleSources, path: Path, since: float | None,
                             until: float | None) -> Path:
    """GetLog SecurityLog: ``security.log`` (JSON lines) inside a tar.gz."""
    def work() -> None:
        events = sources.security_log.events() if sources.security_log is not None else []
        chosen = [e for e in events if _in_range(e.get("timestamp"), since, until)]
        text = "".join(json.dumps(e, sort_keys=True) + "\n" for e in chosen)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _write_tar(path, {"security.log": redact_text(text).encode()})

    await asyncio.to_thread(work)
    return path


def _in_range(stamp: str | None, since: float | None, until: float | None) -> bool:
    if stamp is None:
        return True
    try:
        at = parse_time(stamp)
    except ValueError:
        return True
    assert at is not None
    return (since is None or at >= since) and (until is None or at <= until)
