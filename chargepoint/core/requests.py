"""CSMS requests about a connector that are not about authorization: RemoteStop,
UnlockConnector, ChangeAvailability (helpers of :class:`chargepoint.core.station.Station`,
reached through ``chargepoint.core.station_ops.StationOps``).

Each appends exactly one ``Reply`` to ``out`` (UnlockConnector with a lock: later, see
``Station._settle``). An unknown connector is the CSMS's mistake: a Reply, not an exception.
"""

from __future__ import annotations

from chargepoint.core.actions import Action, Reply, UnlockConnector
from chargepoint.core.events import AvailabilityChanged, RemoteStopRequested, UnlockRequested
from chargepoint.core.session import Phase
from chargepoint.core.station_ops import StationOps
from chargepoint.core.types import StopReason

UNLOCK_TIMEOUT_S = 5.0
"""UnlockConnector: how long the lock feedback may take after the unlock command."""


def on_remote_stop(st: StationOps, ev: RemoteStopRequested, now: float,
                   out: list[Action]) -> None:
    """OCPP 1.6 5.12 (OCTT 012, 028): Accepted when a transaction runs there, or when one
    is about to start (the cable still locking): that attempt ends with no transaction."""
    ok = False
    if 1 <= ev.connector <= st.connector_count:
        c = st.conn(ev.connector)
        if c.phase is Phase.LOCKING:
            ok = st.drop_grant(c, out)
        else:
            ok = st.stop(c, StopReason.REMOTE, None, now, out)
    out.append(Reply("Accepted" if ok else "Rejected", RemoteStopRequested, ev.connector))


def on_unlock(st: StationOps, ev: UnlockRequested, now: float, out: list[Action]) -> None:
    """OCPP 1.6 5.18 (OCTT 017, 018, 030, 031): stop a transaction first, then unlock."""
    if not 1 <= ev.connector <= st.connector_count:
        out.append(Reply("NotSupported", UnlockRequested, ev.connector))
        return
    c = st.conn(ev.connector)
    if not st.settings.has_lock:  # fixed cable: nothing to unlock, the session goes on (018_2)
        out.append(Reply("NotSupported", UnlockRequested, c.id))
        return
    if c.phase is Phase.LOCKING:
        st.drop_grant(c, out)  # no transaction yet: the attempt ends, the cable is released
    st.stop(c, StopReason.UNLOCK_COMMAND, None, now, out)
    c.keep_locked = False
    c.unlock_pending = True
    st.start_timer(
        f"unlock:{c.id}", now + st.settings.ev_stop_timeout_s + UNLOCK_TIMEOUT_S, out
    )
    if not c.lock_locked and c.lock_feedback is not False:
        out.append(UnlockConnector(c.id))  # already commanded open: drive the actuator again


def on_availability(st: StationOps, ev: AvailabilityChanged, out: list[Action]) -> None:
    """OCPP 1.6 5.2: Accepted, or Scheduled while a transaction runs (applied after it)."""
    if not 0 <= ev.connector <= st.connector_count:
        out.append(Reply("Rejected", AvailabilityChanged, ev.connector))
        return
    if ev.connector == 0:
        # Idle connectors follow at once, busy ones when their transaction ends.
        busy = any(c.session is not None for c in st.connectors)
        st.set_station_operative(ev.operative)
        status = "Scheduled" if busy and not ev.operative else "Accepted"
    else:
        c = st.conn(ev.connector)
        if not ev.operative and c.session is not None:
            c.scheduled_operative = False
            status = "Scheduled"
        else:
            c.operative, c.scheduled_operative = ev.operative, None
            status = "Accepted"
    out.append(Reply(status, AvailabilityChanged, ev.connector))
