"""The narrow interfaces between the runtime (``chargepoint.runtime``) and protocol adapters.

The runtime owns the core, the hardware and the control loop. A protocol adapter (OCPP 1.6,
later 2.0.1) owns the CSMS connection and the outbound queue. They meet only here:

- the adapter tells the core what the CSMS asked through ``StationPort.submit``;
- the runtime hands the adapter the core's protocol actions through ``ProtocolAdapter.perform``.

A protocol package is built in two steps (``chargepoint.protocols`` picks the package by
``[ocpp] version``): ``ProtocolSetup`` reads the package's configuration first, because the
core's settings depend on it, then ``ProtocolSetup.build`` makes the adapter once the runtime
(its ``StationPort``) exists.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from chargepoint.core.actions import (
    Action,
    ClearReservation,
    ReportStatus,
    RequestAuthorization,
    StartTransaction,
    StopTransaction,
)
from chargepoint.core.events import Event
from chargepoint.core.settings import ProtocolSettings
from chargepoint.core.view import ConnectorView
from chargepoint.firmware.installer import Installer
from chargepoint.limit_timer import LimitTimer
from chargepoint.security.events import SecurityEvents
from chargepoint.store.api import StoreAPI
from hardware.interfaces import MeterReading

ProtocolAction = (
    StartTransaction | StopTransaction | ReportStatus | RequestAuthorization | ClearReservation
)


@dataclass(frozen=True, slots=True)
class LinkState:
    """What ``chargepoint status`` shows about the CSMS link."""

    version: str  # "1.6"
    connected: bool
    registration: str  # "Accepted", "Pending", "Rejected", "Unknown"
    queued: int  # outbound messages not yet confirmed


class StationPort(Protocol):
    """What an adapter may ask of the running station. Every method but the async ones
    returns at once."""

    @property
    def store(self) -> StoreAPI: ...

    @property
    def connector_count(self) -> int: ...

    def submit(self, event: Event) -> list[Action]:
        """Feed ``event`` to the core now; hardware actions are performed before returning.

        Returns every action the core produced (``Reply`` among them for request events)."""

    def meter_reading(self, connector: int) -> MeterReading | None:
        """The latest good full reading of a connector's meter (None: none yet / no meter).
        While no energy can flow, an idle meter is read only every ``idle_poll_interval_s``."""

    async def fresh_meter_reading(self, connector: int) -> MeterReading | None:
        """A reading at most one ``poll_interval_s`` old, polling the meter now when the last
        one is older (clock-aligned values); None when it does not answer / no meter."""

    def request_restart(self, hard: bool) -> None:
        """Reset: stop sessions (reason SoftReset / HardReset) and restart the process."""

    def now(self) -> float:
        """The monotonic clock the core runs on."""

    def observe(self, callback: Callable[[Event | Action], None]) -> Callable[[], None]:
        """Show ``callback`` every event fed to the core and every action it produced (e.g. a
        ``Reply`` the core gives later than ``submit``); returns the function that stops it."""

    def offered_current(self, connector: int) -> float | None:
        """What the pilot offers now in A (Current.Offered), None while PWM is off."""

    def connector_view(self, connector: int) -> ConnectorView:
        """The core's frozen view of one connector now (status, session, outputs)."""

    async def durable(self) -> None:
        """Returns once the durable facts the station owns (availability ...) that changed
        so far are written (e.g. before a request is answered Accepted)."""


class ProtocolAdapter(Protocol):
    """A CSMS connection (one OCPP version)."""

    async def run(self) -> None:
        """Connect, register and serve forever (reconnecting); returns only when closed."""

    def perform(self, action: ProtocolAction) -> None:
        """Take a protocol action from the core. Must return at once (no awaiting): persisting
        and sending happen in the adapter's own tasks, persisting always before sending. The
        adapter owns the reservations it persisted (``ClearReservation``: forget one)."""

    def link_state(self) -> LinkState: ...

    def wall_now(self) -> datetime | None:
        """The wall clock (UTC) as the CSMS set it, None while not known."""

    async def ping(self) -> float:
        """Round-trip time of one Heartbeat in seconds; raises ``ConnectionError`` if offline."""

    async def close(self) -> None: ...

    def healthy(self) -> bool:
        """Every task of the adapter runs and none keeps failing (gates the systemd watchdog)."""

    def transaction_id(self, csms_id: str) -> int | str:
        """A stored transaction id as ``chargepoint status`` shows it (1.6: the integer)."""

    @property
    def limit_timer(self) -> LimitTimer:
        """The smart-charging timer that hands every connector's limit to the core; local
        load management (``chargepoint.site``) feeds its offers in here (docs/site.md)."""


@dataclass(frozen=True, slots=True)
class StationServices:
    """What the station offers a protocol package besides the ``StationPort``."""

    meter_model: str | None  # the first connector's meter model (BootNotification)
    firmware_installer: Installer  # as ``[firmware] installer`` chose
    selftest: Callable[[], Awaitable[dict[str, Any]]]  # ``chargepoint selftest`` (diagnostics)
    config_dump: Callable[[], dict[str, Any]]  # the config file's values (diagnostics)
    # More members of a diagnostics bundle, ``name.json`` each (the commissioning report)
    diagnostics_extras: Mapping[str, Callable[[], Any]] = field(default_factory=dict)
    # Security events (version-neutral service, its log in ``security_dir``); the protocol
    # package gives it its durable queue
    security_events: SecurityEvents | None = None
    security_dir: Path | None = None  # installed roots, the station's keys, the security log


class ProtocolSetup(Protocol):
    """A protocol package with its configuration read (the first of the two steps)."""

    def protocol_settings(self) -> ProtocolSettings:
        """The values of the protocol's configuration the core depends on."""

    async def build(self, port: StationPort, services: StationServices) -> ProtocolAdapter:
        """The adapter, on ``port``; its ``run()`` is started by the caller."""
