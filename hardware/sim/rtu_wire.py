"""``PtyLink``: a software RS-485 cable between a Modbus client and the virtual meter.

Two pseudo-terminal pairs are joined back to back (a null-modem cable in software). With a
character time set, the link also emulates the wire of a Modbus RTU bus (Modbus over serial line
v1.02, 2.5.1.1), as one half-duplex line shared by both directions:

- a chunk starts on the wire when it is written, or when the wire is free again, and takes
  ``len(chunk)`` character times; it reaches the client as soon as its last character is off
  the wire (pymodbus's client frames an answer by its length and CRC, as a real master does),
  or, with ``piece_chars``, piece by piece as a UART's receive FIFO hands it over;
- it reaches the meter 3.5 character times later: a real meter recognises the end of a request
  frame by that silence (pymodbus's server frames by length, so the link adds it);
- the silence before each new frame is measured on that timeline: ``stats.short_silences``
  counts frames that started less than 3.5 characters after the previous one (the master broke
  RTU framing), ``stats.min_silence_s`` is the shortest silence seen;
- ``stats.late_s`` adds up how much later than its wire time the link delivered (event loop
  timers): delay that is the emulation's, not the client's.

Without a character time chunks pass at pty speed and nothing is measured.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import termios
import tty
from dataclasses import dataclass

SILENCE_CHARS = 3.5  # RTU: silent interval between frames (t3.5)
CONTINUATION_CHARS = 1.5  # RTU: characters of one frame are at most 1.5 characters apart


@dataclass(slots=True)
class WireStats:
    """What the emulated wire saw (only with a character time)."""

    frames: int = 0
    short_silences: int = 0
    min_silence_s: float = math.inf
    late_s: float = 0.0


class PtyLink:
    """Two pseudo-terminal pairs joined back to back, optionally at an emulated wire speed."""

    def __init__(self, char_time_s: float | None,
                 wire: tuple[int, str] | None = None, piece_chars: int | None = None) -> None:
        self.char_time_s = char_time_s
        self.piece_chars = piece_chars
        # (baud rate, parity) of the bus: a client whose tty is set otherwise is not heard,
        # as a UART at the wrong speed or parity hears only framing errors.
        self.wire = wire
        self._client_tty = -1
        self._fds: list[int] = []
        self._masters: tuple[int, int] = (-1, -1)
        self._tasks: list[asyncio.Task[None]] = []
        self.paths: tuple[str, str] = ("", "")
        self.corrupt_answers = 0  # chunks towards the client still to corrupt (CRC faults)
        self.stats = WireStats()
        self._wire_free_at = -math.inf  # end of the last character on the wire
        self._last_sender = -1

    def open(self) -> tuple[str, str]:
        """Create the ttys; returns (server side path, client side path)."""
        loop = asyncio.get_running_loop()
        pairs = [os.openpty(), os.openpty()]
        for master, slave in pairs:
            tty.setraw(slave)  # no echo, no line editing: a serial line carries raw bytes
            os.set_blocking(master, False)
            self._fds += [master, slave]  # keep the slaves open: no EIO when a client closes
        (ma, sa), (mb, sb) = pairs
        self._masters = (ma, mb)
        self._client_tty = sb
        self.paths = (os.ttyname(sa), os.ttyname(sb))
        for src, dst in ((ma, mb), (mb, ma)):
            queue: asyncio.Queue[list[tuple[float, bytes]]] = asyncio.Queue()
            loop.add_reader(src, self._readable, src, dst, queue)
            if self.char_time_s:
                self._tasks.append(asyncio.create_task(self._forward(queue, dst)))
        return self.paths

    def _readable(
        self, src: int, dst: int, queue: asyncio.Queue[list[tuple[float, bytes]]]
    ) -> None:
        try:
            data = os.read(src, 4096)
        except OSError:
            return
        if not data:
            return
        from_meter = src == self._masters[0]
        if not from_meter and not self._client_matches_wire():
            return  # the wrong speed or parity: nothing the meter can read
        if from_meter and self.corrupt_answers > 0:
            self.corrupt_answers -= 1
            data = data[:-1] + bytes([data[-1] ^ 0xFF])  # a flipped CRC byte: noise on the line
        if self.char_time_s:
            queue.put_nowait(self._on_wire(src, data, from_meter))
        else:
            self._write(dst, data)

    def _on_wire(self, src: int, data: bytes, from_meter: bool) -> list[tuple[float, bytes]]:
        """Put ``data`` from ``src`` on the wire now; returns its pieces with their arrival."""
        assert self.char_time_s is not None
        ct = self.char_time_s
        now = asyncio.get_running_loop().time()
        idle = now - self._wire_free_at
        if src != self._last_sender or idle > CONTINUATION_CHARS * ct:  # a new frame
            self.stats.frames += 1
            if self.stats.frames > 1:
                self.stats.min_silence_s = min(self.stats.min_silence_s, idle)
                # float tolerance only: the bus's wait ends on its deadline, not before
                if idle < SILENCE_CHARS * ct - 1e-6:
                    self.stats.short_silences += 1
        self._last_sender = src
        start = max(now, self._wire_free_at)
        self._wire_free_at = start + len(data) * ct
        if not from_meter:
            return [(self._wire_free_at + SILENCE_CHARS * ct, data)]
        step = self.piece_chars or len(data)
        return [(start + min(k + step, len(data)) * ct, data[k : k + step])
                for k in range(0, len(data), step)]

    def _client_matches_wire(self) -> bool:
        if self.wire is None:
            return True
        try:
            _, _, cflag, _, _, ospeed, _ = termios.tcgetattr(self._client_tty)
        except (OSError, termios.error):
            return False
        baudrate, parity = self.wire
        speed = getattr(termios, f"B{baudrate}", None)
        seen = "N" if not cflag & termios.PARENB else "O" if cflag & termios.PARODD else "E"
        return ospeed == speed and seen == parity

    @staticmethod
    def _write(fd: int, data: bytes) -> None:
        with contextlib.suppress(OSError):  # nobody listening on the other end: bytes are lost
            os.write(fd, data)

    async def _forward(self, queue: asyncio.Queue[list[tuple[float, bytes]]], dst: int) -> None:
        loop = asyncio.get_running_loop()
        while True:
            for arrive_at, data in await queue.get():
                wait = arrive_at - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                self.stats.late_s += max(0.0, loop.time() - arrive_at)
                self._write(dst, data)

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        for fd in self._masters:
            if fd >= 0:
                loop.remove_reader(fd)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds.clear()
        self._masters = (-1, -1)
