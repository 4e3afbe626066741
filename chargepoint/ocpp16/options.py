"""Settings of the OCPP 1.6J adapter (from the ``[station]`` and ``[ocpp]`` config sections).

Contract: build one ``Ocpp16Options`` and pass it to ``Ocpp16Adapter``; ``validate()`` raises
``ValueError`` naming the bad field (called by the adapter's constructor).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chargepoint.ocppj.bounds import MAX_FRAME_BYTES


@dataclass(frozen=True)
class Ocpp16Options:
    url: str  # e.g. "ws://127.0.0.1:9000/ocpp"; the station id is appended as a path segment
    station_id: str
    vendor: str = "Example"
    model: str = "Pi-22"
    serial: str | None = None
    firmware_version: str | None = None
    meter_type: str | None = None
    meter_serial: str | None = None
    security_profile: int = 0  # 0 none, 1 basic auth, 2 TLS + basic auth, 3 TLS + client cert
    password: str | None = None
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    initial_config: dict[str, str] = field(default_factory=dict)
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 60.0
    reconnect_jitter: float = 0.5  # fraction of the delay drawn at random (0..1)
    response_timeout_s: float = 30.0
    boot_id: str = ""  # distinguishes this process run in persisted timestamp placeholders
    has_lock: bool = False  # for chargepoint.core.types.Settings
    max_current_a: float = 32.0
    free_vend_id_tag: str | None = None  # [charging] free_vend on: its idTag
    # smart charging: a profile in W becomes A per phase with these (docs/smart-charging.md)
    phases: int = 3
    voltage_v: float = 230.0
    # the shortest MeterValueSampleInterval / ClockAlignedDataInterval a CSMS may set (tests: 1)
    min_sample_interval_s: int = 5
    max_frame_bytes: int = MAX_FRAME_BYTES  # largest frame accepted from the CSMS

    def validate(self) -> None:
        """Raise ``ValueError`` for inconsistent settings (misuse fails early)."""
        if not self.station_id:
            raise ValueError("station_id: must not be empty")
        if self.security_profile not in (0, 1, 2, 3):
            raise ValueError("security_profile: must be 0..3")
        secure = self.url.startswith("wss://")
        if not secure and not self.url.startswith("ws://"):
            raise ValueError("url: must start with ws:// or wss://")
        if self.security_profile >= 2 and not secure:
            raise ValueError("url: security profiles 2 and 3 need wss://")
        if self.security_profile in (0, 1) and secure:
            raise ValueError("url: security profiles 0 and 1 need ws://")
        if self.security_profile in (1, 2) and not self.password:
            raise ValueError("password: needed for security profiles 1 and 2")
        if self.security_profile == 3 and not (self.cert_file and self.key_file):
            raise ValueError("cert_file/key_file: needed for security profile 3")
        if self.security_profile >= 2 and not self.ca_file:
            raise ValueError("ca_file: needed for security profiles 2 and 3 (the CSMS root)")
        if not 0 < self.reconnect_min_s <= self.reconnect_max_s:
            raise ValueError("reconnect_min_s: must be > 0 and <= reconnect_max_s")
        if not 0.0 <= self.reconnect_jitter <= 1.0:
            raise ValueError("reconnect_jitter: must be within 0..1")
        if self.response_timeout_s <= 0:
            raise ValueError("response_timeout_s: must be > 0")
        if self.phases not in (1, 2, 3) or not self.voltage_v > 0:
            raise ValueError("phases: must be 1..3 and voltage_v > 0")
        if self.max_frame_bytes < 64 * 1024:
            raise ValueError("max_frame_bytes: must be >= 65536")
