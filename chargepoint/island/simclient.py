"""The simulated bench seen from the main process.

The virtual EVs, relays, mains input and meter live in the island process
(``chargepoint.island.simside``); this client forwards ``chargepoint sim`` commands to them over
the island's sim socket. The card reader is here (``VirtualReader``), fed by ``tap``.

Calls are blocking request/replies on a unix socket that the island's bench thread answers
within a millisecond; this is a test and development bench, never a production path.
"""

from __future__ import annotations

import json
import socket
from typing import Any

from hardware.sim.reader import VirtualReader

TIMEOUT_S = 5.0


class SimClient:
    """Same commands as ``hardware.sim.SimBench``; bad arguments raise ``ValueError``."""

    def __init__(self, path: str, reader: VirtualReader | None = None,
                 island_pid: int | None = None) -> None:
        self.path = path
        self.reader = reader or VirtualReader()
        self.island_pid = island_pid
        self._sock: socket.socket | None = None
        self._buffer = b""

    def call(self, cmd: str, **args: Any) -> Any:
        """One command; returns its result. Raises ``ValueError`` with the bench's reason,
        ``ConnectionError`` when the island does not answer."""
        sock = self._connect()
        try:
            sock.sendall(json.dumps({"cmd": cmd, "args": args}).encode() + b"\n")
            while b"\n" not in self._buffer:
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError("the island's sim socket closed")
                self._buffer += chunk
        except (OSError, ConnectionError):
            self.close()
            raise
        line, _, self._buffer = self._buffer.partition(b"\n")
        reply = json.loads(line)
        if not reply.get("ok"):
            raise ValueError(reply.get("error", "refused"))
        return reply.get("result")

    def _connect(self) -> socket.socket:
        if self._sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(TIMEOUT_S)
            sock.connect(self.path)
            self._sock, self._buffer = sock, b""
        return self._sock

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    async def stop(self) -> None:
        self.close()
        await self.reader.close()

    # -- the commands of `chargepoint sim` ---------------------------------------------------
    def plug(self, connector: int, max_current_a: float = 32.0, *,
             cable_rating_a: int = 32) -> None:
        self.call("plug", connector=connector, max_current_a=max_current_a,
                  cable_rating_a=cable_rating_a)

    def unplug(self, connector: int) -> None:
        self.call("unplug", connector=connector)

    def ev(self, connector: int, charge: bool | str) -> None:
        mode = charge if isinstance(charge, str) else "charge" if charge else "pause"
        self.call("ev", connector=connector, mode=mode)

    def adapter(self, connector: int, state: str, cable_a: int | None = None) -> None:
        """An EV test adapter: CP switch ``state`` (A..E, diode, off), PP ``cable_a``."""
        self.call("adapter", connector=connector, state=state, cable_a=cable_a)

    def tap(self, uid: str) -> None:
        self.reader.tap(uid)

    def fault(self, connector: int | str, kind: str) -> None:
        """A connector's fault; ``connector = "site"``: the ``[site]`` grid meter's."""
        if connector == "site":
            self.call("site_fault", kind=kind)
        else:
            self.call("fault", connector=connector, kind=kind)

    def house(self, amps: float) -> None:
        self.call("house", amps=amps)

    def power(self, on: bool | str) -> None:
        self.call("power", state=on if isinstance(on, str) else "on" if on else "off")

    def preset_meter(self, connector: int, energy_wh: float) -> None:
        self.call("preset_meter", connector=connector, energy_wh=energy_wh)

    def timing(self, connector: int) -> dict[str, Any]:
        """When the EV last changed and when the island last opened (perf_counter seconds)."""
        result: dict[str, Any] = self.call("timing", connector=connector)
        return result

    def describe(self) -> dict[str, Any]:
        doc: dict[str, Any] = self.call("describe")
        doc["reader"] = {"taps": self.reader.taps}
        doc["island"] = {"pid": self.island_pid, "sim_socket": self.path}
        return doc
