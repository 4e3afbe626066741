"""``SecuritySettings``: where the security functions keep their files and their timings, the
same for every OCPP version (the adapters' ``setup_security`` take it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SecuritySettings:
    directory: Path  # security log, installed CSMS roots, the station's keys (mode 0700)
    manufacturer_roots: Path  # ManufacturerRootCertificate = [firmware] roots_dir
    tls_url: str | None = None  # wss:// URL for profiles 2/3 (default: [ocpp] url as wss://)
    renew_before_s: float = 30 * 86400.0  # A03.FR.02: one month before the end
    watch_interval_s: float = 3600.0
    upgrade_attempts: int = 3  # failed connections before a new profile is abandoned
    log_max_bytes: int = 256 * 1024
    min_free_bytes: int = 64 * 2**20  # MemoryExhaustion below both bounds
    min_free_fraction: float = 0.05
