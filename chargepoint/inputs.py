"""What the control loop reads, turned into core events: on change only, driven by one table.

``CONNECTOR_INPUTS`` says, per input of a connector, whether the connector has it, how to read
it and which events a new value means. ``InputTracker`` remembers the last value of every
input and answers ``changed(connector, name, value)`` with the events a change means (none when
the value is the one seen last). It is pure: it reads no hardware and no clock. The caller
reads the inputs in table order and submits each one's events before reading the next, so an
action the core answers with (open the contactor ...) is performed before the next read.

Inputs fed by their own tasks (the meter poll, a failing read, the relay supervision) have
methods of their own with the same rule: events only on change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chargepoint.core import events as ev
from chargepoint.core.types import FaultKind, PilotState
from hardware.interfaces import ConnectorHardware, PilotReading

_NEVER_READ = object()  # the first read of an input always counts as a change


@dataclass(frozen=True, slots=True)
class Input:
    name: str
    present: Callable[[ConnectorHardware], bool]
    read: Callable[[ConnectorHardware, PilotReading], Any]  # the pilot is read once per sample
    events: Callable[[int, Any], list[ev.Event]]
    initial: Any = _NEVER_READ  # what counts as "seen" before the first read


def _always(hw: ConnectorHardware) -> bool:
    return True


def _fault(kind: FaultKind, info: str) -> Callable[[int, bool], list[ev.Event]]:
    """Raised while the value is True, cleared when it is False again."""
    def events(connector: int, active: bool) -> list[ev.Event]:
        if active:
            return [ev.FaultRaised(connector, kind, info)]
        return [ev.FaultCleared(connector, kind)]
    return events


CONNECTOR_INPUTS: tuple[Input, ...] = (
    Input("pilot", _always, lambda hw, p: PilotState(p.state.value),
          lambda c, state: [ev.PilotChanged(c, state)], initial=None),
    Input("diode_failed", _always, lambda hw, p: not p.diode_ok,
          _fault(FaultKind.PILOT, "diode check failed"), initial=False),
    Input("mirror", _always, lambda hw, p: hw.contactor.mirror_closed(),
          lambda c, closed: [ev.ContactorFeedback(c, closed)], initial=None),
    Input("locked", lambda hw: hw.lock is not None,
          lambda hw, p: hw.lock.is_locked() if hw.lock is not None else None,
          lambda c, locked: [ev.LockFeedback(c, locked)], initial=None),
    Input("rcd", lambda hw: hw.rcd is not None,
          lambda hw, p: hw.rcd.tripped() if hw.rcd is not None else False,
          _fault(FaultKind.RCD, "residual current trip"), initial=False),
    Input("cable", lambda hw: hw.proximity is not None,
          lambda hw, p: hw.proximity.cable_rating_a() if hw.proximity is not None else None,
          lambda c, amps: [ev.CableRating(c, amps)]),
)


class InputTracker:
    """The last value seen of every input of every connector."""

    def __init__(self, connectors: list[int]) -> None:
        self._seen: dict[int, dict[str, Any]] = {
            c: {i.name: i.initial for i in CONNECTOR_INPUTS} for c in connectors}
        self._meter_fault: dict[int, bool] = dict.fromkeys(connectors, False)
        self._read_failed: dict[int, bool] = dict.fromkeys(connectors, False)
        self._relay_faults: dict[int, set[FaultKind]] = {c: set() for c in connectors}

    def changed(self, connector: int, item: Input, value: Any) -> list[ev.Event]:
        """The events of ``value`` just read from ``item`` (none: as seen last)."""
        seen = self._seen[connector]
        if seen[item.name] is not _NEVER_READ and seen[item.name] == value:
            return []
        seen[item.name] = value
        return item.events(connector, value)

    def last(self, connector: int, name: str) -> Any:
        """The value of input ``name`` seen last (None before the first read)."""
        value = self._seen[connector][name]
        return None if value is _NEVER_READ else value

    def meter(self, connector: int, fault: str | None) -> list[ev.Event]:
        """A meter poll: ``fault`` is the reason it failed, None when it answered."""
        if (fault is not None) == self._meter_fault[connector]:
            return []
        self._meter_fault[connector] = fault is not None
        if fault is not None:
            return [ev.FaultRaised(connector, FaultKind.METER, fault)]
        return [ev.FaultCleared(connector, FaultKind.METER)]

    def read_failed(self, connector: int, error: str) -> list[ev.Event]:
        """A read of the connector's hardware raised: a blocking fault, once per episode."""
        if self._read_failed[connector]:
            return []
        self._read_failed[connector] = True
        return [ev.FaultRaised(connector, FaultKind.PILOT, f"hardware read failed: {error}")]

    def read_ok(self, connector: int) -> list[ev.Event]:
        """The connector's hardware was read without an error."""
        if not self._read_failed[connector]:
            return []
        self._read_failed[connector] = False
        self._seen[connector]["diode_failed"] = False  # a diode fault still there: next read
        return [ev.FaultCleared(connector, FaultKind.PILOT)]

    def in_read_failure(self, connector: int) -> bool:
        return self._read_failed[connector]

    def relays(self, connector: int, found: set[FaultKind]) -> list[ev.Event]:
        """The relay supervision found ``found`` now: new ones are raised, gone ones cleared
        (a latched fault only by a technician: ``forget_relays``)."""
        seen = self._relay_faults[connector]
        events: list[ev.Event] = [ev.FaultRaised(connector, kind, kind.error_code)
                                  for kind in found - seen]
        events += [ev.FaultCleared(connector, kind) for kind in seen - found if not kind.latched]
        self._relay_faults[connector] = set(found)
        return events

    def forget_relays(self, connector: int) -> None:
        """A technician cleared the latched faults: a mismatch still there is raised again."""
        self._relay_faults[connector].clear()
