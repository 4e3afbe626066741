"""When a 2.0.1 transaction starts, changes and ends on an EVSE: TxStartPoint / TxStopPoint
(E01-E03, E06, E07) decided from what the core reports. Pure: no I/O, no clock, no asyncio.

The core knows a transaction only once the driver is authorized *and* the EV is connected
(its ``StartTransaction``) and ends it with its ``StopTransaction``. A 2.0.1 transaction (the
"protocol transaction" here) may start earlier or later and end later, so ``TxPoints`` follows
four facts per EVSE and opens / closes the protocol transaction itself:

- EVConnected: the pilot shows an EV (B/C/D) - ``plugged`` / ``unplugged``;
- Authorized: an accepted authorization waits for the EV (``authorized``), or the core's
  transaction runs (``core_started``); it ends with the core's stop or when the waiting
  authorization is dropped (``authorization_dropped``: ConnectionTimeOut, fault, ...);
- PowerPathClosed: the contactor is commanded closed (``power_path``);
- EnergyTransfer: the status is Charging (``status``; on this station the same moment as
  PowerPathClosed: the contactor closes only while the EV asks for energy).

Rules:

- Started (seqNo 0, a new transactionId) at the first configured start point that holds, with
  the trigger that made it hold: CablePluggedIn, Authorized (RemoteStart for a remote start),
  ChargingStateChanged (RemoteStart when a remote start's authorization was not reported yet).
  Its idToken is the authorization known by then, its chargingState the current one.
- Ended when a configured stop point no longer holds (E06.FR.xx): EVConnected - the EV left;
  Authorized and PowerPathClosed - the EV left or the authorization ended (the core stopped,
  the waiting authorization was dropped); EnergyTransfer - also when charging suspends. It
  always ends when nothing of the session is left (no EV, no authorization). Reasons: the
  core's stop reason when it stopped, else EVDisconnected (EVCommunicationLost), Timeout
  (EVConnectTimeout), StoppedByEV / Other (ChargingStateChanged) for a suspension.
- Updated: Authorized (RemoteStart) with the idToken when the authorization arrives after
  Started; CablePluggedIn when the EV arrives after Started; ChargingStateChanged when the
  chargingState (Charging, SuspendedEV, SuspendedEVSE, EVConnected, Idle) changes while the
  transaction runs and the core is not stopping it (a stop shows in Ended, not as a blip).
- One protocol transaction per session: after one ended while the core's session goes on
  (EVConnected stop point with StopTransactionOnEVSideDisconnect false, EnergyTransfer
  suspension), none starts until the EVSE is free again (no EV, no authorization, no core
  transaction). A core transaction that starts while one is open (a new card after a card
  stop with TxStopPoint EVConnected) joins it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from chargepoint.core.types import ConnectorStatus

EV_CONNECTED = "EVConnected"
AUTHORIZED = "Authorized"
POWER_PATH_CLOSED = "PowerPathClosed"
ENERGY_TRANSFER = "EnergyTransfer"

_STATES = {
    ConnectorStatus.CHARGING: "Charging",
    ConnectorStatus.SUSPENDED_EV: "SuspendedEV",
    ConnectorStatus.SUSPENDED_EVSE: "SuspendedEVSE",
}  # any other status: EVConnected with an EV, else Idle


@dataclass(frozen=True, slots=True)
class TxMessage:
    """One TransactionEvent to persist and send (built into a payload by ``transactions``)."""

    event_type: str  # Started / Updated / Ended
    connector: int
    transaction_id: str
    trigger: str
    charging_state: str
    at: float  # monotonic, as the core's clock
    energy_wh: float | None  # the energy register last seen (Transaction.Begin / End)
    id_tag: str | None = None  # idToken to carry ("": NoAuthorization)
    remote_start_id: int | None = None
    stopped_reason: str | None = None
    stop_reason_name: str | None = None  # the core's StopReason value, for the store
    reservation_id: int | None = None


@dataclass(slots=True)
class _Auth:
    id_tag: str
    remote: bool


@dataclass(slots=True)
class _Tx:
    transaction_id: str
    auth_reported: bool
    state: str  # the chargingState last reported
    had_ev: bool = False  # an EV was connected during it (EVConnected can stop holding)


@dataclass(slots=True)
class _Evse:
    ev: bool = False
    auth: _Auth | None = None
    deauthorized: bool = False  # an authorization of this session ended
    power: bool = False
    charging: bool = False
    suspended: str | None = None  # SuspendedEV / SuspendedEVSE after it charged
    status_state: str = "Idle"
    core_tx: bool = False
    stopping: bool = False  # the core is winding its transaction down
    stop: tuple[str, str, str | None, str | None] | None = None  # stopped, trigger, tag, name
    tx: _Tx | None = None
    spent: bool = False  # this session's transaction ended already
    energy_wh: float | None = None
    remote_start_id: int | None = None
    reservation_id: int | None = None

    @property
    def state(self) -> str:
        if self.power:
            return "Charging"
        if self.status_state in _STATES.values():
            return self.status_state
        return "EVConnected" if self.ev else "Idle"


class TxPoints:
    """The protocol transactions of ``connectors`` EVSEs. ``start_points`` / ``stop_points``
    return the current members of TxStartPoint / TxStopPoint (read at every decision). Every
    method returns the TransactionEvents to send, in order (often none)."""

    def __init__(self, connectors: int, start_points: Callable[[], list[str]],
                 stop_points: Callable[[], list[str]],
                 new_id: Callable[[], str] = lambda: str(uuid.uuid4())) -> None:
        self._evses = {c: _Evse() for c in range(1, connectors + 1)}
        self._start_points = start_points
        self._stop_points = stop_points
        self._new_id = new_id
        self._seen: _Auth | None = None
        self._timer_seen = False

    # -- what is open
    def open_transaction(self, connector: int) -> str | None:
        tx = self._evses[connector].tx
        return None if tx is None else tx.transaction_id

    def core_running(self, connector: int) -> bool:
        """The core's transaction runs (its StartTransaction came, its StopTransaction not)."""
        return self._evses[connector].core_tx

    def charging_state(self, connector: int) -> str:
        return self._evses[connector].state

    def resume(self, connector: int, transaction_id: str, id_tag: str) -> None:
        """A transaction the store kept open across a clean restart goes on (no message)."""
        e = self._evses[connector]
        e.tx = _Tx(transaction_id, bool(id_tag), e.state)

    # -- facts
    def event_seen(self, authorization: tuple[str, bool] | None = None,
                   timer: bool = False) -> None:
        """Every event the core is fed: an accepted authorization (id tag, remote) or a timer
        of the core, so the statuses that follow in its answer can be read (``status``)."""
        self._seen = None if authorization is None else _Auth(*authorization)
        self._timer_seen = timer

    def meter(self, connector: int, energy_wh: float) -> None:
        self._evses[connector].energy_wh = energy_wh

    def plugged(self, connector: int, now: float) -> list[TxMessage]:
        e = self._evses[connector]
        if e.ev:
            return []
        e.ev = True
        if e.tx is not None:
            e.tx.had_ev = True
        out = self._evaluate(connector, "CablePluggedIn", now)
        if e.tx is not None and not out and e.tx.state != e.state:
            out.append(self._updated(connector, "CablePluggedIn", now))
        return out

    def unplugged(self, connector: int, now: float) -> list[TxMessage]:
        e = self._evses[connector]
        if not e.ev:
            return []
        e.ev = False
        return self._evaluate(connector, "EVCommunicationLost", now)

    def expect_remote_start(self, connector: int, remote_start_id: int) -> None:
        self._evses[connector].remote_start_id = remote_start_id

    def forget_remote_start(self, connector: int) -> None:
        self._evses[connector].remote_start_id = None

    def authorized(self, connector: int, id_tag: str, remote: bool,
                   now: float) -> list[TxMessage]:
        """An accepted authorization now waits for the EV on ``connector``."""
        e = self._evses[connector]
        if e.auth is not None:
            return []
        e.auth = _Auth(id_tag, remote or e.remote_start_id is not None)
        return self._authorization_known(connector, now)

    def authorization_dropped(self, connector: int, timeout: bool,
                              now: float) -> list[TxMessage]:
        """The waiting authorization ended without a core transaction."""
        e = self._evses[connector]
        if e.auth is None or e.core_tx:
            return []
        e.auth = None
        e.deauthorized = True
        if e.stop is None:
            e.stop = (("Timeout", "EVConnectTimeout", None, None) if timeout
                      else ("DeAuthorized", "Deauthorized", None, None))
        return self._evaluate(connector, "EVConnectTimeout" if timeout else "Deauthorized", now)

    def core_started(self, connector: int, id_tag: str, remote: bool,
                     reservation_id: int | None, now: float,
                     energy_wh: float) -> list[TxMessage]:
        e = self._evses[connector]
        e.core_tx = True
        e.spent = False  # a new core transaction is a new session
        remote = remote or e.remote_start_id is not None
        e.stopping = False
        e.stop = None
        e.deauthorized = False
        e.reservation_id = reservation_id
        if e.energy_wh is None:
            e.energy_wh = energy_wh
        if e.auth is None or e.auth.id_tag != id_tag:
            e.auth = _Auth(id_tag, remote or (e.auth is not None and e.auth.remote))
            if e.tx is not None:
                e.tx.auth_reported = False  # a new idToken for the open transaction
        return self._authorization_known(connector, now)

    def core_stopping(self, connector: int) -> None:
        """The core winds its transaction down (PWM off, waiting for the contactor)."""
        self._evses[connector].stopping = True

    def core_stopped(self, connector: int, stopped: str, trigger: str, id_tag: str | None,
                     reason_name: str, now: float, energy_wh: float) -> list[TxMessage]:
        e = self._evses[connector]
        e.core_tx = False
        e.stopping = False
        e.status_state = "Idle"  # no longer charging nor suspended: EVConnected / Idle
        e.auth = None
        e.deauthorized = True
        e.energy_wh = energy_wh
        if e.stop is None or e.tx is not None:
            e.stop = (stopped, trigger, id_tag, reason_name)
        out = self._evaluate(connector, trigger, now)
        if e.tx is not None and not out and e.tx.state != e.state:
            out.append(self._updated(connector, trigger, now))
        return out

    def power_path(self, connector: int, closed: bool, now: float) -> list[TxMessage]:
        e = self._evses[connector]
        if e.power == closed:
            return []
        e.power = closed
        if closed:
            e.charging = True
            e.suspended = None
        return self._evaluate(connector, "ChargingStateChanged", now)

    def status(self, connector: int, status: ConnectorStatus,
               now: float) -> list[TxMessage]:
        e = self._evses[connector]
        state = _STATES.get(status)
        e.status_state = state or ("EVConnected" if e.ev else "Idle")
        e.charging = state == "Charging" or e.power
        if state in ("SuspendedEV", "SuspendedEVSE") and e.tx is not None and not e.stopping:
            e.suspended = state
        elif state == "Charging":
            e.suspended = None
        out: list[TxMessage] = []
        if not e.core_tx and not e.ev:
            # Preparing without an EV and without a transaction: the core holds an accepted
            # authorization for this connector (phase AUTHORIZED); leaving it without a
            # transaction: the authorization was dropped.
            seen = self._seen
            if status is ConnectorStatus.PREPARING and e.auth is None and seen is not None:
                out.extend(self.authorized(connector, seen.id_tag, seen.remote, now))
            elif status is not ConnectorStatus.PREPARING and e.auth is not None:
                out.extend(self.authorization_dropped(connector, self._timer_seen, now))
        out.extend(self._evaluate(connector, "ChargingStateChanged", now))
        tx = e.tx
        if (tx is not None and not out and not e.stopping and tx.state != e.state
                and e.core_tx):
            out.append(self._updated(connector, "ChargingStateChanged", now))
        if self._free(e):
            e.spent = False
        return out

    # -- decisions
    def _authorization_known(self, connector: int, now: float) -> list[TxMessage]:
        e = self._evses[connector]
        assert e.auth is not None
        trigger = "RemoteStart" if e.auth.remote else "Authorized"
        out = self._evaluate(connector, trigger, now)
        tx = e.tx
        if tx is not None and not out and not tx.auth_reported:
            tx.auth_reported = True
            out.append(self._updated(connector, trigger, now, with_auth=True))
        return out

    def _holds(self, e: _Evse, point: str) -> bool:
        if point == EV_CONNECTED:
            return e.ev
        if point == AUTHORIZED:
            return e.auth is not None
        if point == POWER_PATH_CLOSED:
            return e.power
        if point == ENERGY_TRANSFER:
            return e.charging
        return False

    def _stop_due(self, e: _Evse) -> bool:
        if not e.ev and e.auth is None and not e.core_tx:
            return True  # nothing of the session is left
        gone = not e.ev and e.tx is not None and e.tx.had_ev
        deauthorized = e.deauthorized and e.auth is None
        for point in self._stop_points():
            if point == EV_CONNECTED and gone:
                return True
            if point in (AUTHORIZED, POWER_PATH_CLOSED) and (gone or deauthorized):
                return True
            if point == ENERGY_TRANSFER and (gone or deauthorized or e.suspended is not None):
                return True
        return False

    def _free(self, e: _Evse) -> bool:
        return not e.ev and e.auth is None and not e.core_tx and e.tx is None

    def _evaluate(self, connector: int, trigger: str, now: float) -> list[TxMessage]:
        e = self._evses[connector]
        if e.tx is None:
            if self._free(e):
                e.spent = False
                e.stop = None
                e.deauthorized = False
                e.reservation_id = None
                return []
            if e.spent or e.deauthorized:
                return []
            if not any(self._holds(e, p) for p in self._start_points()):
                return []
            remote = e.auth is not None and e.auth.remote
            if remote and trigger in ("Authorized", "ChargingStateChanged"):
                trigger = "RemoteStart"
            e.tx = _Tx(self._new_id(), e.auth is not None, e.state, e.ev)
            started = TxMessage(
                "Started", connector, e.tx.transaction_id, trigger, e.state, now, e.energy_wh,
                id_tag=None if e.auth is None else e.auth.id_tag,
                remote_start_id=self._take_remote_start(e),
                reservation_id=e.reservation_id)
            out = [started]
            if self._stop_due(e):  # e.g. started at EVConnected by an EV that already left
                out.append(self._ended(connector, trigger, now))
            return out
        if self._stop_due(e):
            return [self._ended(connector, trigger, now)]
        return []

    def _take_remote_start(self, e: _Evse) -> int | None:
        if e.auth is None or not e.auth.remote:
            return None
        remote_start_id, e.remote_start_id = e.remote_start_id, None
        return remote_start_id

    def _updated(self, connector: int, trigger: str, now: float,
                 with_auth: bool = False) -> TxMessage:
        e = self._evses[connector]
        assert e.tx is not None
        e.tx.state = e.state
        auth = e.auth if with_auth else None
        return TxMessage("Updated", connector, e.tx.transaction_id, trigger, e.state, now,
                         e.energy_wh, id_tag=None if auth is None else auth.id_tag,
                         remote_start_id=self._take_remote_start(e) if with_auth else None)

    def _ended(self, connector: int, trigger: str, now: float) -> TxMessage:
        """Ended, with ``trigger`` (what made the stop point fail) and the reason: the EV
        left (EVDisconnected), else the core's / the dropped authorization's reason, else a
        suspension (StoppedByEV / Other)."""
        e = self._evses[connector]
        assert e.tx is not None
        id_tag: str | None = None
        name: str | None = None
        stopped = "Other"
        if e.stop is not None:
            stopped, _, id_tag, name = e.stop
        if trigger == "EVCommunicationLost":
            stopped, name = "EVDisconnected", None
        elif e.stop is None and e.suspended is not None:
            stopped = "StoppedByEV" if e.suspended == "SuspendedEV" else "Other"
        elif e.stop is None:
            stopped = "EVDisconnected" if not e.ev else "Other"
        ended = TxMessage("Ended", connector, e.tx.transaction_id, trigger,
                          "EVConnected" if e.ev else "Idle", now, e.energy_wh,
                          id_tag=id_tag, stopped_reason=stopped, stop_reason_name=name)
        e.tx = None
        e.stop = None
        e.spent = not self._free(e)
        return ended
