"""The messages between the main process and the island.

Transport: one ``AF_UNIX`` ``SOCK_SEQPACKET`` socket pair (the island inherits one end), one
JSON object per datagram, so a message is never split or merged. Every message has ``op``.

Main -> island (commands; the island answers only with ``refused`` or a changed ``state``):

- ``{"op": "duty", "c": 1, "duty": 26.7}`` PWM on; ``pwm_off``; ``state_f``
- ``{"op": "close", "c": 1, "lease_s": 2.0}`` close under a charge lease (``rules.grant``)
- ``{"op": "renew", "c": [1, 2], "lease_s": 2.0}`` renew the leases of closed contactors
- ``{"op": "open", "c": 1}``; ``lock`` / ``unlock``
- ``{"op": "test_close", "c": 1}`` a technician's relay test (a test lease)
- ``{"op": "shutdown"}`` open everything, pilot to F, release the pins, exit

Island -> main:

- ``hello``: sent once: ``connectors``, ``spi`` (``hardware`` / ``software`` / ``sim``),
  ``realtime`` (what scheduling the island got), ``sim`` (the sim socket path or null)
- ``state``: one connector's pins after any change (see ``loop.Island._state``)
- ``power``: ``{"mains_ok": bool}`` after a change
- ``opened``: ``{"c", "reason", "at"}`` the island opened a contactor on its own
- ``refused``: ``{"c", "what", "reason"}`` a command the island would not carry out
- ``alive``: every ``ALIVE_S`` so the main process can tell a hung island from a quiet one
"""

from __future__ import annotations

import json
import socket
from typing import Any

MAX_DATAGRAM = 64 * 1024
ALIVE_S = 1.0  # the island says it is alive this often (the main process waits 3 s: link.STALE_S)


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode()


def decode(data: bytes) -> dict[str, Any]:
    """One datagram as a message. Raises ``ValueError`` for anything but a JSON object with
    a string ``op``."""
    message = json.loads(data)
    if not isinstance(message, dict) or not isinstance(message.get("op"), str):
        raise ValueError(f"not an island message: {data[:80]!r}")
    return message


def pair() -> tuple[socket.socket, socket.socket]:
    """(main's end, the island's end), both close-on-exec except when passed explicitly."""
    return socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
