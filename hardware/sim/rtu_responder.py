"""``RtuResponder``: the slave side of a Modbus RTU line, on pymodbus's framer and PDU classes.

The virtual meter needs no more of a Modbus server than this: read what arrives on its tty,
let pymodbus's RTU framer find each request frame (length and CRC) and decode its PDU, hand the
request to ``answer`` and send back the framed reply (pymodbus again adds the CRC). Without
pymodbus's server stack (transport, transaction manager, datastore, simulator), the simulated
bench costs the safety island about a MiB less.

``answer(request)`` returns the reply PDU or None (no reply: a silent or absent unit). A frame
that pymodbus frames but cannot decode gets an illegal-function exception, as pymodbus's server
answers it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable

from pymodbus.constants import ExcCodes
from pymodbus.exceptions import ModbusIOException
from pymodbus.framer import FramerRTU
from pymodbus.pdu import DecodePDU, ExceptionResponse, ModbusPDU


class RtuResponder:
    """Answers the requests that arrive on the tty at ``path`` (a serial line's slave side)."""

    def __init__(self, path: str, answer: Callable[[ModbusPDU], ModbusPDU | None]) -> None:
        self._path = path
        self._answer = answer
        self._framer = FramerRTU(DecodePDU(is_server=True))
        self._buffer = b""
        self._fd = -1

    def start(self) -> None:
        """Open the tty and serve it on the running event loop."""
        self._fd = os.open(self._path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        asyncio.get_running_loop().add_reader(self._fd, self._readable)

    def stop(self) -> None:
        """Stop serving and close the tty (idempotent)."""
        if self._fd < 0:
            return
        asyncio.get_running_loop().remove_reader(self._fd)
        with contextlib.suppress(OSError):
            os.close(self._fd)
        self._fd = -1
        self._buffer = b""

    def _readable(self) -> None:
        try:
            data = os.read(self._fd, 4096)
        except OSError:
            return
        self._buffer += data
        while self._buffer:
            try:
                used, request = self._framer.handleFrame(self._buffer, 0, 0)
            except ModbusIOException as exc:  # framed, but no PDU pymodbus can decode
                self._buffer = b""
                self._send(ExceptionResponse(exc.fcode or 0, ExcCodes.ILLEGAL_FUNCTION,
                                             device_id=exc.dev_id or 0))
                return
            self._buffer = self._buffer[used:]
            if request is None:
                break
            reply = self._answer(request)
            if reply is not None:
                reply.dev_id = request.dev_id
                self._send(reply)
        if len(self._buffer) > FramerRTU.MAX_SIZE:  # no frame can start in it: line noise
            self._buffer = b""

    def _send(self, reply: ModbusPDU) -> None:
        with contextlib.suppress(OSError):  # nobody on the line: the answer is lost
            os.write(self._fd, self._framer.buildFrame(reply))
