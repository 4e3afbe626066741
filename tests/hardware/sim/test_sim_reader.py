"""VirtualReader: tapped cards come out of events() as upper-case ISO14443A tokens."""

from __future__ import annotations

import asyncio

import pytest

from hardware.interfaces import ReaderFailure, ReaderRecovered, Token, TokenReader
from hardware.sim.reader import VirtualReader, normalize_uid


async def test_tap_yields_upper_case_token() -> None:
    reader = VirtualReader()
    assert isinstance(reader, TokenReader)
    events = reader.events()
    reader.tap("04a1b2c3d4e5f6")
    event = await asyncio.wait_for(anext(events), 5)
    assert event == Token("04A1B2C3D4E5F6", "ISO14443A")
    await reader.close()


async def test_events_in_order_and_end_on_close() -> None:
    reader = VirtualReader()
    reader.tap("04A1B2C3")
    reader.fail("gone")
    reader.recover()
    await reader.close()
    seen = [event async for event in reader.events()]
    assert seen == [Token("04A1B2C3", "ISO14443A"), ReaderFailure("gone"), ReaderRecovered()]
    with pytest.raises(ValueError, match="closed"):
        reader.tap("04A1B2C3")


@pytest.mark.parametrize("uid", ["", "XYZ", "04A1B2C", "04:A1:B2:C3", "00" * 11, "0x04A1"])
def test_bad_uid_raises(uid: str) -> None:
    with pytest.raises(ValueError, match="UID"):
        normalize_uid(uid)


def test_uid_is_stripped_and_upper_cased() -> None:
    assert normalize_uid(" deadbeef ") == "DEADBEEF"
