"""NfcReader through nfcpy's real ``udp:`` driver against a card emulator on 127.0.0.1."""

from __future__ import annotations

import asyncio
import errno
import socket
import threading
from collections.abc import AsyncIterator
from typing import Any

import nfc.clf
import nfc.clf.udp
import pytest

from hardware.interfaces import ReaderEvent, ReaderFailure, ReaderRecovered, Token, TokenReader
from hardware.rfid import (
    CardDebouncer,
    Frontend,
    NfcReader,
    format_uid,
    open_frontend,
    read_one,
    token_from_target,
)

from .nfc_emulator import CardA, CardB, CardEmulator, CardF

UID7 = bytes.fromhex("04a1b2c3d4e5f6")


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """nfcpy's udp driver lets the kernel bind its socket to 0.0.0.0; keep it on loopback."""
    original = nfc.clf.udp.Device._create_socket

    def create(self: Any) -> None:
        fresh = self.socket is None
        original(self)
        if fresh:
            self.socket.bind(("127.0.0.1", 0))

    monkeypatch.setattr(nfc.clf.udp.Device, "_create_socket", create)


@pytest.fixture
async def emulator() -> AsyncIterator[tuple[CardEmulator, str]]:
    emu, port = await CardEmulator.start()
    yield emu, f"udp:127.0.0.1:{port}"
    emu.close()


async def next_event(it: AsyncIterator[ReaderEvent]) -> ReaderEvent:
    return await asyncio.wait_for(anext(it), timeout=20)


# --- pure parts ---------------------------------------------------------------------------


def test_format_uid() -> None:
    assert format_uid(bytes.fromhex("04a1b2c3")) == "04A1B2C3"
    assert format_uid(bytearray(b"\x00\x0f")) == "000F"


@pytest.mark.parametrize(
    ("target", "token"),
    [
        (nfc.clf.RemoteTarget("106A", sens_res=b"\x04\x00", sel_res=b"\x08",
                              sdd_res=bytes.fromhex("deadbeef")), Token("DEADBEEF", "ISO14443A")),
        (nfc.clf.RemoteTarget("106A", sens_res=b"\x44\x00", sel_res=b"\x00", sdd_res=UID7),
         Token("04A1B2C3D4E5F6", "ISO14443A")),
        (nfc.clf.RemoteTarget("106A", sdd_res=bytes(range(10))),
         Token("00010203040506070809", "ISO14443A")),
        (nfc.clf.RemoteTarget("106A", sens_res=b"\x00\x0c",
                              rid_res=bytes.fromhex("1148a1b2c3d4")),
         Token("A1B2C3D4", "ISO14443A")),
        (nfc.clf.RemoteTarget("106B", sensb_res=bytes.fromhex("50 0a0b0c0d 00000000 008171")),
         Token("0A0B0C0D", "ISO14443B")),
        (nfc.clf.RemoteTarget("212F", sensf_res=bytes.fromhex(
            "01 012e4cd2a1b2c3d4 0120220427674eff 0003")), Token("012E4CD2A1B2C3D4", "FeliCa")),
        (nfc.clf.RemoteTarget("106A", sdd_res=b"\x01\x02"), None),
        (nfc.clf.RemoteTarget("106B", sensb_res=b"\x50"), None),
    ],
)
def test_token_from_target(target: Any, token: Token | None) -> None:
    assert token_from_target(target) == token


def test_debouncer() -> None:
    a, b = Token("AA", "ISO14443A"), Token("BB", "ISO14443A")
    d = CardDebouncer(2.0)
    assert d.seen(a, 0.0) == a
    assert d.seen(a, 0.1) is None  # held
    assert d.seen(None, 0.2) is None
    assert d.seen(a, 1.9) is None  # back within 2 s of the last sighting
    assert d.seen(None, 2.0) is None
    assert d.seen(a, 3.89) is None
    assert d.seen(a, 5.9) == a  # away for 2 s
    assert d.seen(b, 5.95) == b  # another card: at once
    assert d.seen(a, 6.0) == a
    with pytest.raises(ValueError):
        CardDebouncer(-1)


# --- over nfcpy's udp driver --------------------------------------------------------------


@pytest.mark.parametrize(
    ("card", "token"),
    [
        (CardA(UID7), Token("04A1B2C3D4E5F6", "ISO14443A")),
        (CardA(bytes.fromhex("deadbeef"), sens_res=b"\x04\x00"), Token("DEADBEEF", "ISO14443A")),
        (CardA(bytes(range(1, 11)), sel_res=0x20), Token("0102030405060708090A", "ISO14443A")),
        (CardB(bytes.fromhex("0a0b0c0d")), Token("0A0B0C0D", "ISO14443B")),
        (CardF(bytes.fromhex("012e4cd2a1b2c3d4")), Token("012E4CD2A1B2C3D4", "FeliCa")),
    ],
)
async def test_reads_each_card_type(emulator: tuple[CardEmulator, str], card: Any,
                                    token: Token) -> None:
    emu, path = emulator
    reader = NfcReader(path, poll_interval_s=0.01)
    assert isinstance(reader, TokenReader)
    emu.present(card)
    it = reader.events()
    try:
        assert await next_event(it) == token
    finally:
        await reader.close()
    with pytest.raises(StopAsyncIteration):
        await next_event(it)


async def test_held_card_reported_once_then_again_after_removal(
    emulator: tuple[CardEmulator, str],
) -> None:
    emu, path = emulator
    reader = NfcReader(path, debounce_s=0.2, poll_interval_s=0.01)
    a, b = CardA(UID7), CardA(bytes.fromhex("11223344"), sens_res=b"\x04\x00")
    it = reader.events()
    try:
        emu.present(a)
        assert await next_event(it) == Token("04A1B2C3D4E5F6", "ISO14443A")
        await emu.wait_polls(5)  # held for five more polls: no second report...
        emu.present(b)
        assert await next_event(it) == Token("11223344", "ISO14443A")  # ...the next is B
        emu.present(None)
        await emu.wait_polls(2)
        loop = asyncio.get_running_loop()
        gone_at = loop.time()
        while loop.time() - gone_at < 0.25:  # away longer than the debounce
            await emu.wait_polls(1)
        emu.present(b)
        assert await next_event(it) == Token("11223344", "ISO14443A")
    finally:
        await reader.close()


async def test_brief_lift_is_not_a_new_tap(emulator: tuple[CardEmulator, str]) -> None:
    emu, path = emulator
    reader = NfcReader(path, debounce_s=60.0, poll_interval_s=0.01)
    it = reader.events()
    try:
        emu.present(CardA(UID7))
        assert await next_event(it) == Token("04A1B2C3D4E5F6", "ISO14443A")
        emu.present(None)
        await emu.wait_polls(3)
        emu.present(CardA(UID7))
        await emu.wait_polls(3)
        emu.present(CardB(bytes.fromhex("0a0b0c0d")))
        assert await next_event(it) == Token("0A0B0C0D", "ISO14443B")
    finally:
        await reader.close()


class Unpluggable:
    """Wraps the real nfcpy frontend factory with a USB cable the test can pull."""

    def __init__(self) -> None:
        self.unplugged = threading.Event()
        self.opened = 0

    def __call__(self, path: str) -> Frontend:
        if self.unplugged.is_set():
            raise OSError(errno.ENODEV, "No such device")
        self.opened += 1
        real = open_frontend(path)
        outer = self

        class Plugged:
            def sense(self, *targets: Any, **options: Any) -> Any:
                if outer.unplugged.is_set():
                    raise OSError(errno.EIO, "Input/output error")
                return real.sense(*targets, **options)

            def close(self) -> None:
                real.close()

        return Plugged()


async def test_reader_failure_and_recovery(emulator: tuple[CardEmulator, str]) -> None:
    emu, path = emulator
    cable = Unpluggable()
    reader = NfcReader(path, debounce_s=60.0, poll_interval_s=0.01, reopen_interval_s=0.02,
                       frontend_factory=cable)
    it = reader.events()
    try:
        emu.present(CardA(UID7))
        assert isinstance(await next_event(it), Token)
        emu.present(None)
        cable.unplugged.set()
        event = await next_event(it)
        assert isinstance(event, ReaderFailure) and "Input/output" in event.reason
        cable.unplugged.clear()
        assert await next_event(it) == ReaderRecovered()
        assert cable.opened == 2
        emu.present(CardF(bytes.fromhex("012e4cd2a1b2c3d4")))
        assert await next_event(it) == Token("012E4CD2A1B2C3D4", "FeliCa")
    finally:
        await reader.close()


async def test_absent_device_is_a_failure_not_an_exception() -> None:
    reader = NfcReader("tty:NOSUCHPORT9:pn532", reopen_interval_s=60.0)
    it = reader.events()
    try:
        event = await next_event(it)
        assert isinstance(event, ReaderFailure) and "NOSUCHPORT9" in event.reason
    finally:
        await reader.close()


async def test_read_one(emulator: tuple[CardEmulator, str]) -> None:
    emu, path = emulator
    emu.present(CardB(bytes.fromhex("0a0b0c0d")))
    assert await read_one(path, 10.0) == Token("0A0B0C0D", "ISO14443B")
    emu.present(None)
    assert await read_one(path, 0.3) is None
    with pytest.raises(OSError):
        await read_one("tty:NOSUCHPORT9:pn532", 5.0)


async def test_close_stops_the_worker_thread(emulator: tuple[CardEmulator, str]) -> None:
    _emu, path = emulator
    reader = NfcReader(path, poll_interval_s=0.01)
    it = reader.events()
    pending = asyncio.ensure_future(anext(it))
    await asyncio.sleep(0)
    assert reader.running
    await reader.close()
    assert not reader.running
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(pending, 20)
    await reader.close()  # idempotent


def test_loopback_fixture_binds_loopback() -> None:
    dev = nfc.clf.udp.Device("127.0.0.1", 54321)
    try:
        dev._create_socket()
        assert dev.socket.getsockname()[0] == "127.0.0.1"
        assert dev.socket.family == socket.AF_INET
    finally:
        dev.socket.close()
