"""Station behaviour beyond the OCTT session tables: startup, faults, availability, unlock,
limits, stops, routing with one reader for several connectors, misuse, the view."""

from __future__ import annotations

import math

import pytest

from chargepoint.core.actions import (
    CancelTimer,
    CloseContactor,
    LockConnector,
    OpenContactor,
    PwmOff,
    Reply,
    ReportStatus,
    RequestAuthorization,
    SetPwm,
    SetStateF,
    StartTimer,
    StartTransaction,
    StopTransaction,
    UnlockConnector,
)
from chargepoint.core.events import (
    AuthorizationResult,
    AvailabilityChanged,
    CableRating,
    CardPresented,
    CsmsLinkChanged,
    CurrentLimitChanged,
    FaultCleared,
    FaultRaised,
    Link,
    LockFeedback,
    MeterUpdated,
    PilotChanged,
    RemoteStartRequested,
    RemoteStopRequested,
    SettingsChanged,
    StopRequested,
    TimerExpired,
    UnlockRequested,
)
from chargepoint.core.station import Station
from chargepoint.core.types import (
    AuthStatus,
    ConnectorStatus,
    FaultKind,
    PilotState,
    Settings,
    StopReason,
)

from .support import Bench, assert_actions

A, B, C, D, E = PilotState.A, PilotState.B, PilotState.C, PilotState.D, PilotState.E
S = ConnectorStatus
OK = AuthStatus.ACCEPTED


def charging(bench: Bench, connector: int = 1, tag: str = "TAG1") -> None:
    """Plug, tap, accept, EV to C: a charging session on ``connector``."""
    bench.feed(PilotChanged(connector, B))
    actions = bench.feed(CardPresented(tag))
    req = next(a for a in actions if isinstance(a, RequestAuthorization))
    bench.feed(AuthorizationResult(req.request_id, tag, OK))
    if bench.settings.has_lock:
        bench.feed(LockFeedback(connector, True))
    assert_actions(bench.feed(PilotChanged(connector, C)), CloseContactor(connector))
    assert bench.status(connector) is S.CHARGING


# -- startup -----------------------------------------------------------------------------


def test_startup_opens_everything_and_reports_every_connector() -> None:
    bench = Bench(connectors=2, settings=Settings(has_lock=True))
    assert_actions(
        bench.startup_actions,
        OpenContactor(1), PwmOff(1), UnlockConnector(1), OpenContactor(2), PwmOff(2),
        UnlockConnector(2), ReportStatus(0, S.AVAILABLE, at=100.0),
        ReportStatus(1, S.AVAILABLE, at=100.0), ReportStatus(2, S.AVAILABLE, at=100.0),
        exact=True,
    )


def test_startup_restores_unavailable_and_latched_weld() -> None:
    bench = Bench(connectors=2, operative={2: False}, latched=[(1, FaultKind.WELDED)])
    assert_actions(bench.startup_actions, SetStateF(1), SetStateF(2),
                   ReportStatus(1, S.FAULTED, "PowerSwitchFailure", "restored", 100.0),
                   ReportStatus(2, S.UNAVAILABLE, at=100.0))
    st = Station(1, Settings(), now=0.0, operative={0: False})
    assert_actions(st.startup(0.0), SetStateF(1), ReportStatus(0, S.UNAVAILABLE, at=0.0))


def test_misuse_raises_before_any_change() -> None:
    st = Station(1, Settings(), now=0.0)
    with pytest.raises(ValueError):
        st.handle(PilotChanged(1, B), 0.0)  # before startup
    st.startup(0.0)
    with pytest.raises(ValueError):
        st.startup(0.0)
    bad = [
        PilotChanged(2, B), PilotChanged(0, B), MeterUpdated(1, math.nan),
        CurrentLimitChanged(1, -1.0), FaultRaised(3, FaultKind.RCD),
        SettingsChanged("nope"), RemoteStartRequested(1, "T", limit_a=-2.0),
    ]
    for event in bad:
        with pytest.raises(ValueError):
            st.handle(event, 1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        st.handle(PilotChanged(1, B), math.nan)
    with pytest.raises(ValueError):
        Station(0, Settings(), now=0.0)
    with pytest.raises(ValueError):
        Station(1, Settings(), now=0.0, operative={5: False})
    assert st.snapshot().connectors[0].status is S.AVAILABLE


def test_authorization_answer_for_another_tag_is_misuse() -> None:
    bench = Bench()
    bench.feed(CardPresented("T1"))
    with pytest.raises(ValueError):
        bench.feed(AuthorizationResult(1, "T2", OK))
    assert_actions(bench.feed(AuthorizationResult(99, "T2", OK)), exact=True)  # stale


# -- faults ------------------------------------------------------------------------------


def test_blocking_fault_opens_at_once_and_stops_with_other() -> None:
    bench = Bench()
    charging(bench)
    actions = bench.feed(FaultRaised(1, FaultKind.RCD, "30 mA"))
    assert_actions(actions, OpenContactor(1), SetStateF(1),
                   StopTransaction(1, None, 0.0, 100.0, StopReason.OTHER),
                   ReportStatus(1, S.FAULTED, "GroundFailure", "30 mA", 100.0),
                   absent=(StartTimer,))
    assert actions[0] == OpenContactor(1)  # the contactor goes first
    assert_actions(bench.feed(FaultCleared(1, FaultKind.RCD)), PwmOff(1),
                   ReportStatus(1, S.FINISHING, at=100.0))


def test_weld_is_latched_until_a_technician_clears_it() -> None:
    bench = Bench()
    charging(bench)
    bench.feed(FaultRaised(1, FaultKind.WELDED))
    assert bench.status(1) is S.FAULTED
    bench.feed(FaultCleared(1, FaultKind.WELDED))
    assert bench.status(1) is S.FAULTED
    bench.feed(PilotChanged(1, C))
    assert not bench.station.snapshot().connectors[0].contactor_closed
    bench.feed(FaultCleared(1, FaultKind.WELDED, technician=True))
    assert bench.status(1) is S.FINISHING


def test_meter_and_reader_faults_report_without_stopping() -> None:
    bench = Bench()
    charging(bench)
    actions = bench.feed(FaultRaised(1, FaultKind.METER))
    assert_actions(actions, ReportStatus(1, S.CHARGING, "PowerMeterFailure", None, 100.0),
                   absent=(OpenContactor, StopTransaction, PwmOff))
    actions = bench.feed(FaultRaised(0, FaultKind.READER))
    assert_actions(actions, ReportStatus(0, S.AVAILABLE, "ReaderFailure", None, 100.0),
                   exact=True)
    assert bench.station.snapshot().error_code == "ReaderFailure"


def test_station_wide_blocking_fault_faults_every_connector() -> None:
    bench = Bench(connectors=2)
    charging(bench, 1)
    actions = bench.feed(FaultRaised(0, FaultKind.RCD))
    assert_actions(actions, OpenContactor(1), StopTransaction,
                   ReportStatus(0, S.FAULTED, "GroundFailure", None, 100.0))
    assert bench.status(2) is S.FAULTED


def test_pilot_e_opens_at_once() -> None:
    bench = Bench()
    charging(bench)
    actions = bench.feed(PilotChanged(1, E))
    assert actions[0] == OpenContactor(1)
    assert_actions(actions, PwmOff(1), absent=(StopTransaction, StartTimer))


def test_faulted_connector_ignores_cards_and_remote_start() -> None:
    bench = Bench()
    bench.feed(FaultRaised(1, FaultKind.LOCK))
    bench.feed(PilotChanged(1, B))
    assert_actions(bench.feed(CardPresented("T")), absent=(RequestAuthorization,))
    assert_actions(bench.feed(RemoteStartRequested(1, "T")),
                   Reply("Rejected", RemoteStartRequested, 1))


# -- stops -------------------------------------------------------------------------------


def test_wind_down_times_out_then_opens() -> None:
    bench = Bench()
    charging(bench)
    assert_actions(bench.feed(RemoteStopRequested(1)),
                   Reply("Accepted", RemoteStopRequested, 1), PwmOff(1),
                   StartTimer("evstop:1", 103.0), absent=(OpenContactor,))
    actions = bench.feed(TimerExpired("evstop:1"))
    assert_actions(actions, OpenContactor(1),
                   StopTransaction(1, None, 0.0, 103.0, StopReason.REMOTE))
    assert_actions(bench.feed(RemoteStopRequested(1)),
                   Reply("Rejected", RemoteStopRequested, 1))
    assert_actions(bench.feed(RemoteStopRequested(9)),
                   Reply("Rejected", RemoteStopRequested, 9))


def test_reset_stops_gracefully_and_emergency_stop_at_once() -> None:
    bench = Bench(connectors=2)
    charging(bench, 1, "T1")
    charging(bench, 2, "T2")
    actions = bench.feed(StopRequested(1, StopReason.SOFT_RESET))
    assert_actions(actions, PwmOff(1), StartTimer("evstop:1", 103.0), absent=(OpenContactor,))
    actions = bench.feed(StopRequested(0, StopReason.EMERGENCY_STOP))
    assert_actions(actions, OpenContactor(1), OpenContactor(2))
    stops = [a for a in actions if isinstance(a, StopTransaction)]
    assert [(s.connector, s.reason) for s in stops] == [
        (1, StopReason.SOFT_RESET), (2, StopReason.EMERGENCY_STOP)]


def test_hard_reset_opens_at_once_without_waiting_for_the_ev() -> None:
    """OCPP 1.6 5.14: a hard reset need not stop sessions gracefully."""
    bench = Bench()
    charging(bench, 1, "T1")
    actions = bench.feed(StopRequested(0, StopReason.HARD_RESET))
    assert_actions(actions, OpenContactor(1),
                   StopTransaction(1, None, 0.0, 100.0, StopReason.HARD_RESET),
                   absent=(StartTimer,))


def test_meter_stop_uses_the_last_reading() -> None:
    bench = Bench()
    bench.feed(MeterUpdated(1, 5000.0, 0.0))
    charging(bench)
    bench.feed(MeterUpdated(1, 5400.0, 11000.0))
    assert bench.station.snapshot().connectors[0].power_w == 11000.0
    bench.feed(CardPresented("TAG1"))
    actions = bench.feed(PilotChanged(1, B))
    assert_actions(actions, StopTransaction(1, "TAG1", 5400.0, 100.0, StopReason.LOCAL))
    start = next(a for a in bench.log if isinstance(a, StartTransaction))
    assert start.meter_start_wh == 5000.0


# -- limits ------------------------------------------------------------------------------


def test_limit_below_6a_suspends_and_restores() -> None:
    bench = Bench()
    charging(bench)
    assert_actions(bench.feed(CurrentLimitChanged(1, 10.0)), SetPwm(1, 16.7, 10.0),
                   absent=(OpenContactor,))
    assert_actions(bench.feed(CurrentLimitChanged(1, 4.0)), PwmOff(1), StartTimer,
                   absent=(OpenContactor, StopTransaction))
    assert_actions(bench.feed(PilotChanged(1, B)), OpenContactor(1), CancelTimer("evstop:1"))
    assert bench.status(1) is S.SUSPENDED_EVSE
    assert_actions(bench.feed(CurrentLimitChanged(0, 13.0)), absent=(SetPwm,))
    assert_actions(bench.feed(CurrentLimitChanged(1, 20.0)), SetPwm(1, 21.7, 13.0))
    assert bench.status(1) is S.SUSPENDED_EV
    assert_actions(bench.feed(PilotChanged(1, C)), CloseContactor(1))


def test_cable_rating_and_remote_limit_cap_the_offer() -> None:
    bench = Bench()
    bench.feed(CableRating(1, 20))
    bench.feed(PilotChanged(1, B))
    actions = bench.feed(RemoteStartRequested(1, "T", limit_a=16.0))
    assert_actions(actions, StartTransaction, SetPwm(1, 26.7, 16.0))
    assert bench.station.snapshot().connectors[0].limit_a == 16.0


def test_limit_restored_during_wind_down_keeps_contactor_closed() -> None:
    bench = Bench()
    charging(bench)
    bench.feed(CurrentLimitChanged(1, 0.0))
    actions = bench.feed(CurrentLimitChanged(1, 16.0))
    assert_actions(actions, SetPwm(1, 26.7, 16.0), CancelTimer("evstop:1"),
                   absent=(OpenContactor,))


# -- availability ------------------------------------------------------------------------


def test_inoperative_during_transaction_is_scheduled() -> None:
    bench = Bench()
    charging(bench)
    assert_actions(bench.feed(AvailabilityChanged(1, False)),
                   Reply("Scheduled", AvailabilityChanged, 1), absent=(OpenContactor,))
    assert bench.status(1) is S.CHARGING
    bench.feed(CardPresented("TAG1"))
    actions = bench.feed(PilotChanged(1, B))
    assert_actions(actions, OpenContactor(1), StopTransaction, SetStateF(1),
                   ReportStatus(1, S.UNAVAILABLE, at=100.0))
    assert_actions(bench.feed(AvailabilityChanged(1, True)),
                   Reply("Accepted", AvailabilityChanged, 1), PwmOff(1),
                   ReportStatus(1, S.FINISHING, at=100.0))


def test_station_inoperative() -> None:
    bench = Bench(connectors=2)
    charging(bench, 2)
    assert_actions(bench.feed(AvailabilityChanged(0, False)),
                   Reply("Scheduled", AvailabilityChanged, 0), SetStateF(1),
                   ReportStatus(1, S.UNAVAILABLE, at=100.0))
    assert bench.status(2) is S.CHARGING
    view = bench.station.snapshot()
    assert not view.operative and all(c.operative for c in view.connectors)
    bench.feed(RemoteStopRequested(2))
    actions = bench.feed(PilotChanged(2, B))
    assert_actions(actions, StopTransaction, ReportStatus(0, S.UNAVAILABLE, at=100.0))
    assert bench.status(2) is S.UNAVAILABLE
    assert_actions(bench.feed(AvailabilityChanged(7, True)),
                   Reply("Rejected", AvailabilityChanged, 7))


def test_unavailable_drops_a_waiting_authorization() -> None:
    bench = Bench()
    bench.feed(RemoteStartRequested(1, "T"))
    assert bench.status(1) is S.PREPARING
    actions = bench.feed(AvailabilityChanged(1, False))
    assert_actions(actions, CancelTimer("connection:1"), SetStateF(1))
    bench.feed(AvailabilityChanged(1, True))
    assert_actions(bench.feed(PilotChanged(1, B)), absent=(StartTransaction,))


# -- unlock ------------------------------------------------------------------------------


def test_unlock_without_lock_or_unknown_connector_is_not_supported() -> None:
    bench = Bench()
    assert_actions(bench.feed(UnlockRequested(1)), Reply("NotSupported", UnlockRequested, 1))
    assert_actions(bench.feed(UnlockRequested(2)), Reply("NotSupported", UnlockRequested, 2))


def test_unlock_on_a_fixed_cable_during_a_session_is_not_supported_and_charging_goes_on() -> None:
    """OCTT 018_2: a fixed cable has nothing to unlock; the transaction is not stopped."""
    bench = Bench()  # has_lock False: fixed cable
    charging(bench)
    actions = bench.feed(UnlockRequested(1))
    assert_actions(actions, Reply("NotSupported", UnlockRequested, 1),
                   absent=(PwmOff, OpenContactor, StopTransaction))
    assert bench.status(1) is S.CHARGING


def test_unlock_with_session_stops_then_unlocks() -> None:
    bench = Bench(settings=Settings(has_lock=True))
    charging(bench)
    actions = bench.feed(UnlockRequested(1))
    assert_actions(actions, PwmOff(1), absent=(UnlockConnector, Reply))
    actions = bench.feed(PilotChanged(1, B))
    assert_actions(actions, OpenContactor(1),
                   StopTransaction(1, None, 0.0, 100.0, StopReason.UNLOCK_COMMAND),
                   UnlockConnector(1), absent=(Reply,))
    assert_actions(bench.feed(LockFeedback(1, False)),
                   CancelTimer("unlock:1"), Reply("Unlocked", UnlockRequested, 1))


def test_unlock_without_session_and_failure() -> None:
    bench = Bench(settings=Settings(has_lock=True))
    bench.feed(LockFeedback(1, False))
    assert_actions(bench.feed(UnlockRequested(1)), Reply("Unlocked", UnlockRequested, 1),
                   absent=(UnlockConnector,))
    bench.feed(LockFeedback(1, True))  # stuck
    assert_actions(bench.feed(UnlockRequested(1)), UnlockConnector(1), absent=(Reply,))
    assert_actions(bench.feed(TimerExpired("unlock:1")),
                   Reply("UnlockFailed", UnlockRequested, 1))


def test_lock_lost_while_charging_opens_at_once() -> None:
    bench = Bench(settings=Settings(has_lock=True))
    charging(bench)
    actions = bench.feed(LockFeedback(1, False))
    assert actions[0] == OpenContactor(1)
    assert_actions(actions, PwmOff(1), absent=(StartTimer,))


def test_no_pwm_before_the_lock_confirms() -> None:
    bench = Bench(settings=Settings(has_lock=True))
    bench.feed(PilotChanged(1, B))
    bench.feed(RemoteStartRequested(1, "T"))
    assert_actions(bench.feed(PilotChanged(1, C)), absent=(SetPwm, CloseContactor))
    assert bench.status(1) is S.PREPARING
    assert_actions(bench.feed(LockFeedback(1, True)), SetPwm, CloseContactor(1))
    assert any(isinstance(a, LockConnector) for a in bench.log)


# -- one reader, several connectors ------------------------------------------------------


def test_card_goes_to_the_plugged_connector_first() -> None:
    bench = Bench(connectors=3)
    bench.feed(PilotChanged(2, B))
    assert_actions(bench.feed(CardPresented("T")), RequestAuthorization(1, "T", 2))
    assert_actions(bench.feed(CardPresented("T")), exact=True)  # repeated read, in flight
    bench.feed(AuthorizationResult(1, "T", OK))
    assert bench.status(2) is S.PREPARING
    assert bench.station.snapshot().connectors[1].session is not None


def test_tap_then_plug_follows_the_ev_to_another_connector() -> None:
    bench = Bench(connectors=2)
    assert_actions(bench.feed(CardPresented("T")), RequestAuthorization(1, "T", 1))
    bench.feed(AuthorizationResult(1, "T", OK))
    assert bench.status(1) is S.PREPARING
    actions = bench.feed(PilotChanged(2, B))
    assert_actions(actions, CancelTimer("connection:1"), StartTransaction(2, "T", 0.0, 100.0))
    assert bench.status(1) is S.AVAILABLE


def test_same_card_again_while_waiting_for_the_ev_is_ignored() -> None:
    bench = Bench(connectors=2)
    bench.feed(CardPresented("T"))
    bench.feed(AuthorizationResult(1, "T", OK))
    assert_actions(bench.feed(CardPresented("T")), exact=True)
    assert bench.status(1) is S.PREPARING and bench.status(2) is S.AVAILABLE


def test_same_tag_stops_its_own_session_even_with_another_ev_waiting() -> None:
    bench = Bench(connectors=2)
    charging(bench, 1, "T1")
    bench.feed(PilotChanged(2, B))
    assert_actions(bench.feed(CardPresented("T1")), PwmOff(1),
                   absent=(RequestAuthorization,))


def test_rejected_card_leaves_the_connector_waiting() -> None:
    bench = Bench()
    bench.feed(PilotChanged(1, B))
    bench.feed(CardPresented("BAD"))
    assert_actions(bench.feed(AuthorizationResult(1, "BAD", AuthStatus.BLOCKED)),
                   absent=(StartTransaction,))
    assert bench.status(1) is S.PREPARING
    assert_actions(bench.feed(CardPresented("GOOD")), RequestAuthorization(2, "GOOD", 1))


def test_newer_card_supersedes_one_in_flight() -> None:
    bench = Bench()
    bench.feed(PilotChanged(1, B))
    assert_actions(bench.feed(CardPresented("BAD")), RequestAuthorization(1, "BAD", 1))
    assert_actions(bench.feed(CardPresented("GOOD")), RequestAuthorization(2, "GOOD", 1))
    assert_actions(bench.feed(AuthorizationResult(1, "BAD", AuthStatus.INVALID)), exact=True)
    assert_actions(bench.feed(AuthorizationResult(2, "GOOD", OK)), StartTransaction)
    # a remote start's authorization in flight is not superseded by a card
    bench2 = Bench()
    bench2.feed(PilotChanged(1, B))
    bench2.feed(RemoteStartRequested(1, "R", authorized=False))
    assert_actions(bench2.feed(CardPresented("C")), exact=True)


def test_the_stopping_card_read_again_does_not_restart() -> None:
    bench = Bench()
    charging(bench, 1, "T1")
    bench.feed(CardPresented("T1"))
    bench.feed(PilotChanged(1, B))
    assert bench.status(1) is S.FINISHING
    assert_actions(bench.feed(CardPresented("T1")), exact=True)
    assert_actions(bench.feed(CardPresented("T2")), RequestAuthorization(2, "T2", 1))
    assert_actions(bench.feed(AuthorizationResult(2, "T2", OK)), StartTransaction(
        1, "T2", 0.0, 100.0))


def test_busy_station_ignores_a_second_card() -> None:
    bench = Bench()
    charging(bench, 1, "T1")
    assert_actions(bench.feed(CardPresented("T2")), exact=True)


# -- statuses and view -------------------------------------------------------------------


def test_suspended_ev_after_the_grace_period() -> None:
    bench = Bench()
    bench.feed(PilotChanged(1, B))
    bench.feed(RemoteStartRequested(1, "T"))
    assert bench.status(1) is S.PREPARING
    assert_actions(bench.feed(TimerExpired("evstart:1")),
                   ReportStatus(1, S.SUSPENDED_EV, at=110.0))
    bench.feed(PilotChanged(1, C))
    assert_actions(bench.feed(PilotChanged(1, B)), OpenContactor(1),
                   ReportStatus(1, S.SUSPENDED_EV, at=110.0))


def test_snapshot_shows_the_session() -> None:
    bench = Bench(connectors=2)
    bench.feed(MeterUpdated(1, 1234.0, 11040.0))
    bench.feed(CsmsLinkChanged(Link.ONLINE))
    charging(bench, 1, "04A1B2C3")
    view = bench.station.snapshot()
    assert view.link is Link.ONLINE and view.status is S.AVAILABLE
    c1 = view.connectors[0]
    assert (c1.status, c1.pilot, c1.contactor_closed, c1.pwm_a) == (S.CHARGING, C, True, 32.0)
    assert c1.session is not None and c1.session.id_tag == "04A1B2C3"
    assert c1.session.meter_start_wh == 1234.0 and c1.energy_wh == 1234.0
    assert view.connectors[1].session is None


def test_settings_change_applies() -> None:
    bench = Bench()
    bench.feed(SettingsChanged(Settings(connection_timeout_s=5.0)))
    bench.feed(CardPresented("T"))
    assert_actions(bench.feed(AuthorizationResult(1, "T", OK)),
                   StartTimer("connection:1", 105.0))
    assert bench.station.settings.connection_timeout_s == 5.0


def test_stale_timer_is_ignored() -> None:
    st = Station(1, Settings(), now=0.0)
    st.startup(0.0)
    assert st.handle(TimerExpired("evstop:1"), 1.0) == []
    assert st.handle(TimerExpired("nonsense"), 1.0) == []
