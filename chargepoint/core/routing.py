"""Authorization routing and reservations: which connector a card, a remote start or a
reservation goes to (helpers of :class:`chargepoint.core.station.Station`, which they reach through
``chargepoint.core.station_ops``).

Rules (OCPP 1.6 sections 3.5, 5.11, 5.13; OCTT 003, 004_1, 010, 011_1, 046-053, 068, 069):

A card presented to the station's one reader goes, in this order, to

1. the connector whose transaction was started with the *same* id tag: it stops it (no CSMS
   needed, OCTT 068); on a connector still locking the cable for that tag, the attempt ends
   with no transaction; the same tag on a connector waiting for its EV is ignored.
   (This precedes rule 2: a tag in a transaction cannot start a second one.)
2. the first connector with an EV plugged in and waiting for an authorization (OCTT 003);
   if every such connector still waits for the answer about an earlier card, the newer card
   supersedes it (OCTT 023: a refused card, then the right one, in quick succession);
3. when a transaction runs whose start authorization named a parent id tag: one
   ``RequestAuthorization`` (connector None); if the answer names the same parent id tag, that
   transaction stops (OCTT 069), otherwise an Accepted tag falls through to rule 4;
4. the first free connector (tap then plug, OCTT 004_1), a connector reserved for the tag
   first; while a reservation (also a connector-0 one) names a parent id tag, a free
   connector it holds is tried too (the answer's parent decides, OCPP 2.0.1 TC_H_24); the EV
   may then be plugged into any free connector: the authorization moves there;
5. nowhere: a second card on a busy station is ignored.

Repeated reads of a card whose authorization is still in flight are ignored.
"""

from __future__ import annotations

from chargepoint.core.actions import Action, Reply
from chargepoint.core.connector import Connector, Grant, Session, Source
from chargepoint.core.events import AuthorizationResult, RemoteStartRequested, ReservationMade
from chargepoint.core.outputs import blocking, operative
from chargepoint.core.pending import Pending, Purpose
from chargepoint.core.reservations import Reservation
from chargepoint.core.session import Phase
from chargepoint.core.station_ops import StationOps, StationReader
from chargepoint.core.types import AuthStatus, StopReason


def new_session(grant: Grant, meter_start: float, now: float,
                res: Reservation | None) -> Session:
    return Session(
        id_tag=grant.id_tag, parent_id_tag=grant.parent_id_tag, meter_start_wh=meter_start,
        started_at=now, reservation_id=None if res is None else res.reservation_id,
        limit_a=grant.limit_a,
    )


# -- reservations -------------------------------------------------------------------------


def _free(st: StationReader, c: Connector) -> bool:
    """Free for a station-wide (connector 0) reservation: idle, usable, not held otherwise."""
    return (
        c.phase is Phase.IDLE
        and c.grant is None
        and c.pending_request is None
        and st.reservations.on(c.id) is None
        and st.startable(c)
    )


def reservation_for(st: StationReader, c: Connector, id_tag: str,
                    parent: str | None) -> tuple[bool, Reservation | None]:
    """(may ``id_tag`` start on ``c``, the reservation a start would use)."""
    own = st.reservations.on(c.id)
    if own is not None:
        return (True, own) if own.admits(id_tag, parent) else (False, None)
    wide = st.reservations.station_wide()
    for r in wide:
        if r.admits(id_tag, parent):
            return True, r
    if not wide:
        return True, None
    # Connector-0 reservations each hold one free connector (OCPP 1.6 5.13).
    others = sum(1 for x in st.connectors if x is not c and _free(st, x))
    return others >= len(wide), None


def reserved(st: StationReader, c: Connector) -> bool:
    """Does ``c`` show Reserved (its own reservation, or held for a connector-0 one)?"""
    if c.phase is not Phase.IDLE:
        return False
    if st.reservations.on(c.id) is not None:
        return True
    wide = st.reservations.station_wide()
    if not wide or not _free(st, c):
        return False
    return sum(1 for x in st.connectors if _free(st, x)) <= len(wide)


def on_reserve(st: StationOps, ev: ReservationMade, now: float, out: list[Action]) -> None:
    """ReserveNow (OCTT 046-050): Accepted, Faulted, Occupied, Unavailable or Rejected."""
    old = st.lift_reservation(ev.reservation_id)  # same id: replace (OCPP 1.6 5.13)
    status = _reserve_status(st, ev, now)
    out.append(Reply(status, ReservationMade, ev.connector))
    if status == "Accepted":
        r = Reservation(ev.reservation_id, ev.connector, ev.id_tag, ev.parent_id_tag,
                        ev.expires_at)
        st.place_reservation(r, old, out)
    elif old is not None:
        st.put_back_reservation(old)


def _reserve_status(st: StationReader, ev: ReservationMade, now: float) -> str:
    n = st.connector_count
    if not 0 <= ev.connector <= n or ev.expires_at <= now:
        return "Rejected"
    facts = st.facts()
    if ev.connector == 0:
        if not st.settings.reserve_connector_zero_supported:
            return "Rejected"
        if any(_free(st, c) for c in st.connectors):
            free = sum(1 for c in st.connectors if _free(st, c))
            return "Accepted" if free > len(st.reservations.station_wide()) else "Occupied"
        if all(blocking(c, facts) for c in st.connectors):
            return "Faulted"
        if all(not operative(c, facts) for c in st.connectors):
            return "Unavailable"
        return "Occupied"
    c = st.conn(ev.connector)
    if blocking(c, facts):
        return "Faulted"
    if not operative(c, facts):
        return "Unavailable"
    if st.reservations.on(c.id) is not None or not _free(st, c):
        return "Occupied"
    allowed, _ = reservation_for(st, c, ev.id_tag, ev.parent_id_tag)
    return "Accepted" if allowed else "Occupied"


# -- cards --------------------------------------------------------------------------------


def _waiting_for_card(st: StationReader, id_tag: str) -> Connector | None:
    for c in st.connectors:
        if c.phase is Phase.FINISHING and c.finished_by == id_tag:
            continue  # the card that just stopped here (held on the reader): not a restart
        if c.phase in (Phase.PLUGGED, Phase.FINISHING) and st.startable(c):
            return c
    return None


def _superseded_card(st: StationOps) -> Connector | None:
    """A plugged connector whose card authorization is still in flight: a newer card wins
    (the driver tapped a refused card, then the right one); the older answer becomes stale."""
    for c in st.connectors:
        rid = c.pending_request
        p = None if rid is None else st.pending_requests.get(rid)
        if rid is None or p is None or p.source is not Source.CARD:
            continue
        if c.phase not in (Phase.PLUGGED, Phase.FINISHING):
            continue
        c.pending_request = None
        if st.startable(c):
            st.take_pending(rid)
            return c
        c.pending_request = rid
    return None


def pick_free(st: StationReader, id_tag: str, parent: str | None) -> Connector | None:
    """The connector a tap-then-plug authorization goes to (reserved for the tag first)."""
    idle = [c for c in st.connectors if c.phase is Phase.IDLE and st.startable(c)]
    for c in idle:
        own = st.reservations.on(c.id)
        if own is not None and own.admits(id_tag, parent):
            return c
    for c in idle:
        if st.reservations.on(c.id) is None and reservation_for(st, c, id_tag, parent)[0]:
            return c
    for c in idle:  # a reservation whose parent id tag may still match
        own = st.reservations.on(c.id)
        if own is not None and own.parent_id_tag is not None and parent is None:
            return c
    if parent is None and any(r.parent_id_tag is not None
                              for r in st.reservations.station_wide()):
        for c in idle:  # a connector-0 reservation whose parent id tag may still match
            if st.reservations.on(c.id) is None:
                return c
    return None


def on_card(st: StationOps, id_tag: str, now: float, out: list[Action]) -> None:
    """Route a card from the station's reader (see the module rules)."""
    if any(p.id_tag == id_tag for p in st.pending_requests.values()):
        return  # the reader saw the same card again while we wait for the answer
    for c in st.connectors:
        if c.session is not None and c.phase is Phase.TRANSACTION and c.session.id_tag == id_tag:
            st.stop(c, StopReason.LOCAL, id_tag, now, out)
            return
        if c.phase is Phase.LOCKING and c.grant is not None and c.grant.id_tag == id_tag:
            st.drop_grant(c, out)  # stopped before the lock confirmed: no transaction at all
            return
    for c in st.connectors:
        if c.phase is Phase.AUTHORIZED and c.grant is not None and c.grant.id_tag == id_tag:
            return  # already authorized, waiting for the EV (a card held on the reader)
    waiting = _waiting_for_card(st, id_tag) or _superseded_card(st)
    if waiting is not None:
        st.request_authorization(Pending(Purpose.START, waiting.id, id_tag, Source.CARD, None), out)
        return
    if any(c.session is not None and c.phase is Phase.TRANSACTION
           and c.session.parent_id_tag is not None for c in st.connectors):
        st.request_authorization(
            Pending(Purpose.STOP_OR_START, None, id_tag, Source.CARD, None), out)
        return
    free = pick_free(st, id_tag, None)
    if free is not None:
        st.request_authorization(Pending(Purpose.START, free.id, id_tag, Source.CARD, None), out)


def on_authorization(st: StationOps, ev: AuthorizationResult, now: float,
                     out: list[Action]) -> None:
    """Use the answer to a ``RequestAuthorization``; unknown request ids are stale."""
    p = st.take_pending(ev.request_id)
    if p is None:
        return
    grant = Grant(ev.id_tag, ev.parent_id_tag, p.source, p.limit_a, None)
    if p.purpose is Purpose.STOP_OR_START:
        if ev.parent_id_tag is not None:
            for c in st.connectors:
                s = c.session
                if s is not None and c.phase is Phase.TRANSACTION \
                        and s.parent_id_tag == ev.parent_id_tag:
                    st.stop(c, StopReason.LOCAL, ev.id_tag, now, out)  # OCTT 069
                    return
        if ev.status is AuthStatus.ACCEPTED:
            free = pick_free(st, ev.id_tag, ev.parent_id_tag)
            if free is not None:
                st.authorize(free, grant, now, out)
        return
    assert p.connector is not None
    c = st.conn(p.connector)
    if c.pending_request == ev.request_id:
        c.pending_request = None
    if ev.status is AuthStatus.ACCEPTED and st.startable(c):
        st.authorize(c, grant, now, out)


def take_waiting_grant(st: StationOps, c: Connector, now: float, out: list[Action]) -> None:
    """An EV was plugged into idle ``c``: a card authorization waiting on another connector
    (tap then plug, one reader) moves here and starts."""
    if not st.startable(c):
        return
    for other in st.connectors:
        g = other.grant
        if other is c or other.phase is not Phase.AUTHORIZED or g is None:
            continue
        if g.source is not Source.CARD or st.reservations.on(other.id) is not None:
            continue
        if not reservation_for(st, c, g.id_tag, g.parent_id_tag)[0]:
            continue
        st.drop_grant(other, out)
        st.authorize(c, g, now, out)
        return


def free_vend(st: StationOps, c: Connector, now: float, out: list[Action]) -> None:
    """Free vend (``Settings.free_vend_id_tag``): an EV plugged into idle ``c`` that no card
    or remote start claimed starts a transaction at once, without an authorization request.
    A reservation on ``c`` still holds it for its own tag."""
    tag = st.settings.free_vend_id_tag
    if tag is None or c.phase is not Phase.PLUGGED or not st.startable(c):
        return
    st.authorize(c, Grant(tag, None, Source.FREE_VEND, None, None), now, out)


# -- remote start -------------------------------------------------------------------------


def on_remote_start(st: StationOps, ev: RemoteStartRequested, now: float,
                    out: list[Action]) -> None:
    """RemoteStartTransaction (OCTT 010, 011_1, 026, 027): Reply Accepted or Rejected."""
    c: Connector | None
    if ev.connector is None:
        c = _waiting_for_card(st, ev.id_tag) or pick_free(st, ev.id_tag, None)
    elif 1 <= ev.connector <= st.connector_count:
        c = st.conn(ev.connector)
    else:
        c = None  # connector 0 or unknown (OCTT 027)
    if c is None or not st.startable(c):
        out.append(Reply("Rejected", RemoteStartRequested, ev.connector))
        return
    allowed, _ = reservation_for(st, c, ev.id_tag, None)
    own = st.reservations.on(c.id)
    parent_may_match = own is not None and own.parent_id_tag is not None and not ev.authorized
    if not allowed and not parent_may_match:
        out.append(Reply("Rejected", RemoteStartRequested, ev.connector))
        return
    out.append(Reply("Accepted", RemoteStartRequested, ev.connector))
    if ev.authorized:
        st.authorize(c, Grant(ev.id_tag, None, Source.REMOTE, ev.limit_a, None), now, out)
    else:
        st.request_authorization(
            Pending(Purpose.START, c.id, ev.id_tag, Source.REMOTE, ev.limit_a), out)

