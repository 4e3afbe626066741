"""One RS-485 bus (serial port) shared by every meter on it.

``RtuBus`` owns ONE pymodbus ``AsyncModbusSerialClient`` (RTU framer) per port. Meters with
different unit ids share the bus; an ``asyncio.Lock`` makes every request (with its answer)
exclusive, so frames of two meters never interleave on the wire (Modbus over serial line
v1.02, 2.1: one master, one transaction at a time). Between two frames the bus keeps the
3.5-character silence of RTU framing (2.5.1.1).

``read`` sends one request, without retrying, and raises ``BusError`` for anything but a good
answer; the meter driver owns retries. A broken port (unplugged USB adapter) is closed and
re-opened by the next request, so the bus recovers by itself when the port comes back.
"""

from __future__ import annotations

import asyncio
import termios
import time
from dataclasses import dataclass

from pymodbus.client import AsyncModbusSerialClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException
from pymodbus.framer import FramerType

from hardware.meter.planner import char_time_s


class BusError(Exception):
    """One request got no usable answer. ``kind``: "timeout", "exception", "port", "bad"."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


@dataclass(slots=True)
class BusCounters:
    """Cumulative traffic of a bus (for the benchmark)."""

    requests: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    failures: int = 0
    reconnects: int = 0

    @property
    def bytes_on_wire(self) -> int:
        return self.bytes_sent + self.bytes_received


class RtuBus:
    """A serial port speaking Modbus RTU. Create one per port and pass it to every meter on it.

    ``timeout`` is how long one request waits for its answer. Nothing is opened until the
    first request; ``close()`` releases the port (a later request opens it again). After
    ``reopen_after`` timeouts in a row with no good answer from any unit the port is closed and
    re-opened by the next request (a USB adapter that re-enumerated under the same name).
    """

    def __init__(
        self,
        port: str,
        *,
        baudrate: int = 9600,
        parity: str = "N",
        stopbits: int = 1,
        timeout: float = 1.0,
        reopen_after: int = 6,
    ) -> None:
        if parity not in ("N", "E", "O"):
            raise ValueError(f"parity must be N, E or O, not {parity!r}")
        if stopbits not in (1, 2):
            raise ValueError("stopbits must be 1 or 2")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.port = port
        self.baudrate = baudrate
        self.parity = parity
        self.stopbits = stopbits
        self.timeout = timeout
        self.reopen_after = reopen_after
        self._timeouts_in_a_row = 0
        self.char_time = char_time_s(baudrate)
        # RTU: 3.5 characters of silence between frames, at least 1.75 ms above 19200 Bd
        # (Modbus over serial line v1.02, 2.5.1.1)
        self.frame_gap_s = 1.75e-3 if baudrate > 19200 else 3.5 * self.char_time
        self.counters = BusCounters()
        self._lock = asyncio.Lock()
        self._client: AsyncModbusSerialClient | None = None
        self._last_activity = 0.0
        self._rx_buffer = b""  # pymodbus's receive buffer as last traced

    def _trace_packet(self, sending: bool, data: bytes) -> bytes:
        if sending:
            self.counters.bytes_sent += len(data)
            self._rx_buffer = b""  # pymodbus empties its receive buffer for every request
        else:
            # pymodbus hands over its whole receive buffer, not the bytes just read: an answer
            # that arrives in pieces (as it does from a UART) shows its first part again
            seen = len(self._rx_buffer) if data.startswith(self._rx_buffer) else 0
            self.counters.bytes_received += len(data) - seen
            self._rx_buffer = data
        self._last_activity = time.monotonic()
        return data

    def _new_client(self) -> AsyncModbusSerialClient:
        return AsyncModbusSerialClient(
            self.port,
            framer=FramerType.RTU,
            baudrate=self.baudrate,
            parity=self.parity,
            stopbits=self.stopbits,
            timeout=self.timeout,
            retries=0,  # the meter driver retries; one request here is one frame
            reconnect_delay=0,  # no background reconnect task: the next request re-opens
            name=f"meter-bus {self.port}",
            trace_packet=self._trace_packet,
        )

    async def _connected_client(self) -> AsyncModbusSerialClient:
        if self._client is None:
            self._client = self._new_client()
        if not self._client.connected:
            try:
                opened = await self._client.connect()
            except termios.error as exc:  # the port refuses these settings (speed, parity)
                opened, why = False, f": {exc.args[-1] if exc.args else exc}"
            else:
                why = ""
            if not opened:
                self._client.close()
                self._client = None
                raise BusError("port", f"cannot open serial port {self.port}{why}")
            self.counters.reconnects += 1
        return self._client

    def _drop_client(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def read(
        self,
        unit: int,
        function: int,
        address: int,
        count: int,
        *,
        account: BusCounters | None = None,
    ) -> list[int]:
        """Read ``count`` registers (function 3 holding / 4 input) from ``unit``.

        Returns exactly ``count`` register values or raises ``BusError``. Raises
        ``ValueError`` for a bad unit id, function or count (caller misuse). The request's
        traffic is added to ``account`` too (a meter's own counters).
        """
        if not 1 <= unit <= 247:
            raise ValueError("unit id must be 1..247")
        if function not in (3, 4):
            raise ValueError("function must be 3 or 4")
        if not 1 <= count <= 125:
            raise ValueError("count must be 1..125")
        async with self._lock:
            own = account if account is not None else BusCounters()
            sent, received = self.counters.bytes_sent, self.counters.bytes_received
            self.counters.requests += 1
            own.requests += 1
            try:
                return await self._read_locked(unit, function, address, count)
            except BusError:
                self.counters.failures += 1
                own.failures += 1
                raise
            finally:
                own.bytes_sent += self.counters.bytes_sent - sent
                own.bytes_received += self.counters.bytes_received - received

    async def _read_locked(self, unit: int, function: int, address: int, count: int) -> list[int]:
        client = await self._connected_client()
        wait = self._last_activity + self.frame_gap_s - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        call = client.read_holding_registers if function == 3 else client.read_input_registers
        try:
            try:
                response = await call(address, count=count, device_id=unit)
            except BaseException:
                # no usable answer: the meter may still be sending, so the silence before the
                # next frame counts from now (after an answer it counts from its last byte,
                # taken by _trace_packet when the bytes arrived)
                self._last_activity = time.monotonic()
                raise
        except ModbusIOException as exc:
            # no (valid) answer in time; a frame with a bad CRC is dropped by the framer and
            # ends here too
            self._timeouts_in_a_row += 1
            if self._timeouts_in_a_row >= self.reopen_after:
                self._timeouts_in_a_row = 0
                self._drop_client()
            raise BusError("timeout", f"unit {unit}: no answer to read {address}+{count}") from exc
        except (ConnectionException, OSError) as exc:
            self._drop_client()
            raise BusError("port", f"serial port {self.port}: {exc}") from exc
        except ModbusException as exc:
            raise BusError("bad", f"unit {unit}: {exc}") from exc
        self._timeouts_in_a_row = 0  # the bus works: any answer, even an exception, says so
        if response.isError():
            code = getattr(response, "exception_code", 0)
            raise BusError("exception", f"unit {unit}: exception code {code} for {address}+{count}")
        registers = list(getattr(response, "registers", []))
        if len(registers) != count:
            # a late answer to an earlier request can look like this one's: never trust it
            raise BusError("bad", f"unit {unit}: {len(registers)} registers for {count}")
        return registers

    async def close(self) -> None:
        """Release the serial port (waits for a request in progress)."""
        async with self._lock:
            self._drop_client()
