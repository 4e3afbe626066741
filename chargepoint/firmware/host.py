"""What the firmware and diagnostics managers need from the running station.

``FirmwareHost`` is implemented over an OCPP adapter of either version by
``chargepoint.ocppj.firmware_host.AdapterHost`` and by a recording fake in tests. Every method
returns at once except ``restart`` (which first lets queued notifications reach the CSMS).
"""

from __future__ import annotations

from typing import Protocol


class FirmwareHost(Protocol):
    def report(self, action: str, payload: dict[str, object]) -> None:
        """Queue a notification (FirmwareStatusNotification, SignedFirmwareStatusNotification,
        DiagnosticsStatusNotification, LogStatusNotification); sent in order once registered."""

    def security_event(self, kind: str, tech_info: str) -> None:
        """Record a security event (security log) and queue its SecurityEventNotification."""

    def transactions_running(self) -> bool:
        """True while any connector has an open transaction."""

    def set_operative(self, operative: bool) -> None:
        """Make every connector Unavailable (False; a running session ends first) or give
        back the availability the operator had set (True)."""

    async def restart(self) -> None:
        """Flush queued notifications (bounded), then restart the service into ``current``."""
