"""The main process's side of the safety island.

``IslandLink.spawn()`` starts ``python -m chargepoint.island`` with one end of a
``SOCK_SEQPACKET`` pair, waits for its ``hello`` and first ``state`` of every connector, and
then mirrors what the island reports. ``hardware()`` offers that mirror through the HAL's own
interfaces (``ControlPilot``, ``Contactor``, ``ConnectorLock`` ...), so the runtime drives the
island exactly as it drove pins: every command is one datagram, sent without waiting.

Leases: a ``close()`` asks for a lease of ``lease_s``; a task renews every lease each
``lease_s / 4`` while the contactor is wanted closed. That task runs on the event loop: when the
loop (or the whole process) stalls for longer than the lease, the island opens on its own. When
that happened and the core still wants the contactor closed, the link asks again (the island
grants only if the pilot is still C/D).

A lost island (it died, or stopped saying ``alive``) makes every read raise
``IslandLost``: the runtime turns that into a blocking fault and ``healthy()`` turns false, so
systemd's watchdog restarts the whole service.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import pickle
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chargepoint.island import wire
from chargepoint.island.options import IslandOptions as IslandOptions  # also for importers
from hardware.interfaces import (
    ConnectorHardware,
    EnergyMeter,
    MismatchKind,
    PilotReading,
    PilotState,
    RelayKind,
    RelayMismatch,
    StationHardware,
    TokenReader,
)

log = logging.getLogger("chargepoint.island.link")

LEASE_S = 2.0  # how long a contactor stays closed without the main process renewing it
STALE_S = 3.0  # no word from the island for this long: it is lost (it says alive every 1 s)
START_TIMEOUT_S = 30.0
# glibc malloc arenas of the island (unless the service sets MALLOC_ARENA_MAX itself): its helper
# threads (log writer; on the simulated bench the virtual EVs and meter) would each get an arena
# of their own; all of them allocate under the GIL, so sharing costs no waiting (-0.8 MiB).
ISLAND_MALLOC_ARENAS = "2"


class IslandLost(RuntimeError):
    """The safety island is gone; nothing it owns can be read or switched."""


@dataclass(slots=True)
class _Mirror:
    """What the island last said about one connector, and what we last asked of it."""

    state: dict[str, Any] = field(default_factory=dict)
    volts: tuple[float, float | None] = (0.0, None)
    duty: float | None = None
    wanted_closed: bool = False
    wanted_locked: bool = False
    refusal: str | None = None


class IslandLink:
    """Talks to one island process. Create with ``await IslandLink.spawn(...)``."""

    def __init__(self, sock: socket.socket, process: asyncio.subprocess.Process,
                 *, lease_s: float = LEASE_S) -> None:
        self._sock = sock
        self._sock.setblocking(False)
        self._process = process
        self._lease_s = lease_s
        self.hello: dict[str, Any] = {}
        self.mirrors: dict[int, _Mirror] = {}
        self.mains_ok: bool | None = None
        self._heard_at = time.monotonic()
        self._lost: str | None = None
        self._closing = False
        self.lost = asyncio.Event()  # set when the island is gone (not when we closed it)
        self._hello_seen = asyncio.Event()
        self._changed = asyncio.Event()
        self._outbox: collections.deque[bytes] = collections.deque()
        self._renewer: asyncio.Task[None] | None = None
        self._close_asked = asyncio.Event()  # a close was asked for: leases need renewing
        self.listeners: list[Callable[[dict[str, Any]], None]] = []
        loop = asyncio.get_running_loop()
        loop.add_reader(sock.fileno(), self._readable)

    # -- life ------------------------------------------------------------------------------
    @classmethod
    async def spawn(cls, config: Any, options: IslandOptions, *,
                    lease_s: float = LEASE_S) -> IslandLink:
        """Start the island for ``config`` (a ``chargepoint.config.Config``) and wait until
        it reported every connector. Raises ``IslandLost`` when it does not come up."""
        link = await cls.launch(config, options, lease_s=lease_s)
        await link.ready(config.station.connectors)
        return link

    @classmethod
    async def launch(cls, config: Any, options: IslandOptions, *,
                     lease_s: float = LEASE_S) -> IslandLink:
        """``spawn`` in two steps: start the process and hand it ``config`` (returns at once;
        the island starts on another CPU while the caller goes on), then ``ready()``."""
        ours, theirs = wire.pair()
        env = {"MALLOC_ARENA_MAX": ISLAND_MALLOC_ARENAS, **os.environ}
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "chargepoint.island", str(theirs.fileno()),
            stdin=asyncio.subprocess.PIPE, pass_fds=(theirs.fileno(),), env=env)
        theirs.close()
        assert process.stdin is not None
        process.stdin.write(pickle.dumps((config, options)))
        await process.stdin.drain()
        process.stdin.close()
        return cls(ours, process, lease_s=lease_s)

    async def ready(self, connectors: int) -> None:
        """Wait until a ``launch``ed island reported every connector; then keep the leases
        renewed. Raises ``IslandLost`` (the island is closed) when it does not come up."""
        try:
            await asyncio.wait_for(self._started(connectors), START_TIMEOUT_S)
        except (TimeoutError, IslandLost) as exc:
            await self.close()
            raise IslandLost(f"the safety island did not start: {exc or 'timeout'}") from None
        self._renewer = asyncio.create_task(self._renew(), name="island-leases")

    async def _started(self, connectors: int) -> None:
        while True:
            if self._lost is not None:
                raise IslandLost(self._lost)
            if self._hello_seen.is_set() and all(
                    self.mirrors.get(c) and self.mirrors[c].state
                    for c in range(1, connectors + 1)):
                return
            self._changed.clear()
            await self._changed.wait()

    async def close(self, timeout_s: float = 5.0) -> None:
        """Ask the island to stop (it opens everything, pilot to F, releases its pins) and
        wait for it; kill it if it does not go in ``timeout_s``. Idempotent."""
        if self._sock.fileno() == -1:
            return
        self._closing = True
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
        self.send({"op": "shutdown"})
        try:
            await asyncio.wait_for(self._process.wait(), timeout_s)
        except TimeoutError:
            log.error("the safety island did not stop in %.0f s: killing it", timeout_s)
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()
            await self._process.wait()
        with contextlib.suppress(ValueError, OSError):
            asyncio.get_running_loop().remove_reader(self._sock.fileno())
        self._sock.close()
        self._lost = self._lost or "closed"

    @property
    def pid(self) -> int:
        return self._process.pid

    def healthy(self) -> bool:
        """The island is there and said something within ``STALE_S``."""
        return self._lost is None and self._silent_s() < STALE_S

    def check(self) -> None:
        """Raise ``IslandLost`` unless ``healthy()``."""
        if self._lost is not None:
            raise IslandLost(f"safety island lost: {self._lost}")
        silent = self._silent_s()
        if silent >= STALE_S:
            raise IslandLost(f"safety island silent for {silent:.1f} s")

    def _silent_s(self) -> float:
        """Seconds since the island's last message. Reads what is waiting first: after our
        own event loop stalled, its messages are queued, not missing."""
        silent = time.monotonic() - self._heard_at
        if silent >= STALE_S and self._lost is None:
            self._readable()
            silent = time.monotonic() - self._heard_at
        return silent

    # -- sending ---------------------------------------------------------------------------
    def send(self, message: dict[str, Any]) -> None:
        """Queue ``message`` for the island; never blocks the event loop."""
        if self._lost is not None:
            return
        self._outbox.append(wire.encode(message))
        self._flush()

    def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        while self._outbox:
            try:
                self._sock.send(self._outbox[0])
            except BlockingIOError:
                loop.add_writer(self._sock.fileno(), self._writable)
                return
            except OSError as exc:
                self._lose(f"send failed: {exc}")
                return
            self._outbox.popleft()

    def _writable(self) -> None:
        with contextlib.suppress(ValueError, OSError):
            asyncio.get_running_loop().remove_writer(self._sock.fileno())
        self._flush()

    # -- receiving -------------------------------------------------------------------------
    def _readable(self) -> None:
        while True:
            try:
                data = self._sock.recv(wire.MAX_DATAGRAM)
            except BlockingIOError:
                break
            except OSError as exc:
                self._lose(f"receive failed: {exc}")
                break
            if not data:
                self._lose("the island process ended")
                break
            try:
                self._receive(wire.decode(data))
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("bad message from the safety island: %s", exc)
        self._changed.set()

    def _lose(self, why: str) -> None:
        if self._lost is None:
            self._lost = why
            if self._closing:
                log.info("safety island stopped")
            else:
                log.critical("safety island lost: %s", why)
                self.lost.set()
        with contextlib.suppress(ValueError, OSError):
            loop = asyncio.get_running_loop()
            loop.remove_reader(self._sock.fileno())
            loop.remove_writer(self._sock.fileno())

    def _receive(self, message: dict[str, Any]) -> None:
        self._heard_at = time.monotonic()
        op = message["op"]
        if op == "state":
            self.mirrors.setdefault(int(message["c"]), _Mirror()).state = message
        elif op == "alive":
            for key, volts in message.get("volts", {}).items():
                self.mirrors.setdefault(int(key), _Mirror()).volts = (volts[0], volts[1])
        elif op == "power":
            self.mains_ok = bool(message["mains_ok"])
        elif op == "hello":
            self.hello = message
            self._hello_seen.set()
            log.info("safety island up (pid %d): scheduling %s, SPI %s", self.pid,
                     message.get("realtime"), message.get("spi"))
        elif op == "failed":
            self._lose(str(message.get("reason")))
        elif op == "refused":
            mirror = self.mirrors.setdefault(int(message["c"]), _Mirror())
            mirror.refusal = str(message["reason"])
            log.warning("connector %s: the safety island refused %s: %s", message["c"],
                        message["what"], message["reason"])
        elif op == "opened":
            self._opened(int(message["c"]), str(message["reason"]))
        for listener in self.listeners:
            listener(message)

    def _opened(self, connector: int, reason: str) -> None:
        mirror = self.mirrors.setdefault(connector, _Mirror())
        log.log(logging.INFO if reason == "PILOT" else logging.WARNING,
                "connector %d: the safety island opened the contactor (%s)", connector, reason)
        if reason == "LEASE" and mirror.wanted_closed:
            # The event loop stalled past the lease; the core still wants energy: ask again.
            self.request_close(connector)

    async def _renew(self) -> None:
        while True:
            if not any(m.wanted_closed for m in self.mirrors.values()):
                self._close_asked.clear()  # nothing to renew: sleep until a close is asked
                await self._close_asked.wait()
            await asyncio.sleep(self._lease_s / 4)
            wanted = [c for c, m in self.mirrors.items() if m.wanted_closed]
            if wanted:
                self.send({"op": "renew", "c": wanted, "lease_s": self._lease_s})

    # -- the HAL seen from the main process --------------------------------------------------
    def hardware(self, meters: dict[int, EnergyMeter | None],
                 reader: TokenReader | None) -> StationHardware:
        """The station's devices: the island's proxies plus ``meters`` and ``reader``."""
        connectors = []
        for c in sorted(self.mirrors):
            parts = set(self.hello.get("parts", {}).get(str(c), ()))
            connectors.append(ConnectorHardware(
                connector=c,
                pilot=IslandPilot(self, c),
                contactor=IslandContactor(self, c),
                proximity=IslandProximity(self, c) if "proximity" in parts else None,
                lock=IslandLock(self, c) if "lock" in parts else None,
                rcd=IslandRcd(self, c) if "rcd" in parts else None,
                meter=meters.get(c),
            ))
        power = IslandPower(self) if self.hello.get("power") else None
        return StationHardware(connectors=connectors, reader=reader, power=power)

    def request_close(self, connector: int) -> None:
        """Ask for the contactor of ``connector`` under a fresh lease (the island may refuse)."""
        self.send({"op": "close", "c": connector, "lease_s": self._lease_s})
        self._close_asked.set()

    def state_of(self, connector: int) -> dict[str, Any]:
        """The island's last report of ``connector``; raises ``IslandLost`` when it is gone."""
        self.check()
        return self.mirrors[connector].state


class _Part:
    def __init__(self, link: IslandLink, connector: int) -> None:
        self._link = link
        self._c = connector
        self._mirror = link.mirrors[connector]


def _mismatch(relay: RelayKind, raw: Any) -> RelayMismatch | None:
    if raw is None:
        return None
    return RelayMismatch(relay, MismatchKind(raw[0]), float(raw[1]))


class IslandPilot(_Part):
    """``ControlPilot``: the island's PWM output and decoded CP input."""

    def set_duty(self, duty_percent: float) -> None:
        if not 0.0 < duty_percent <= 100.0:
            raise ValueError(f"duty must be in (0, 100] %, got {duty_percent!r}")
        self._mirror.duty = duty_percent
        self._link.send({"op": "duty", "c": self._c, "duty": duty_percent})

    def set_off(self) -> None:
        self._mirror.duty = None
        self._link.send({"op": "pwm_off", "c": self._c})

    def set_state_f(self) -> None:
        self._mirror.duty = None
        self._link.send({"op": "state_f", "c": self._c})

    @property
    def duty_percent(self) -> float | None:
        return self._mirror.duty

    def read(self) -> PilotReading:
        state = self._link.state_of(self._c)
        high, low = self._mirror.volts
        return PilotReading(PilotState(state["pilot"]), high, low, bool(state["diode_ok"]))


class IslandContactor(_Part):
    """``Contactor``: ``close`` asks the island for a lease; the island may refuse."""

    def close(self, now: float) -> None:
        self._mirror.wanted_closed = True
        self._mirror.refusal = None
        self._link.request_close(self._c)

    def open(self, now: float) -> None:
        self._mirror.wanted_closed = False
        self._link.send({"op": "open", "c": self._c})

    def test_close(self) -> None:
        """A technician's relay test: the island closes only with no EV and no cable, for at
        most ``rules.TEST_LEASE_S``; ``refusal`` says why not."""
        self._mirror.refusal = None
        self._link.send({"op": "test_close", "c": self._c})

    @property
    def refusal(self) -> str | None:
        """Why the island last refused to close, until the next request."""
        return self._mirror.refusal

    @property
    def commanded_closed(self) -> bool:
        return self._mirror.wanted_closed

    def mirror_closed(self) -> bool:
        return bool(self._link.state_of(self._c)["mirror"])

    def check(self, now: float) -> RelayMismatch | None:
        return _mismatch(RelayKind.CONTACTOR, self._link.state_of(self._c).get("mismatch"))


class IslandLock(_Part):
    """``ConnectorLock`` on the island's pins."""

    def lock(self, now: float) -> None:
        self._mirror.wanted_locked = True
        self._link.send({"op": "lock", "c": self._c})

    def unlock(self, now: float) -> None:
        self._mirror.wanted_locked = False
        self._link.send({"op": "unlock", "c": self._c})

    @property
    def commanded_locked(self) -> bool:
        return self._mirror.wanted_locked

    def is_locked(self) -> bool:
        return bool(self._link.state_of(self._c)["locked"])

    def check(self, now: float) -> RelayMismatch | None:
        return _mismatch(RelayKind.LOCK, self._link.state_of(self._c).get("lock_mismatch"))


class IslandRcd(_Part):
    def tripped(self) -> bool:
        return bool(self._link.state_of(self._c)["rcd"])


class IslandProximity(_Part):
    def cable_rating_a(self) -> int | None:
        cable = self._link.state_of(self._c)["cable"]
        return None if cable is None else int(cable)


class IslandPower:
    """``PowerSupervisor``: the island's mains input, as last reported."""

    def __init__(self, link: IslandLink) -> None:
        self._link = link

    def mains_ok(self) -> bool:
        return self._link.mains_ok is not False
