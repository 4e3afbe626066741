"""OCTT 1.6 charge-point session cases, one table row per step (event -> actions, status).

The CSMS side of each case is played by the events the OCPP adapter would submit
(AuthorizationResult, RemoteStartRequested, TransactionConfirmed, ...).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from chargepoint.core.actions import (
    CancelTimer,
    ClearReservation,
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
    CardPresented,
    FaultCleared,
    FaultRaised,
    LockFeedback,
    MeterUpdated,
    PilotChanged,
    RemoteStartRequested,
    RemoteStopRequested,
    ReservationCancelled,
    ReservationMade,
    StopRequested,
    TimerExpired,
    TransactionConfirmed,
    UnlockRequested,
)
from chargepoint.core.types import (
    AuthStatus,
    ConnectorStatus,
    FaultKind,
    PilotState,
    Settings,
    StopReason,
)

from .support import Bench, Row, run_rows

A, B, C = PilotState.A, PilotState.B, PilotState.C
S = ConnectorStatus
OK = AuthStatus.ACCEPTED
T0 = 100.0  # Bench start time
TAG, OTHER, PARENT = "04A1B2C3", "0BADCAFE", "PARENT01"

CHARGING_BY_CARD_PLUG_FIRST = [
    Row(MeterUpdated(1, 1000.0)),
    Row(PilotChanged(1, B), (), S.PREPARING, absent=(StartTransaction, SetPwm)),
    Row(CardPresented(TAG), (RequestAuthorization(1, TAG, 1),), S.PREPARING),
    Row(AuthorizationResult(1, TAG, OK),
        (StartTransaction(1, TAG, 1000.0, T0, None), SetPwm(1, 53.3, 32.0)), S.PREPARING),
    Row(PilotChanged(1, C), (CloseContactor(1), ReportStatus(1, S.CHARGING, at=T0)),
        S.CHARGING),
    Row(TransactionConfirmed(1, OK), (), S.CHARGING, absent=(OpenContactor, PwmOff)),
    Row(MeterUpdated(1, 1500.0)),
]

CASES: dict[str, tuple[Settings, list[Row]]] = {
    # 003 Regular charging session - plugin first; 068 stop with the same idTag (no CSMS).
    "003+068": (Settings(), [
        *CHARGING_BY_CARD_PLUG_FIRST,
        Row(CardPresented(TAG), (PwmOff(1), StartTimer("evstop:1", T0 + 3.0)), S.CHARGING,
            absent=(RequestAuthorization, OpenContactor, StopTransaction)),
        Row(PilotChanged(1, B), (OpenContactor(1), StopTransaction(1, TAG, 1500.0, T0,
            StopReason.LOCAL), ReportStatus(1, S.FINISHING, at=T0)), S.FINISHING),
        Row(PilotChanged(1, A), (ReportStatus(1, S.AVAILABLE, at=T0),), S.AVAILABLE),
    ]),
    # 004_1 Regular charging session - identification first.
    "004_1": (Settings(), [
        Row(CardPresented(TAG), (RequestAuthorization(1, TAG, 1),), S.AVAILABLE),
        Row(AuthorizationResult(1, TAG, OK), (StartTimer("connection:1", T0 + 60.0),),
            S.PREPARING, absent=(StartTransaction,)),
        Row(PilotChanged(1, B), (CancelTimer("connection:1"), StartTransaction,
            SetPwm(1, 53.3, 32.0)), S.PREPARING),
        Row(PilotChanged(1, C), (CloseContactor(1),), S.CHARGING),
    ]),
    # 004_2 ConnectionTimeOut: authorized, no cable in time -> Available, no transaction.
    "004_2": (Settings(connection_timeout_s=30.0), [
        Row(CardPresented(TAG), (RequestAuthorization,)),
        Row(AuthorizationResult(1, TAG, OK), (StartTimer("connection:1", T0 + 30.0),),
            S.PREPARING),
        Row(TimerExpired("connection:1"), (ReportStatus,), S.AVAILABLE,
            absent=(StartTransaction,)),
        Row(PilotChanged(1, B), (), S.PREPARING, absent=(StartTransaction, SetPwm)),
    ]),
    # 005_1 EV side disconnect: StopTransactionOnEVSideDisconnect and Unlock... true.
    "005_1": (Settings(has_lock=True), [
        Row(PilotChanged(1, B), (), S.PREPARING),
        Row(CardPresented(TAG), (RequestAuthorization,)),
        # OCTT 024 order: lock first, the transaction once the lock confirmed.
        Row(AuthorizationResult(1, TAG, OK), (LockConnector(1),), S.PREPARING,
            absent=(StartTransaction, SetPwm)),
        Row(LockFeedback(1, True), (StartTransaction(1, TAG, 0.0, T0, None), SetPwm)),
        Row(PilotChanged(1, C), (CloseContactor(1),), S.CHARGING),
        Row(PilotChanged(1, A), (OpenContactor(1), PwmOff(1), StopTransaction(
            1, None, 0.0, T0 + 130.0, StopReason.EV_DISCONNECTED), UnlockConnector(1)),
            S.FINISHING, after=130.0),
        Row(LockFeedback(1, False), (), S.AVAILABLE),
    ]),
    # 005_2 StopTransactionOnEVSideDisconnect true, UnlockConnectorOnEVSideDisconnect false:
    # the transaction stops, the cable stays locked (Finishing) until unlocked.
    "005_2": (Settings(has_lock=True, unlock_connector_on_ev_side_disconnect=False), [
        Row(PilotChanged(1, B)),
        Row(CardPresented(TAG)),
        Row(AuthorizationResult(1, TAG, OK), (LockConnector(1),), absent=(StartTransaction,)),
        Row(LockFeedback(1, True), (StartTransaction, SetPwm)),
        Row(PilotChanged(1, C), (CloseContactor(1),), S.CHARGING),
        Row(PilotChanged(1, A), (OpenContactor(1), StopTransaction), S.FINISHING,
            absent=(UnlockConnector,)),
        Row(UnlockRequested(1), (UnlockConnector(1),), S.FINISHING, absent=(Reply,)),
        Row(LockFeedback(1, False), (Reply("Unlocked", UnlockRequested, 1),), S.AVAILABLE),
    ]),
    # 005_3 StopTransactionOnEVSideDisconnect false: the transaction goes on (SuspendedEV),
    # the cable stays locked, and charging resumes when the EV is back.
    "005_3": (Settings(has_lock=True, stop_transaction_on_ev_side_disconnect=False), [
        Row(PilotChanged(1, B)),
        Row(CardPresented(TAG)),
        Row(AuthorizationResult(1, TAG, OK), (LockConnector(1),), absent=(StartTransaction,)),
        Row(LockFeedback(1, True), (StartTransaction, SetPwm)),
        Row(PilotChanged(1, C), (CloseContactor(1),), S.CHARGING),
        Row(PilotChanged(1, A), (OpenContactor(1), PwmOff(1)), S.SUSPENDED_EV,
            absent=(StopTransaction, UnlockConnector)),
        Row(PilotChanged(1, B), (SetPwm,), S.SUSPENDED_EV),
        Row(PilotChanged(1, C), (CloseContactor(1),), S.CHARGING),
        Row(CardPresented(TAG), (PwmOff(1),), absent=(StopTransaction,)),
        Row(PilotChanged(1, B), (OpenContactor(1), StopTransaction, UnlockConnector(1)),
            S.FINISHING),
    ]),
    # 024 Lock failure: the lock cannot engage -> Faulted / ConnectorLockFailure, and no
    # StartTransaction nor StopTransaction at all; the authorization is dropped.
    "024": (Settings(has_lock=True), [
        Row(RemoteStartRequested(1, TAG), (Reply("Accepted", RemoteStartRequested, 1),),
            S.PREPARING, absent=(LockConnector,)),
        Row(PilotChanged(1, B), (StartTimer("connection:1", T0 + 60.0), LockConnector(1)),
            S.PREPARING,
            absent=(StartTransaction, SetPwm)),
        Row(FaultRaised(1, FaultKind.LOCK, "no lock feedback"), (CancelTimer("connection:1"),
            SetStateF(1), UnlockConnector(1), ReportStatus(
                1, S.FAULTED, "ConnectorLockFailure", "no lock feedback", T0)), S.FAULTED,
            absent=(StartTransaction, StopTransaction)),
        Row(LockFeedback(1, True), (), S.FAULTED, absent=(StartTransaction, SetPwm)),
        Row(FaultCleared(1, FaultKind.LOCK), (PwmOff(1),), S.PREPARING,
            absent=(StartTransaction, LockConnector)),
        # the authorization is gone: a new one is needed (the plugged EV waits for a card)
        Row(CardPresented(OTHER), (RequestAuthorization(1, OTHER, 1),), S.PREPARING),
    ]),
    # The lock confirms: StartTransaction then, with the meter reading and time of that moment.
    "024 lock confirms": (Settings(has_lock=True), [
        Row(MeterUpdated(1, 1000.0)),
        Row(PilotChanged(1, B), (), S.PREPARING),
        Row(CardPresented(TAG), (RequestAuthorization(1, TAG, 1),)),
        Row(AuthorizationResult(1, TAG, OK), (StartTimer("connection:1", T0 + 60.0),
            LockConnector(1)), S.PREPARING, absent=(StartTransaction,)),
        Row(MeterUpdated(1, 1010.0), after=0.5),
        Row(PilotChanged(1, C), (), S.PREPARING, absent=(CloseContactor, StartTransaction)),
        Row(LockFeedback(1, True), (CancelTimer("connection:1"),
            StartTransaction(1, TAG, 1010.0, T0 + 1.0, None), SetPwm(1, 53.3, 32.0),
            CloseContactor(1)), S.CHARGING, after=0.5),
    ]),
    # No confirmation and no fault from the lock: ConnectionTimeOut ends the attempt.
    "024 lock never answers": (Settings(has_lock=True), [
        Row(PilotChanged(1, B)),
        Row(RemoteStartRequested(1, TAG), (StartTimer("connection:1", T0 + 60.0),
            LockConnector(1)), S.PREPARING),
        Row(TimerExpired("connection:1"), (UnlockConnector(1),), S.PREPARING,
            absent=(StartTransaction, StopTransaction)),
        Row(LockFeedback(1, True), (), S.PREPARING, absent=(StartTransaction, SetPwm)),
    ]),
    # The owner's card before the lock confirmed: the attempt ends, no transaction.
    "card stop while locking": (Settings(has_lock=True), [
        Row(PilotChanged(1, B)),
        Row(CardPresented(TAG), (RequestAuthorization(1, TAG, 1),)),
        Row(AuthorizationResult(1, TAG, OK), (LockConnector(1),)),
        Row(CardPresented(TAG), (CancelTimer("connection:1"), UnlockConnector(1)),
            S.PREPARING, absent=(StartTransaction, StopTransaction, RequestAuthorization)),
        Row(LockFeedback(1, True), (), S.PREPARING, absent=(StartTransaction,)),
    ]),
    "remote stop while locking": (Settings(has_lock=True), [
        Row(PilotChanged(1, B)),
        Row(RemoteStartRequested(1, TAG), (LockConnector(1),)),
        Row(RemoteStopRequested(1), (Reply("Accepted", RemoteStopRequested, 1),
            UnlockConnector(1)), S.PREPARING,
            absent=(StartTransaction, StopTransaction)),
        Row(RemoteStopRequested(1), (Reply("Rejected", RemoteStopRequested, 1),)),
    ]),
    "unplug while locking": (Settings(has_lock=True), [
        Row(PilotChanged(1, B)),
        Row(RemoteStartRequested(1, TAG), (LockConnector(1),)),
        Row(PilotChanged(1, A), (CancelTimer("connection:1"), UnlockConnector(1)),
            S.AVAILABLE, absent=(StartTransaction, StopTransaction)),
        Row(LockFeedback(1, True), (), S.AVAILABLE, absent=(StartTransaction,)),
        Row(PilotChanged(1, B), (), S.PREPARING, absent=(StartTransaction, LockConnector)),
    ]),
    "unavailable while locking": (Settings(has_lock=True), [
        Row(PilotChanged(1, B)),
        Row(RemoteStartRequested(1, TAG), (LockConnector(1),)),
        Row(AvailabilityChanged(1, False), (Reply("Accepted", AvailabilityChanged, 1),
            SetStateF(1), UnlockConnector(1)), S.UNAVAILABLE,
            absent=(StartTransaction, StopTransaction)),
    ]),
    "unlock request while locking": (Settings(has_lock=True), [
        Row(PilotChanged(1, B)),
        Row(RemoteStartRequested(1, TAG), (LockConnector(1),)),
        Row(UnlockRequested(1), (UnlockConnector(1),), S.PREPARING,
            absent=(StartTransaction, StopTransaction, Reply)),
        Row(LockFeedback(1, False), (Reply("Unlocked", UnlockRequested, 1),), S.PREPARING),
    ]),
    "reset while locking": (Settings(has_lock=True), [
        Row(PilotChanged(1, B)),
        Row(RemoteStartRequested(1, TAG), (LockConnector(1),)),
        Row(StopRequested(0, StopReason.SOFT_RESET), (UnlockConnector(1),), S.PREPARING,
            absent=(StartTransaction, StopTransaction)),
    ]),
    # A cable kept locked after the EV left (005_2) is already locked: a new authorization
    # starts at once.
    "005_2 new session on the locked cable": (
        Settings(has_lock=True, unlock_connector_on_ev_side_disconnect=False), [
            Row(PilotChanged(1, B)),
            Row(RemoteStartRequested(1, TAG), (LockConnector(1),)),
            Row(LockFeedback(1, True), (StartTransaction,)),
            Row(PilotChanged(1, A), (StopTransaction,), S.FINISHING, absent=(UnlockConnector,)),
            Row(PilotChanged(1, B), (), S.FINISHING),
            Row(RemoteStartRequested(1, OTHER), (Reply("Accepted", RemoteStartRequested, 1),
                StartTransaction(1, OTHER, 0.0, T0, None), SetPwm), S.PREPARING,
                absent=(LockConnector, UnlockConnector)),
        ]),
    # A reservation is used (and cleared) when the transaction starts, after the lock.
    "046_1 socket": (Settings(has_lock=True), [
        Row(ReservationMade(7, 1, TAG, None, T0 + 600), (Reply,), S.RESERVED),
        Row(RemoteStartRequested(1, TAG), (Reply("Accepted", RemoteStartRequested, 1),),
            S.PREPARING),
        Row(PilotChanged(1, B), (LockConnector(1),), S.PREPARING,
            absent=(StartTransaction, ClearReservation)),
        Row(LockFeedback(1, True), (StartTransaction(1, TAG, 0.0, T0, 7),
            CancelTimer("reservation:7"), ClearReservation(7))),
    ]),
    # 010 Remote start - cable plugged in first (AuthorizeRemoteTxRequests true).
    "010": (Settings(), [
        Row(PilotChanged(1, B), (), S.PREPARING),
        Row(RemoteStartRequested(1, TAG, authorized=False),
            (Reply("Accepted", RemoteStartRequested, 1), RequestAuthorization(1, TAG, 1))),
        Row(AuthorizationResult(1, TAG, OK), (StartTransaction, SetPwm)),
        Row(PilotChanged(1, C), (CloseContactor(1),), S.CHARGING),
    ]),
    # 011_1 Remote start first, then the cable (AuthorizeRemoteTxRequests false).
    "011_1": (Settings(), [
        Row(RemoteStartRequested(1, TAG), (Reply("Accepted", RemoteStartRequested, 1),
            StartTimer("connection:1", T0 + 60.0)), S.PREPARING,
            absent=(RequestAuthorization,)),
        Row(PilotChanged(1, B), (StartTransaction, SetPwm)),
        Row(PilotChanged(1, C), (CloseContactor(1),), S.CHARGING),
    ]),
    # 011_2 Remote start, connection timeout.
    "011_2": (Settings(), [
        Row(RemoteStartRequested(None, TAG), (Reply("Accepted", RemoteStartRequested),),
            S.PREPARING),
        Row(TimerExpired("connection:1"), (), S.AVAILABLE, absent=(StartTransaction,)),
    ]),
    # 026/027: remote start on a busy connector / on connector 0 is rejected.
    "026+027": (Settings(), [
        *CHARGING_BY_CARD_PLUG_FIRST,
        Row(RemoteStartRequested(1, OTHER), (Reply("Rejected", RemoteStartRequested, 1),),
            S.CHARGING),
        Row(RemoteStartRequested(0, OTHER), (Reply("Rejected", RemoteStartRequested, 0),)),
    ]),
    # 069 stop with an idTag of the same parentIdTag (needs the CSMS for the parent).
    "069": (Settings(), [
        Row(PilotChanged(1, B)),
        Row(CardPresented(TAG), (RequestAuthorization(1, TAG, 1),)),
        Row(AuthorizationResult(1, TAG, OK, PARENT), (StartTransaction,)),
        Row(PilotChanged(1, C), (CloseContactor(1),), S.CHARGING),
        Row(CardPresented(OTHER), (RequestAuthorization(2, OTHER, None),), S.CHARGING),
        Row(AuthorizationResult(2, OTHER, OK, PARENT), (PwmOff(1),)),
        Row(PilotChanged(1, B), (OpenContactor(1), StopTransaction(1, OTHER, 0.0, T0,
            StopReason.LOCAL)), S.FINISHING),
    ]),
    # A second card with a different parent on the busy connector is not used.
    "second card": (Settings(), [
        Row(PilotChanged(1, B)),
        Row(CardPresented(TAG)),
        Row(AuthorizationResult(1, TAG, OK, PARENT), (StartTransaction,)),
        Row(PilotChanged(1, C), (CloseContactor(1),), S.CHARGING),
        Row(CardPresented(OTHER), (RequestAuthorization(2, OTHER, None),)),
        Row(AuthorizationResult(2, OTHER, OK, "ELSEWHERE"), (), S.CHARGING,
            absent=(PwmOff, StopTransaction, StartTransaction)),
    ]),
    # 037_3-like: StartTransaction.conf Invalid, StopTransactionOnInvalidId true.
    "invalid stops": (Settings(), [
        *CHARGING_BY_CARD_PLUG_FIRST[:5],
        Row(TransactionConfirmed(1, AuthStatus.INVALID), (PwmOff(1),), S.CHARGING),
        Row(PilotChanged(1, B), (OpenContactor(1), StopTransaction(1, None, 1000.0, T0,
            StopReason.DE_AUTHORIZED)), S.FINISHING),
    ]),
    # 037_2-like: Invalid with StopTransactionOnInvalidId false: energy stops, tx goes on.
    "invalid suspends": (Settings(stop_transaction_on_invalid_id=False), [
        *CHARGING_BY_CARD_PLUG_FIRST[:5],
        Row(TransactionConfirmed(1, AuthStatus.INVALID), (PwmOff(1), StartTimer), S.CHARGING),
        Row(PilotChanged(1, B), (OpenContactor(1),), S.SUSPENDED_EVSE,
            absent=(StopTransaction,)),
        Row(PilotChanged(1, C), (), S.SUSPENDED_EVSE, absent=(CloseContactor, SetPwm)),
    ]),
    # MaxEnergyOnInvalidId: keep charging until that much energy went in, then suspend.
    "invalid max energy": (Settings(stop_transaction_on_invalid_id=False,
                                    max_energy_on_invalid_id_wh=500.0), [
        *CHARGING_BY_CARD_PLUG_FIRST[:5],
        Row(TransactionConfirmed(1, AuthStatus.INVALID), (), S.CHARGING, absent=(PwmOff,)),
        Row(MeterUpdated(1, 1400.0), (), S.CHARGING, absent=(PwmOff,)),
        Row(MeterUpdated(1, 1500.0), (PwmOff(1),), S.CHARGING),
        Row(TimerExpired("evstop:1"), (OpenContactor(1),), S.SUSPENDED_EVSE,
            absent=(StopTransaction,)),
    ]),
    # 046_1 reserve a connector, local start; the reservation is used by the transaction.
    "046_1": (Settings(), [
        Row(ReservationMade(7, 1, TAG, None, T0 + 600), (
            Reply("Accepted", ReservationMade, 1), StartTimer("reservation:7", T0 + 600)),
            S.RESERVED),
        Row(CardPresented(OTHER), (), S.RESERVED, absent=(RequestAuthorization,)),
        Row(CardPresented(TAG), (RequestAuthorization(1, TAG, 1),), S.RESERVED),
        Row(AuthorizationResult(1, TAG, OK), (), S.PREPARING),
        Row(PilotChanged(1, B), (StartTransaction(1, TAG, 0.0, T0, 7),
            CancelTimer("reservation:7"), ClearReservation(7))),
    ]),
    # 046_2 reserve, remote start with the reserved idTag; another idTag is rejected.
    "046_2": (Settings(), [
        Row(ReservationMade(7, 1, TAG, None, T0 + 600), (Reply,), S.RESERVED),
        Row(RemoteStartRequested(1, OTHER), (Reply("Rejected", RemoteStartRequested, 1),),
            S.RESERVED),
        Row(RemoteStartRequested(1, TAG), (Reply("Accepted", RemoteStartRequested, 1),),
            S.PREPARING),
        Row(PilotChanged(1, B), (StartTransaction(1, TAG, 0.0, T0, 7), ClearReservation(7))),
    ]),
    # 047 reservation expires.
    "047": (Settings(), [
        Row(ReservationMade(7, 1, TAG, None, T0 + 600), (Reply,), S.RESERVED),
        Row(TimerExpired("reservation:7"), (ClearReservation(7),), S.AVAILABLE),
    ]),
    # 048_1..4 ReserveNow refused: Faulted, Occupied, Unavailable, Rejected.
    "048_1": (Settings(), [
        Row(FaultRaised(1, FaultKind.RCD), (), S.FAULTED),
        Row(ReservationMade(7, 1, TAG, None, T0 + 600), (Reply("Faulted", ReservationMade,
            1),), S.FAULTED, absent=(StartTimer,)),
    ]),
    "048_2": (Settings(), [
        Row(PilotChanged(1, B), (), S.PREPARING),
        Row(ReservationMade(7, 1, TAG, None, T0 + 600), (Reply("Occupied", ReservationMade,
            1),), S.PREPARING),
    ]),
    "048_3": (Settings(), [
        Row(AvailabilityChanged(1, False), (Reply("Accepted", AvailabilityChanged, 1),),
            S.UNAVAILABLE),
        Row(ReservationMade(7, 1, TAG, None, T0 + 600), (
            Reply("Unavailable", ReservationMade, 1),), S.UNAVAILABLE),
    ]),
    "048_4": (Settings(reserve_connector_zero_supported=False), [
        Row(ReservationMade(7, 0, TAG, None, T0 + 600), (
            Reply("Rejected", ReservationMade, 0),), S.AVAILABLE),
    ]),
    # 049 reserve the charge point (connector 0): the one connector shows Reserved.
    "049": (Settings(), [
        Row(ReservationMade(8, 0, TAG, None, T0 + 600), (
            Reply("Accepted", ReservationMade, 0),), S.RESERVED),
        Row(CardPresented(OTHER), (), S.RESERVED, absent=(RequestAuthorization,)),
        Row(PilotChanged(1, B), (), S.PREPARING),
        Row(CardPresented(TAG), (RequestAuthorization(1, TAG, 1),)),
        Row(AuthorizationResult(1, TAG, OK), (StartTransaction(1, TAG, 0.0, T0, 8),
            ClearReservation(8))),
    ]),
    # 051 cancel a reservation; 052 cancel an unknown one.
    "051+052": (Settings(), [
        Row(ReservationMade(7, 1, TAG, None, T0 + 600), (Reply,), S.RESERVED),
        Row(ReservationCancelled(7), (CancelTimer("reservation:7"), ClearReservation(7),
            Reply("Accepted", ReservationCancelled)), S.AVAILABLE),
        Row(ReservationCancelled(7), (Reply("Rejected", ReservationCancelled),)),
    ]),
    # 053_1 the reserved connector used by an idTag with the same parentIdTag.
    "053_1": (Settings(), [
        Row(ReservationMade(7, 1, TAG, PARENT, T0 + 600), (Reply,), S.RESERVED),
        Row(PilotChanged(1, B)),
        Row(CardPresented(OTHER), (RequestAuthorization(1, OTHER, 1),)),
        Row(AuthorizationResult(1, OTHER, OK, PARENT), (StartTransaction(1, OTHER, 0.0, T0, 7),
            ClearReservation(7))),
    ]),
    # 053_2 ... and an idTag with another parent may not use it.
    "053_2": (Settings(), [
        Row(ReservationMade(7, 1, TAG, PARENT, T0 + 600), (Reply,), S.RESERVED),
        Row(PilotChanged(1, B)),
        Row(CardPresented(OTHER), (RequestAuthorization(1, OTHER, 1),)),
        Row(AuthorizationResult(1, OTHER, OK, "ELSEWHERE"), (), S.PREPARING,
            absent=(StartTransaction, ClearReservation)),
    ]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_octt_case(case: str) -> None:
    settings, rows = CASES[case]
    run_rows(Bench(settings=settings, now=T0), rows)


def test_003_without_lock_never_locks() -> None:
    bench = Bench(now=T0)
    run_rows(bench, CHARGING_BY_CARD_PLUG_FIRST)
    assert not any(isinstance(a, LockConnector | UnlockConnector) for a in bench.log)


def test_005_1_socket_with_cable_left_in_is_finishing_until_removed() -> None:
    from chargepoint.core.events import CableRating

    settings = Settings(has_lock=True)
    rows = CASES["005_1"][1][:-2]
    bench = Bench(settings=settings, now=T0)
    bench.feed(CableRating(1, 32))
    run_rows(bench, rows)
    run_rows(bench, [
        Row(PilotChanged(1, A), (StopTransaction, UnlockConnector(1)), S.FINISHING),
        Row(LockFeedback(1, False), (), S.FINISHING),
        Row(CableRating(1, None), (), S.AVAILABLE),
    ])


def test_tables_are_not_vacuous() -> None:
    # Every case checks at least one action and one status.
    for name, (_, rows) in CASES.items():
        assert any(r.expect for r in rows), name
        assert any(r.status for r in rows), name
    assert replace(Settings(), has_lock=True).has_lock


def test_050_connector_zero_reservation_holds_the_last_free_connector() -> None:
    bench = Bench(connectors=2, now=T0)
    run_rows(bench, [
        Row(ReservationMade(8, 0, TAG, None, T0 + 600), (
            Reply("Accepted", ReservationMade, 0),), S.AVAILABLE),
        Row(ReservationMade(9, 0, OTHER, None, T0 + 600), (
            Reply("Accepted", ReservationMade, 0),), S.RESERVED),
        Row(ReservationCancelled(9), (ClearReservation(9),), S.AVAILABLE),
        # another driver may take one connector: the other one is then held (Reserved)
        Row(CardPresented(OTHER), (RequestAuthorization(1, OTHER, 1),)),
        Row(AuthorizationResult(1, OTHER, OK), (), S.RESERVED, connector=2),
        Row(CardPresented("T3"), (), absent=(RequestAuthorization,)),
        Row(RemoteStartRequested(2, "T3"), (Reply("Rejected", RemoteStartRequested, 2),)),
        Row(ReservationMade(10, 0, "T3", None, T0 + 600), (
            Reply("Occupied", ReservationMade, 0),)),
        # the reserved driver gets the held connector
        Row(CardPresented(TAG), (RequestAuthorization(2, TAG, 2),)),
        Row(AuthorizationResult(2, TAG, OK), (), S.PREPARING, connector=2),
        Row(PilotChanged(2, B), (StartTransaction(2, TAG, 0.0, T0, 8), ClearReservation(8))),
    ])


def test_connector_zero_reservation_with_a_parent_tap_then_plug() -> None:
    # A card presented before the EV on a station held by a connector-0 reservation with a
    # parent id tag is authorized (its parent may match); the same parent then starts.
    bench = Bench(now=T0)
    run_rows(bench, [
        Row(ReservationMade(8, 0, TAG, PARENT, T0 + 600), (
            Reply("Accepted", ReservationMade, 0),), S.RESERVED),
        Row(CardPresented(OTHER), (RequestAuthorization(1, OTHER, 1),)),
        Row(AuthorizationResult(1, OTHER, OK, PARENT), (), S.PREPARING),
        Row(PilotChanged(1, B), (StartTransaction(1, OTHER, 0.0, T0, 8), ClearReservation(8))),
    ])


def test_connector_zero_reservation_with_a_parent_refuses_another_parent() -> None:
    bench = Bench(now=T0)
    run_rows(bench, [
        Row(ReservationMade(8, 0, TAG, PARENT, T0 + 600), (
            Reply("Accepted", ReservationMade, 0),), S.RESERVED),
        Row(CardPresented(OTHER), (RequestAuthorization(1, OTHER, 1),)),
        Row(AuthorizationResult(1, OTHER, OK, "ELSEWHERE"), (), S.RESERVED,
            absent=(StartTransaction, ClearReservation)),
        Row(PilotChanged(1, B), (), absent=(StartTransaction,)),
    ])
