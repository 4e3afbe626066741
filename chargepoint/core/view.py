"""Frozen read-only views of the station for ``chargepoint status`` (``Station.snapshot()``)."""

from __future__ import annotations

from dataclasses import dataclass

from chargepoint.core.events import Link
from chargepoint.core.outputs import derive_status, offered_a
from chargepoint.core.reservations import Reservation
from chargepoint.core.routing import reserved
from chargepoint.core.station_ops import StationReader
from chargepoint.core.types import ConnectorStatus, FaultKind, PilotState


@dataclass(frozen=True, slots=True)
class SessionView:
    id_tag: str
    meter_start_wh: float
    started_at: float  # monotonic, as passed to handle()
    reservation_id: int | None
    suspended: bool  # energy delivery stopped by the station (invalid id)
    stopping: bool


@dataclass(frozen=True, slots=True)
class ReservationView:
    reservation_id: int
    connector: int  # 0: the station
    id_tag: str
    parent_id_tag: str | None
    expires_at: float


@dataclass(frozen=True, slots=True)
class ConnectorView:
    id: int
    status: ConnectorStatus
    error_code: str  # OCPP 1.6 ChargePointErrorCode, "NoError" when none
    pilot: PilotState
    contactor_closed: bool  # as commanded
    contactor_feedback: bool | None
    lock_locked: bool  # as commanded
    lock_feedback: bool | None
    limit_a: float  # what would be offered now (min of every cap)
    pwm_a: float | None  # what the pilot offers now (None: PWM off / state F)
    energy_wh: float | None  # last meter reading
    power_w: float | None
    faults: tuple[FaultKind, ...]
    session: SessionView | None
    reservation: ReservationView | None
    operative: bool  # the connector's own ChangeAvailability setting, as applied (persist this)
    scheduled_operative: bool | None  # answered Scheduled, applied when the transaction ends


@dataclass(frozen=True, slots=True)
class StationView:
    status: ConnectorStatus  # connector 0: Available / Unavailable / Faulted
    error_code: str
    operative: bool  # the station's (connector 0) ChangeAvailability setting
    link: Link
    faults: tuple[FaultKind, ...]  # station-wide (connector 0)
    connectors: tuple[ConnectorView, ...]
    reservations: tuple[ReservationView, ...]  # station-wide (connector 0) ones


def _reservation_view(r: Reservation) -> ReservationView:
    return ReservationView(r.reservation_id, r.connector, r.id_tag, r.parent_id_tag,
                           r.expires_at)


def build_view(st: StationReader) -> StationView:
    """The view of station ``st`` now (``Station.snapshot()``)."""
    facts = st.facts()
    views = []
    for c in st.connectors:
        status, code, _ = derive_status(c, facts, reserved(st, c))
        s = c.session
        own = st.reservations.on(c.id)
        views.append(
            ConnectorView(
                id=c.id, status=status, error_code=code, pilot=c.pilot,
                contactor_closed=c.contactor_closed,
                contactor_feedback=c.contactor_feedback,
                lock_locked=c.lock_locked, lock_feedback=c.lock_feedback,
                limit_a=offered_a(c, facts), pwm_a=c.pwm_amps,
                energy_wh=c.energy_wh, power_w=c.power_w,
                faults=tuple(sorted(c.faults, key=lambda k: k.value)),
                session=None if s is None else SessionView(
                    id_tag=s.id_tag, meter_start_wh=s.meter_start_wh,
                    started_at=s.started_at, reservation_id=s.reservation_id,
                    suspended=s.suspended, stopping=s.stop_reason is not None,
                ),
                reservation=None if own is None else _reservation_view(own),
                operative=c.operative,
                scheduled_operative=c.scheduled_operative,
            )
        )
    status0, code0, _ = st.status0()
    return StationView(
        status=status0, error_code=code0, operative=st.station_operative,
        link=st.link,
        faults=tuple(sorted(st.station_faults, key=lambda k: k.value)),
        connectors=tuple(views),
        reservations=tuple(_reservation_view(r) for r in st.reservations.station_wide()),
    )
