"""Carries out the core's actions (``chargepoint.runtime.Controller`` feeds it).

Hardware actions go to the connector's devices at once; timers go into ``timers`` (the
control loop wakes for the earliest); protocol actions go to the protocol adapter, held until
one is attached. Every action is shown to the listeners first (``StationPort.observe``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from chargepoint.core import actions as act
from chargepoint.core import events as ev
from chargepoint.logs import context
from chargepoint.ports import ProtocolAction, ProtocolAdapter
from hardware.interfaces import ConnectorHardware, StationHardware

log = logging.getLogger("chargepoint.runtime")


class ActionPerformer:
    def __init__(self, hardware: StationHardware,
                 listeners: list[Callable[[ev.Event | act.Action], None]]) -> None:
        self._hw = hardware
        self._listeners = listeners
        self._adapter: ProtocolAdapter | None = None
        self._held: list[ProtocolAction] = []
        self.timers: dict[str, float] = {}  # timer id -> monotonic deadline

    def attach(self, adapter: ProtocolAdapter) -> None:
        """Protocol actions go to ``adapter`` from now on; those held are handed over now."""
        self._adapter = adapter
        held, self._held = self._held, []
        for action in held:
            adapter.perform(action)

    def hardware_of(self, connector: int) -> ConnectorHardware:
        for hw in self._hw.connectors:
            if hw.connector == connector:
                return hw
        raise ValueError(
            f"no connector {connector} (this station has {len(self._hw.connectors)})")

    def perform(self, actions: list[act.Action], now: float) -> None:
        for action in actions:
            for listener in self._listeners:
                listener(action)
            match action:
                case act.SetPwm(connector=c, duty_percent=duty):
                    self.hardware_of(c).pilot.set_duty(duty)
                case act.PwmOff(connector=c):
                    self.hardware_of(c).pilot.set_off()
                case act.SetStateF(connector=c):
                    self.hardware_of(c).pilot.set_state_f()
                case act.CloseContactor(connector=c):
                    self.hardware_of(c).contactor.close(now)
                case act.OpenContactor(connector=c):
                    self.hardware_of(c).contactor.open(now)
                case act.LockConnector(connector=c):
                    lock = self.hardware_of(c).lock
                    if lock is not None:
                        lock.lock(now)
                case act.UnlockConnector(connector=c):
                    lock = self.hardware_of(c).lock
                    if lock is not None:
                        lock.unlock(now)
                case act.StartTimer(timer_id=tid, deadline=deadline):
                    self.timers[tid] = deadline
                case act.CancelTimer(timer_id=tid):
                    self.timers.pop(tid, None)
                case (
                    act.StartTransaction()
                    | act.StopTransaction()
                    | act.ReportStatus()
                    | act.RequestAuthorization()
                    | act.ClearReservation()
                ):
                    _log_protocol_action(action)
                    if self._adapter is None:
                        self._held.append(action)
                    else:
                        self._adapter.perform(action)
                case act.Reply():
                    pass
                case _:
                    log.warning("unhandled action %r", action)


def _log_protocol_action(action: ProtocolAction) -> None:
    """The one place that logs every connector status change and transaction boundary."""
    match action:
        case act.ReportStatus(connector=c, status=status, error_code=code):
            log.info("connector %d: %s%s", c, status.value,
                     "" if code == "NoError" else f" ({code})", extra=context(connector=c))
        case act.StartTransaction(connector=c, id_tag=tag, meter_start_wh=wh):
            log.info("connector %d: transaction starts for %s at %.0f Wh", c, tag, wh,
                     extra=context(connector=c))
        case act.StopTransaction(connector=c, reason=reason, meter_stop_wh=wh):
            log.info("connector %d: transaction stops (%s) at %.0f Wh", c, reason.value, wh,
                     extra=context(connector=c))
        case _:
            pass
