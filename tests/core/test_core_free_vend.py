"""Free vend in the core: a plug-in starts a transaction without a card or an authorization
request; unplugging ends it; cards keep working around it."""

from __future__ import annotations

from chargepoint.core.actions import (
    CloseContactor,
    RequestAuthorization,
    StartTransaction,
    StopTransaction,
)
from chargepoint.core.events import (
    AuthorizationResult,
    CardPresented,
    LockFeedback,
    PilotChanged,
    TransactionConfirmed,
)
from chargepoint.core.types import AuthStatus, PilotState, Settings, StopReason

from .support import Bench, assert_actions

A, B, C = PilotState.A, PilotState.B, PilotState.C
FREE = Settings(free_vend_id_tag="FREEVEND")


def test_plug_in_starts_at_once_without_authorization() -> None:
    bench = Bench(settings=FREE)
    actions = bench.feed(PilotChanged(1, B))
    assert_actions(actions, StartTransaction(1, "FREEVEND", 0.0, bench.now, None,
                                             free_vend=True), absent=(RequestAuthorization,))
    bench.feed(TransactionConfirmed(1, AuthStatus.ACCEPTED))
    assert_actions(bench.feed(PilotChanged(1, C)), CloseContactor(1))
    stop = bench.feed(PilotChanged(1, A))
    assert_actions(stop, StopTransaction)
    last = next(a for a in stop if isinstance(a, StopTransaction))
    assert last.reason is StopReason.EV_DISCONNECTED


def test_with_a_lock_it_locks_first() -> None:
    bench = Bench(settings=Settings(free_vend_id_tag="HOME", has_lock=True))
    assert_actions(bench.feed(PilotChanged(1, B)), absent=(StartTransaction,))
    assert_actions(bench.feed(LockFeedback(1, True)), StartTransaction)


def test_off_by_default() -> None:
    bench = Bench()
    assert_actions(bench.feed(PilotChanged(1, B)), absent=(StartTransaction,))


def test_a_card_tapped_before_the_plug_in_wins() -> None:
    bench = Bench(settings=FREE)
    request = bench.feed(CardPresented("04A1B2C3"))
    assert_actions(request, RequestAuthorization)
    rid = next(a for a in request if isinstance(a, RequestAuthorization)).request_id
    bench.feed(AuthorizationResult(rid, "04A1B2C3", AuthStatus.ACCEPTED))
    actions = bench.feed(PilotChanged(1, B))
    assert_actions(actions, StartTransaction(1, "04A1B2C3", 0.0, bench.now, None))


def test_a_tap_on_a_busy_free_vend_connector_is_ignored() -> None:
    bench = Bench(settings=FREE)
    bench.feed(PilotChanged(1, B))
    assert_actions(bench.feed(CardPresented("04A1B2C3")),
                   absent=(RequestAuthorization, StartTransaction, StopTransaction))
