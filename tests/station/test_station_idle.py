"""What wakes an idle station's main process, on the whole station: an idle connector's meter
is read every ``idle_poll_interval_s``, a busy one every ``poll_interval_s``
(docs/configuration.md, ``[hardware.meter]``); the control loop's safety net is longer while
no contactor is commanded closed, and the watchdog's health check allows for it.

Windows are counted, not timed: a connector with an EV plugged in (Preparing: polled at the
fast rate) is the clock, and the idle connector's polls are counted while the busy one is
polled ``WINDOW`` times. The idle interval is a minute: any poll of the idle connector within
the tests' timeouts beyond the first comes from the rule under test."""

from __future__ import annotations

import time
from typing import Any

from chargepoint.app import WATCHDOG_STALL_S, RunningStation
from chargepoint.meter_poller import SETTLE_POLLS
from chargepoint.runtime import PUSHED_IDLE_NET_S, PUSHED_NET_S
from tests.fullstack import CpMaker, charging, registered, until
from tests.ocpp16.csms import Csms

FAST = """
[hardware.meter]
poll_interval_s = 0.1
idle_poll_interval_s = 60
"""
WINDOW = 20  # fast polls of the busy connector: 2 s at 0.1 s
TAG = "04A1B2C3"


def polls(cp: RunningStation, connector: int) -> Any:
    """The poll counters of the meter driver (``ModbusMeter``) the station reads."""
    return cp.controller.hardware_of(connector).meter.counters  # type: ignore[union-attr]


def power_w(cp: RunningStation, connector: int) -> float | None:
    reading = cp.controller.meter_reading(connector)
    return None if reading is None else reading.power_w


async def idle_polls_during_window(cp: RunningStation, idle: int, busy: int) -> int:
    """Polls of connector ``idle`` while connector ``busy`` is polled ``WINDOW`` times."""
    before, start = polls(cp, idle).polls, polls(cp, busy).polls
    await until(lambda: polls(cp, busy).polls >= start + WINDOW)
    return int(polls(cp, idle).polls - before)


async def test_an_idle_connector_is_polled_slowly_beside_a_busy_one(
        csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp(connectors=2, extra=FAST)
    await registered(cp)
    await until(lambda: polls(cp, 1).polls >= 1 and cp.controller.meter_reading(1) is not None)
    assert cp.bench is not None
    cp.bench.plug(2)
    assert await idle_polls_during_window(cp, idle=1, busy=2) <= 1  # not 20: reverted to fast


async def test_a_plug_in_polls_at_once_and_a_session_ends_back_at_the_idle_rate(
        csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp(connectors=2, extra=FAST)
    await registered(cp)
    assert cp.bench is not None
    await until(lambda: polls(cp, 1).polls >= 1)
    first = polls(cp, 1).polls
    cp.bench.plug(1)  # Preparing: the next idle poll is a minute away, this one is at once
    await until(lambda: polls(cp, 1).polls > first, timeout=5.0)
    cp.bench.tap(TAG)
    await charging(cp)
    await until(lambda: power_w(cp, 1) not in (None, 0.0))
    cp.bench.unplug(1)  # the transaction ends, the contactor opens
    await until(lambda: not cp.controller.hardware_of(1).contactor.commanded_closed)
    cp.bench.plug(2)  # the clock of the windows
    # the settling polls show the current gone ([site] counts what each meter says it draws)
    assert await idle_polls_during_window(cp, idle=1, busy=2) <= SETTLE_POLLS + 1
    reading = cp.controller.meter_reading(1)
    assert reading is not None and reading.power_w == 0.0 and not any(reading.current_a)
    assert await idle_polls_during_window(cp, idle=1, busy=2) <= 1


async def test_clock_aligned_values_read_an_idle_meter_at_the_boundary(
        csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp(extra=FAST, ClockAlignedDataInterval=1,
                       MeterValuesAlignedData="Energy.Active.Import.Register")
    await registered(cp)
    await until(lambda: cp.controller.meter_reading(1) is not None)
    assert cp.bench is not None
    cp.bench.preset_meter(1, 4321.0)  # the slow poll would see it in a minute

    def aligned_values() -> list[float]:
        return [float(mv.payload["meterValue"][0]["sampledValue"][0]["value"])
                for mv in csms.calls("MeterValues")]
    await csms.wait_until(lambda: 4321.0 in aligned_values(), 5.0)


async def test_the_control_loop_sleeps_long_only_while_no_contactor_is_closed(
        csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    ctl = cp.controller
    await until(lambda: ctl.due_by - ctl.last_tick > PUSHED_NET_S)  # idle: the long net
    assert ctl.due_by - ctl.last_tick <= PUSHED_IDLE_NET_S
    await until(lambda: time.monotonic() - ctl.last_tick > WATCHDOG_STALL_S + 0.1)
    assert cp.healthy()  # asleep within its deadline is not a stalled loop
    assert cp.bench is not None
    cp.bench.plug(1)
    cp.bench.tap(TAG)
    await charging(cp)
    closed_at = time.monotonic()
    await until(lambda: ctl.last_tick > closed_at)  # a sleep chosen with the contactor closed
    assert ctl.due_by - ctl.last_tick <= PUSHED_NET_S
