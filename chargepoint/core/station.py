"""The station: every connector's session machine behind one call, ``handle(event, now)``.

Theory of operation
-------------------
``Station`` is sans-I/O (like ``websockets.protocol`` or ``h11``): the runtime feeds it events
with a monotonic ``now`` and performs the actions it returns, in order. It never reads a clock;
it asks for timers (``StartTimer``) and hears back (``TimerExpired``).

After every event the station *settles* each connector: the phase machine
(``chargepoint.core.session``) takes its follow-up steps, then ``chargepoint.core.outputs``
brings pilot, contactor and lock in line, every contactor decision going through the one
interlock (``chargepoint.core.interlock.may_close``). Statuses are derived, never stored, and
reported only on change (OCPP 1.6 section 4.9 StatusNotification).

Who is at fault
---------------
- Misuse by the caller (bad connector id from the hardware side, ``handle`` before
  ``startup``, NaN readings) raises ``ValueError`` before any state changes.
- Requests from the CSMS that cannot be honoured are answered with a ``Reply`` status
  (Rejected, NotSupported, Occupied, ...), never an exception.
- Faults from the EV, meter, reader or relays are state (Faulted + error code).

Clauses followed (beyond the session table): OCPP 1.6 sections 3.5 Authorization (parent id
tag), 4.8 StartTransaction (StopTransactionOnInvalidId), 5.3/5.13 reservations, 5.2
ChangeAvailability ("Scheduled" while a transaction runs), 5.11/5.12 remote start/stop, 5.18
UnlockConnector, and configuration keys ConnectionTimeOut, StopTransactionOnEVSideDisconnect,
UnlockConnectorOnEVSideDisconnect, MaxEnergyOnInvalidId, ReserveConnectorZeroSupported.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from chargepoint.core import requests, routing
from chargepoint.core.actions import (
    Action,
    ClearReservation,
    OpenContactor,
    PwmOff,
    Reply,
    ReportStatus,
    RequestAuthorization,
    SetStateF,
    StartTransaction,
    StopTransaction,
    UnlockConnector,
)
from chargepoint.core.connector import Connector, Grant, Source
from chargepoint.core.events import (
    AuthorizationResult,
    AvailabilityChanged,
    CableRating,
    CardPresented,
    ContactorFeedback,
    CsmsLinkChanged,
    CurrentLimitChanged,
    Event,
    FaultCleared,
    FaultRaised,
    Link,
    LockFeedback,
    MeterUpdated,
    PilotChanged,
    RemoteStartRequested,
    RemoteStopRequested,
    ReservationCancelled,
    ReservationMade,
    SettingsChanged,
    StopRequested,
    TimerExpired,
    TransactionConfirmed,
    UnlockRequested,
)
from chargepoint.core.outputs import StationFacts, blocking, derive_status, drive, operative
from chargepoint.core.pending import Pending
from chargepoint.core.reservations import Reservation, ReservationBook
from chargepoint.core.session import Phase, Step, next_phase
from chargepoint.core.timers import TimerBook
from chargepoint.core.types import (
    AuthStatus,
    ConnectorStatus,
    FaultKind,
    PilotState,
    Settings,
    StopReason,
)
from chargepoint.core.validation import check_connector, validate
from chargepoint.core.view import StationView, build_view

START_GRACE_S = 10.0
"""After a transaction starts, the status stays Preparing (not SuspendedEV) this long while
the EV has not yet answered the PWM offer by going to C (avoids a SuspendedEV blip)."""

_PRESENT = (PilotState.B, PilotState.C, PilotState.D)
_IN_SESSION = (Phase.TRANSACTION, Phase.STOPPING)
_ABORTING_REASONS = (StopReason.EMERGENCY_STOP, StopReason.HARD_RESET)


class Station:
    """The charging core of a station with ``connectors`` connectors (ids 1..N).

    ``operative`` and ``latched_faults`` restore what the store kept across a restart
    (connector 0 = the station). Call :meth:`startup` once, then :meth:`handle` per event.
    """

    def __init__(
        self,
        connectors: int,
        settings: Settings,
        *,
        now: float,
        operative: dict[int, bool] | None = None,
        latched_faults: list[tuple[int, FaultKind]] | None = None,
    ) -> None:
        if connectors < 1:
            raise ValueError(f"a station needs at least one connector, not {connectors}")
        if not isinstance(settings, Settings):
            raise ValueError("settings must be a chargepoint.core.types.Settings")
        if not math.isfinite(now):
            raise ValueError(f"now must be finite, not {now}")
        self._settings = settings
        self._conns = [Connector(i) for i in range(1, connectors + 1)]
        self._station_operative = True
        self._station_faults: dict[FaultKind, str] = {}
        self._station_limit_a: float | None = None
        self._reported0: tuple[ConnectorStatus, str, str | None] | None = None
        self._link = Link.OFFLINE
        self._book = ReservationBook()
        self._timers = TimerBook()
        self._pending: dict[int, Pending] = {}
        self._next_request = 1
        self._started = False
        for cid, op in (operative or {}).items():
            check_connector(cid, connectors, allow_zero=True)
            if cid == 0:
                self._station_operative = bool(op)
            else:
                self._conns[cid - 1].operative = bool(op)
        for cid, kind in latched_faults or []:
            check_connector(cid, connectors, allow_zero=True)
            self._fault_table(cid)[kind] = "restored"

    # -- public face -------------------------------------------------------------------------

    @property
    def connector_count(self) -> int:
        return len(self._conns)

    @property
    def settings(self) -> Settings:
        return self._settings

    def startup(self, now: float) -> list[Action]:
        """Initial actions: contactors open, pilots off (or state F when unavailable /
        faulted), locks released, a status for connector 0..N. Call exactly once."""
        if self._started:
            raise ValueError("startup() was already called")
        self._started = True
        out: list[Action] = []
        facts = self.facts()
        for c in self._conns:
            out.append(OpenContactor(c.id))
            c.contactor_closed = False
            c.state_f = blocking(c, facts) or not operative(c, facts)
            c.pwm_amps = None
            out.append(SetStateF(c.id) if c.state_f else PwmOff(c.id))
            if self._settings.has_lock:
                out.append(UnlockConnector(c.id))
            c.lock_locked = False
        self._report(now, out)
        return out

    def handle(self, event: Event, now: float) -> list[Action]:
        """Feed one event; returns the actions to perform, in order.

        Raises ``ValueError`` for caller misuse (before ``startup``, a connector id outside
        the station on a hardware event, non-finite numbers); the state is then unchanged.
        """
        if not self._started:
            raise ValueError("call startup() before handle()")
        if not math.isfinite(now):
            raise ValueError(f"now must be finite, not {now}")
        validate(event, len(self._conns), self._pending)
        out: list[Action] = []
        self._dispatch(event, now, out)
        self._settle_all(now, out)
        self._report(now, out)
        return out

    def snapshot(self) -> StationView:
        """A frozen view of everything ``chargepoint status`` shows."""
        return build_view(self)

    # -- chargepoint.core.station_ops.StationOps (for routing, requests, view) ---------------

    def facts(self) -> StationFacts:
        return StationFacts(
            settings=self._settings,
            station_faults=frozenset(self._station_faults),
            station_operative=self._station_operative,
            station_limit_a=self._station_limit_a,
        )

    @property
    def connectors(self) -> list[Connector]:
        return self._conns

    def conn(self, cid: int) -> Connector:
        return self._conns[cid - 1]

    @property
    def reservations(self) -> ReservationBook:
        return self._book

    @property
    def pending_requests(self) -> Mapping[int, Pending]:
        return self._pending

    def request_authorization(self, p: Pending, out: list[Action]) -> None:
        rid = self._next_request
        self._next_request += 1
        self._pending[rid] = p
        if p.connector is not None:
            self.conn(p.connector).pending_request = rid
        out.append(RequestAuthorization(rid, p.id_tag, p.connector))

    def take_pending(self, request_id: int) -> Pending | None:
        return self._pending.pop(request_id, None)

    def lift_reservation(self, reservation_id: int) -> Reservation | None:
        return self._book.remove(reservation_id)

    def put_back_reservation(self, r: Reservation) -> None:
        self._book.put(r)

    def place_reservation(self, r: Reservation, replaced: Reservation | None,
                          out: list[Action]) -> None:
        if replaced is not None:
            self._timers.cancel(replaced.timer_id, out)
        self._book.put(r)
        self._timers.start(r.timer_id, r.expires_at, out)

    def start_timer(self, timer_id: str, deadline: float, out: list[Action]) -> None:
        self._timers.start(timer_id, deadline, out)

    def set_station_operative(self, operative: bool) -> None:
        self._station_operative = operative

    def startable(self, c: Connector) -> bool:
        """May a new authorization be used on ``c`` now?"""
        facts = self.facts()
        return (
            not blocking(c, facts)
            and operative(c, facts)
            and c.phase in (Phase.IDLE, Phase.PLUGGED, Phase.FINISHING)
            and c.grant is None
            and c.pending_request is None
        )

    def authorize(self, c: Connector, grant: Grant, now: float, out: list[Action]) -> bool:
        """Use an accepted authorization on ``c``: start now if the EV is there (with a
        socket: lock first, start once locked), else wait for it (ConnectionTimeOut). False
        when a reservation forbids it."""
        allowed, _ = routing.reservation_for(self, c, grant.id_tag, grant.parent_id_tag)
        if not allowed:
            return False
        if c.phase is Phase.IDLE:
            c.grant = grant
            c.phase = next_phase(c.phase, Step.AUTHORIZE)
            self._timers.start(
                f"connection:{c.id}", now + self._settings.connection_timeout_s, out
            )
        elif self._settings.has_lock:
            self._lock_first(c, grant, now, out)
        else:
            self._start_transaction(c, grant, Step.AUTHORIZE, now, out)
        return True

    def stop(self, c: Connector, reason: StopReason, id_tag: str | None, now: float,
             out: list[Action], *, abort: bool = False) -> bool:
        """End the transaction on ``c`` (no-op False when there is none). Under load the
        contactor opens after the EV went to B (or the wind-down timer); with ``abort`` at
        once. StopTransaction is issued once the contactor is open."""
        s = c.session
        if s is None or c.phase not in _IN_SESSION:
            return False
        if abort:
            s.abort = True
        if c.phase is Phase.STOPPING:
            return True
        s.stop_reason, s.stop_id_tag = reason, id_tag
        if c.contactor_closed:
            c.phase = next_phase(c.phase, Step.STOP_UNDER_LOAD)
        else:
            self._finish_stop(c, now, out)
        return True

    def drop_grant(self, c: Connector, out: list[Action]) -> bool:
        """Forget the authorization of a connector waiting for its EV or for its lock (no
        transaction was started; the lock is released when settling). False: none there."""
        if c.phase not in (Phase.AUTHORIZED, Phase.LOCKING):
            return False
        self._timers.cancel(f"connection:{c.id}", out)
        c.grant = None
        c.phase = next_phase(c.phase, Step.ABORT)
        return True

    def drop_reservation(self, r: Reservation, out: list[Action]) -> None:
        self._book.remove(r.reservation_id)
        self._timers.cancel(r.timer_id, out)
        out.append(ClearReservation(r.reservation_id))

    # -- dispatch ----------------------------------------------------------------------------

    def _dispatch(self, event: Event, now: float, out: list[Action]) -> None:
        match event:
            case PilotChanged():
                self._on_pilot(event, now, out)
            case CableRating():
                self.conn(event.connector).cable_a = event.amps
            case ContactorFeedback():
                self.conn(event.connector).contactor_feedback = event.closed
            case LockFeedback():
                self.conn(event.connector).lock_feedback = event.locked
            case CardPresented():
                routing.on_card(self, event.id_tag, now, out)
            case AuthorizationResult():
                routing.on_authorization(self, event, now, out)
            case RemoteStartRequested():
                routing.on_remote_start(self, event, now, out)
            case RemoteStopRequested():
                requests.on_remote_stop(self, event, now, out)
            case StopRequested():
                targets = self._conns if event.connector == 0 else [self.conn(event.connector)]
                for c in targets:
                    self.drop_grant(c, out)
                    # OCPP 1.6 5.14: a hard reset need not stop sessions gracefully
                    self.stop(c, event.reason, None, now, out,
                              abort=event.reason in _ABORTING_REASONS)
            case UnlockRequested():
                requests.on_unlock(self, event, now, out)
            case ReservationMade():
                routing.on_reserve(self, event, now, out)
            case ReservationCancelled():
                r = self._book.get(event.reservation_id)
                if r is not None:
                    self.drop_reservation(r, out)
                out.append(Reply("Accepted" if r else "Rejected", ReservationCancelled))
            case AvailabilityChanged():
                requests.on_availability(self, event, out)
            case FaultRaised():
                self._on_fault(event, now, out)
            case FaultCleared():
                if not event.kind.latched or event.technician:
                    self._fault_table(event.connector).pop(event.kind, None)
            case CurrentLimitChanged():
                if event.connector == 0:
                    self._station_limit_a = event.amps
                else:
                    self.conn(event.connector).limit_a = event.amps
            case MeterUpdated():
                self._on_meter(event)
            case TransactionConfirmed():
                self._on_confirmed(event, now, out)
            case TimerExpired():
                self._on_timer(event.timer_id, now, out)
            case CsmsLinkChanged():
                self._link = event.link
            case SettingsChanged(settings=Settings() as settings):  # validated
                self._settings = settings

    def _on_pilot(self, ev: PilotChanged, now: float, out: list[Action]) -> None:
        c = self.conn(ev.connector)
        c.pilot = ev.state
        was = c.ev_present
        if ev.state in _PRESENT:
            c.ev_present = True
        elif ev.state is PilotState.A:
            c.ev_present = False
        # E / F: presence unknown, keep what we knew (the interlock opens anyway).
        if c.ev_present and not was:
            self._on_plug(c, now, out)
        elif was and not c.ev_present:
            self._on_unplug(c, now, out)

    def _on_plug(self, c: Connector, now: float, out: list[Action]) -> None:
        if c.phase is Phase.AUTHORIZED and c.grant is not None:
            if self._settings.has_lock:
                self._lock_first(c, c.grant, now, out)
            else:
                self._start_transaction(c, c.grant, Step.PLUG, now, out)
        elif c.phase is Phase.IDLE:
            c.phase = next_phase(c.phase, Step.PLUG)
            routing.take_waiting_grant(self, c, now, out)
            routing.free_vend(self, c, now, out)

    def _on_unplug(self, c: Connector, now: float, out: list[Action]) -> None:
        if c.phase is Phase.PLUGGED:
            c.phase = next_phase(c.phase, Step.UNPLUG)
        elif c.phase is Phase.LOCKING:
            # OCTT 024: the EV left before the lock confirmed: no transaction, no authorization.
            self._timers.cancel(f"connection:{c.id}", out)
            c.grant = None
            c.phase = next_phase(c.phase, Step.UNPLUG)
        elif c.phase is Phase.TRANSACTION and self._settings.stop_transaction_on_ev_side_disconnect:
            # OCPP 1.6 StopTransactionOnEVSideDisconnect (OCTT 005_1/005_2).
            self.stop(c, StopReason.EV_DISCONNECTED, None, now, out)
        # false (OCTT 005_3): the transaction stays, SuspendedEV, cable stays locked.

    def _on_fault(self, ev: FaultRaised, now: float, out: list[Action]) -> None:
        self._fault_table(ev.connector)[ev.kind] = ev.info
        if ev.kind.blocks_charging:
            targets = self._conns if ev.connector == 0 else [self.conn(ev.connector)]
            for c in targets:
                self.drop_grant(c, out)
                self.stop(c, StopReason.OTHER, None, now, out, abort=True)

    def _on_meter(self, ev: MeterUpdated) -> None:
        c = self.conn(ev.connector)
        c.energy_wh, c.power_w = ev.energy_wh, ev.power_w
        s = c.session
        limit = self._settings.max_energy_on_invalid_id_wh
        if s is not None and s.invalid and limit is not None \
                and ev.energy_wh - s.meter_start_wh >= limit:
            s.suspended = True  # MaxEnergyOnInvalidId reached: stop energy delivery

    def _on_confirmed(self, ev: TransactionConfirmed, now: float, out: list[Action]) -> None:
        c = self.conn(ev.connector)
        s = c.session
        if s is None or c.phase is not Phase.TRANSACTION or ev.status is AuthStatus.ACCEPTED:
            return
        s.invalid = True
        if self._settings.stop_transaction_on_invalid_id:
            self.stop(c, StopReason.DE_AUTHORIZED, None, now, out)
            return
        # OCPP 1.6 4.8: "SHALL only stop energy delivery" (after MaxEnergyOnInvalidId, if set).
        limit = self._settings.max_energy_on_invalid_id_wh
        delivered = (c.energy_wh or s.meter_start_wh) - s.meter_start_wh
        if limit is None or delivered >= limit:
            s.suspended = True

    def _on_timer(self, timer_id: str, now: float, out: list[Action]) -> None:
        if not self._timers.fire(timer_id):
            return  # stale: cancelled or already handled
        kind, _, key = timer_id.partition(":")
        if kind == "reservation":
            r = self._book.get(int(key))
            if r is not None:
                self._book.remove(r.reservation_id)
                out.append(ClearReservation(r.reservation_id))
            return
        c = self.conn(int(key))
        if kind == "connection" and c.phase in (Phase.AUTHORIZED, Phase.LOCKING):
            # OCPP 1.6 ConnectionTimeOut (OCTT 004_2 / 011_2); in LOCKING the lock never
            # answered: the attempt ends with no transaction.
            c.grant = None
            c.phase = next_phase(c.phase, Step.TIMEOUT)
        elif kind == "evstop":
            c.abort = True  # the EV ignored PWM off: open now
        elif kind == "evstart" and c.session is not None:
            c.session.grace_over = True
        elif kind == "unlock" and c.unlock_pending:
            c.unlock_pending = False
            out.append(Reply("UnlockFailed", UnlockRequested, c.id))

    # -- transactions ------------------------------------------------------------------------

    def _lock_first(self, c: Connector, grant: Grant, now: float, out: list[Action]) -> None:
        """Socket outlet: lock the cable before the transaction (OCTT 024). The lock is
        commanded when settling; the transaction starts there once the feedback confirms.
        ConnectionTimeOut (re-armed from now) bounds the wait."""
        c.grant = grant
        c.keep_locked = False
        c.phase = next_phase(c.phase, Step.LOCK)
        self._timers.start(f"connection:{c.id}", now + self._settings.connection_timeout_s, out)

    def _locked(self, c: Connector) -> bool:
        """LOCKING is over: the commanded lock confirms (or the lock was configured away)."""
        if not self._settings.has_lock:
            return True
        return c.lock_locked and c.lock_feedback is True

    def _start_transaction(self, c: Connector, grant: Grant, step: Step, now: float,
                           out: list[Action]) -> None:
        _, res = routing.reservation_for(self, c, grant.id_tag, grant.parent_id_tag)
        self._timers.cancel(f"connection:{c.id}", out)
        meter_start = c.energy_wh if c.energy_wh is not None else 0.0
        c.phase = next_phase(c.phase, step)
        c.grant = None
        c.keep_locked = False
        c.session = routing.new_session(grant, meter_start, now, res)
        out.append(StartTransaction(c.id, grant.id_tag, meter_start, now,
                                    None if res is None else res.reservation_id,
                                    free_vend=grant.source is Source.FREE_VEND))
        if res is not None:
            self.drop_reservation(res, out)
        self._timers.start(f"evstart:{c.id}", now + START_GRACE_S, out)

    def _finish_stop(self, c: Connector, now: float, out: list[Action]) -> None:
        s = c.session
        assert s is not None and s.stop_reason is not None
        meter_stop = c.energy_wh if c.energy_wh is not None else s.meter_start_wh
        out.append(StopTransaction(c.id, s.stop_id_tag, meter_stop, now, s.stop_reason))
        self._timers.cancel(f"evstart:{c.id}", out)
        c.phase = next_phase(c.phase, Step.OPENED if c.phase is Phase.STOPPING else Step.STOP)
        c.session = None
        c.finished_by = s.stop_id_tag
        if (
            s.stop_reason is StopReason.EV_DISCONNECTED
            and self._settings.has_lock
            and not self._settings.unlock_connector_on_ev_side_disconnect
        ):
            c.keep_locked = True  # OCTT 005_2: the cable stays locked in the socket

    # -- settling and reporting --------------------------------------------------------------

    def _settle_all(self, now: float, out: list[Action]) -> None:
        for c in self._conns:
            self._settle(c, now, out)

    def _settle(self, c: Connector, now: float, out: list[Action]) -> None:
        facts = self.facts()
        for _ in range(6):
            if c.phase in (Phase.AUTHORIZED, Phase.LOCKING) and (
                blocking(c, facts) or not operative(c, facts)
            ):
                self.drop_grant(c, out)
            drive(c, facts, now, self._timers, out)
            if c.phase is Phase.LOCKING and c.grant is not None and self._locked(c):
                # OCTT 024: StartTransaction once the lock confirmed (meter, time: now).
                self._start_transaction(c, c.grant, Step.LOCKED, now, out)
            elif c.phase is Phase.STOPPING and not c.contactor_closed:
                self._finish_stop(c, now, out)
            elif c.phase is Phase.FINISHING and self._cable_gone(c):
                c.phase = next_phase(c.phase, Step.UNPLUG)
            elif c.scheduled_operative is not None and c.session is None:
                c.operative, c.scheduled_operative = c.scheduled_operative, None
            else:
                break
        if c.unlock_pending and not c.lock_locked and c.lock_feedback is False:
            c.unlock_pending = False
            self._timers.cancel(f"unlock:{c.id}", out)
            out.append(Reply("Unlocked", UnlockRequested, c.id))

    @property
    def link(self) -> Link:
        return self._link

    @property
    def station_faults(self) -> dict[FaultKind, str]:
        return self._station_faults

    @property
    def station_operative(self) -> bool:
        return self._station_operative

    def _cable_gone(self, c: Connector) -> bool:
        """Finishing ends when the EV left and no (locked) cable is left in the socket."""
        if c.ev_present or c.keep_locked:
            return False
        if not self._settings.has_lock:
            return True
        return c.cable_a is None and not c.lock_locked and c.lock_feedback is not True

    def status0(self) -> tuple[ConnectorStatus, str, str | None]:
        kinds = sorted(self._station_faults, key=lambda k: k.value)
        code = kinds[0].error_code if kinds else "NoError"
        info = (self._station_faults[kinds[0]] or None) if kinds else None
        if any(k.blocks_charging for k in kinds):
            return ConnectorStatus.FAULTED, code, info
        if not self._station_operative and all(c.session is None for c in self._conns):
            return ConnectorStatus.UNAVAILABLE, code, info
        return ConnectorStatus.AVAILABLE, code, info

    def _report(self, now: float, out: list[Action]) -> None:
        st0 = self.status0()
        if st0 != self._reported0:
            self._reported0 = st0
            out.append(ReportStatus(0, st0[0], st0[1], st0[2], now))
        facts = self.facts()
        for c in self._conns:
            st = derive_status(c, facts, routing.reserved(self, c))
            if st != c.reported:
                c.reported = st
                out.append(ReportStatus(c.id, st[0], st[1], st[2], now))

    def _fault_table(self, cid: int) -> dict[FaultKind, str]:
        return self._station_faults if cid == 0 else self.conn(cid).faults


