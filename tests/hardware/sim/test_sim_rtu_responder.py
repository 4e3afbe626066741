"""The virtual meter's slave side (``RtuResponder`` + ``_Unit.answer``), frame by frame: raw
RTU frames built and read with pymodbus's framer on the client's tty."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator

import pytest
from pymodbus.framer import FramerRTU
from pymodbus.pdu import DecodePDU, ExceptionResponse, ModbusPDU
from pymodbus.pdu.bit_message import ReadCoilsRequest
from pymodbus.pdu.register_message import (
    ReadHoldingRegistersRequest,
    ReadInputRegistersRequest,
    WriteSingleRegisterRequest,
)

from hardware.meter import load_model
from hardware.meter.regmap import encode
from hardware.sim.virtual_meter import VirtualMeter

NO_ANSWER_S = 0.3


@pytest.fixture
async def line() -> AsyncIterator[tuple[VirtualMeter, int]]:
    vm = VirtualMeter({1: "sdm630"})
    await vm.start()
    fd = os.open(vm.client_path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        yield vm, fd
    finally:
        os.close(fd)
        await vm.stop()


async def exchange(fd: int, frame: bytes) -> ModbusPDU | None:
    """Write ``frame``; the answer pymodbus's client framer finds, or None (silence)."""
    loop = asyncio.get_running_loop()
    framer = FramerRTU(DecodePDU(is_server=False))
    received = b""
    answer: asyncio.Future[ModbusPDU] = loop.create_future()

    def readable() -> None:
        nonlocal received
        received += os.read(fd, 4096)
        _, pdu = framer.handleFrame(received, 0, 0)
        if pdu is not None and not answer.done():
            answer.set_result(pdu)

    loop.add_reader(fd, readable)
    try:
        os.write(fd, frame)
        with contextlib.suppress(TimeoutError):
            return await asyncio.wait_for(answer, NO_ANSWER_S)
        return None
    finally:
        loop.remove_reader(fd)


def request(pdu: ModbusPDU, unit: int = 1) -> bytes:
    pdu.dev_id = unit
    return FramerRTU(DecodePDU(is_server=False)).buildFrame(pdu)


async def test_reads_the_map_s_registers_from_the_current_state(
        line: tuple[VirtualMeter, int]) -> None:
    vm, fd = line
    vm.set_electrical(1, [229.5, 231.0, 232.5], [16.0, 15.5, 0.25])
    answer = await exchange(fd, request(ReadInputRegistersRequest(address=0, count=4)))
    assert answer is not None and answer.function_code == 4 and answer.dev_id == 1
    model = load_model("sdm630")
    expected = [*encode(model.field("voltage_l1"), 229.5), *encode(model.field("voltage_l2"),
                                                                    231.0)]
    assert answer.registers == expected


@pytest.mark.parametrize(("pdu", "code"), [
    (WriteSingleRegisterRequest(address=0, registers=[1]), 1),  # measurements are read-only
    (ReadCoilsRequest(address=0, count=8), 1),  # a meter has no coils
    (ReadInputRegistersRequest(address=0x2000, count=2), 2),  # outside the map
    (ReadHoldingRegistersRequest(address=0, count=2), 2),  # sdm630: no holding registers
])
async def test_answers_what_a_meter_cannot_serve_with_an_exception(
        line: tuple[VirtualMeter, int], pdu: ModbusPDU, code: int) -> None:
    _, fd = line
    answer = await exchange(fd, request(pdu))
    assert isinstance(answer, ExceptionResponse)
    assert answer.exception_code == code and answer.dev_id == 1


async def test_a_frame_with_a_bad_crc_gets_no_answer_and_the_next_one_does(
        line: tuple[VirtualMeter, int]) -> None:
    vm, fd = line
    frame = request(ReadInputRegistersRequest(address=0, count=2))
    assert await exchange(fd, frame[:-1] + bytes([frame[-1] ^ 0xFF])) is None
    assert await exchange(fd, frame) is not None
    assert [r.answered for r in vm.requests(1)] == [True]  # the noise was never a request
