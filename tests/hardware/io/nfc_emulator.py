"""A contactless card on 127.0.0.1, speaking nfcpy's UDP driver protocol (nfc/clf/udp.py).

Each datagram is ``b"<brty> <hex payload>"``; a bare ``b"RFOFF"`` means "field off". The reader
(nfcpy's ``udp:`` device, the initiator) sends SENS_REQ / SDD_REQ / SEL_REQ (type A),
SENSB_REQ (type B) or SENSF_REQ (type F) and waits for the card's answer. When no card of that
technology is present the emulator answers ``RFOFF`` at once, which nfcpy treats as a broken
link, i.e. nothing found, instead of letting it wait a second for a timeout.

nfcpy's own target mode (``ContactlessFrontend.listen``) binds 0.0.0.0; this emulator binds
127.0.0.1 only, as our test rules require.
"""

from __future__ import annotations

import asyncio
import functools
import operator
import socket
from dataclasses import dataclass
from typing import Any, cast


@dataclass(frozen=True)
class CardA:
    uid: bytes  # 4, 7 or 10 bytes
    sel_res: int = 0x08  # MIFARE Classic 1K (not an NFC Forum tag: sense-only readers need it)
    sens_res: bytes = bytes.fromhex("4400")

    def cascade(self) -> list[bytes]:
        """SDD_RES per cascade level, with cascade tags and BCC (ISO 14443-3 6.5.4)."""
        uid = self.uid
        parts = {4: [uid], 7: [b"\x88" + uid[:3], uid[3:]],
                 10: [b"\x88" + uid[:3], b"\x88" + uid[3:6], uid[6:]]}[len(uid)]
        return [p + bytes([functools.reduce(operator.xor, p)]) for p in parts]


@dataclass(frozen=True)
class CardB:
    pupi: bytes  # 4 bytes

    def sensb_res(self) -> bytes:
        return b"\x50" + self.pupi + bytes.fromhex("00000000") + bytes.fromhex("008171")


@dataclass(frozen=True)
class CardF:
    idm: bytes  # 8 bytes
    pmm: bytes = bytes.fromhex("0120220427674EFF")
    sys: bytes = bytes.fromhex("0003")

    def sensf_res(self) -> bytes:
        body = b"\x01" + self.idm + self.pmm + self.sys
        return bytes([len(body) + 1]) + body


Card = CardA | CardB | CardF


def _has_service_name(port: int) -> bool:
    try:
        socket.getservbyport(port, "udp")
    except OSError:
        return False
    return True


class CardEmulator(asyncio.DatagramProtocol):
    """Put a card on the field with ``present(card)``, take it off with ``present(None)``.

    ``polls`` counts the reader's sense attempts (SENS_REQ of type A); ``wait_polls(n)`` waits
    until ``n`` more have happened, i.e. the reader has seen the current field ``n`` times.
    """

    def __init__(self) -> None:
        self.card: Card | None = None
        self.polls = 0
        self._transport: asyncio.DatagramTransport | None = None
        self._changed = asyncio.Condition()
        self.mute = False  # True: do not answer at all (a reader whose field reaches no card)

    @classmethod
    async def start(cls) -> tuple[CardEmulator, int]:
        """Bind a free port on 127.0.0.1 that has no /etc/services name.

        nfcpy quirk: its udp driver resolves the port with ``getnameinfo`` without
        ``NI_NUMERICSERV`` and then calls ``int()`` on the result, so a port with a service
        name (9 -> "discard") breaks it.
        """
        loop = asyncio.get_running_loop()
        while True:
            transport, proto = await loop.create_datagram_endpoint(
                cls, local_addr=("127.0.0.1", 0)
            )
            port: int = transport.get_extra_info("sockname")[1]
            if not _has_service_name(port):
                return proto, port
            transport.close()

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)

    def present(self, card: Card | None) -> None:
        self.card = card

    async def wait_polls(self, n: int) -> None:
        target = self.polls + n
        async with self._changed:
            await self._changed.wait_for(lambda: self.polls >= target)

    def _send(self, brty: str, payload: bytes, addr: Any) -> None:
        assert self._transport is not None
        self._transport.sendto(f"{brty} {payload.hex()}".encode(), addr)

    def _nothing(self, addr: Any) -> None:
        assert self._transport is not None
        self._transport.sendto(b"RFOFF", addr)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if data.startswith(b"RFOFF") or self.mute:
            return
        brty_b, hexdata = data.split()
        brty, cmd = brty_b.decode(), bytes.fromhex(hexdata.decode())
        card = self.card
        if brty == "106A":
            self._type_a(card if isinstance(card, CardA) else None, cmd, addr)
        elif brty == "106B":
            if isinstance(card, CardB) and cmd[:1] == b"\x05":
                self._send(brty, card.sensb_res(), addr)
            else:
                self._nothing(addr)
        elif brty == "212F":
            if isinstance(card, CardF) and cmd[:2] == b"\x06\x00":
                self._send(brty, card.sensf_res(), addr)
            else:
                self._nothing(addr)

    def _type_a(self, card: CardA | None, cmd: bytes, addr: Any) -> None:
        if cmd == b"\x26":  # SENS_REQ: one sense attempt of the reader
            self.polls += 1
            asyncio.get_running_loop().create_task(self._notify())
            if card is None:
                self._nothing(addr)
            else:
                self._send("106A", card.sens_res, addr)
            return
        if card is None:
            return
        levels = card.cascade()
        for i, sel in enumerate(b"\x93\x95\x97"[: len(levels)]):
            if cmd == bytes([sel, 0x20]):  # SDD_REQ
                self._send("106A", levels[i], addr)
                return
            if cmd == bytes([sel, 0x70]) + levels[i]:  # SEL_REQ
                more = i + 1 < len(levels)
                sel_res = (card.sel_res & 0xFB) | (0x04 if more else 0)
                self._send("106A", bytes([sel_res]), addr)
                return

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()
