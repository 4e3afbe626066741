"""What the station accepts from a CSMS: the limits of its CSMS-facing defences in one place.

A CSMS may be broken or hostile; every value it sends is checked against these bounds at the
edge (``frames`` for CALL payloads and CALLRESULT answers, ``timestamps.Clock`` for the wall
clock, ``firmware_handlers`` for transfer retries) so that nothing past the edge can overflow,
spin or crash. docs/security.md ("CSMS-facing defences") explains each bound.

- ``unstorable(payload)``: the first value the station cannot store: an integer beyond 32 bit
  (OCPP 1.6 ``integer``), a decimal not finite or beyond ``MAX_DECIMAL``, a string that is
  not valid Unicode (a lone surrogate escape); as (OCPP-J error code, description without
  the value), else ``None``.
- ``json_depth_exceeded(text)``: True when a frame nests deeper than ``MAX_JSON_DEPTH``
  (counted without recursion, so a hostile frame cannot exhaust the parser's stack);
  ``nested_deeper(value)``: the same for an already parsed value.
- ``fewer_values(value, limit)``: True when parsed JSON holds fewer than ``limit`` values
  (stops counting there): small enough to schema-check on the event loop.
- ``call_unique_id(text)``: the unique id of a CALL read from the head of a frame that cannot
  be parsed as a whole (for the CALLERROR), else ``None``.
- ``clock_plausible(dt)``: a CSMS time the station may adopt (``EARLIEST_TIME`` .. ``LATEST_TIME``).
- ``clamp_transfer(retries, retry_interval)``: UpdateFirmware / GetDiagnostics retry settings
  within ``MAX_TRANSFER_RETRIES`` / ``MAX_RETRY_INTERVAL_S`` (one log line when clamped).
"""

from __future__ import annotations

import logging
import math
import re
from datetime import UTC, datetime
from typing import Any

LOG = logging.getLogger("chargepoint.ocpp")

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
MAX_DECIMAL = 1e9  # |decimal| the station stores (a limit of 1 GW / 1 GA is already absurd)

MAX_FRAME_BYTES = 4 * 2**20  # a frame above this closes the connection (WebSocket 1009)
MAX_JSON_DEPTH = 32  # the deepest 1.6 CALL nests 7 levels (SetChargingProfile)
THREAD_PARSE_BYTES = 64 * 2**10  # frames above this are parsed and validated off the loop
INLINE_VALIDATION_VALUES = 500  # a payload of fewer JSON values is schema-checked on the loop

# Not before this release was built (a CSMS clock in the past is wrong), not after 2100.
EARLIEST_TIME = datetime(2026, 11, 1, tzinfo=UTC)
LATEST_TIME = datetime(2100, 1, 1, tzinfo=UTC)
CLOCK_JUMP_S = 300.0  # a CSMS time that moves our clock by more is a security event

MAX_TRANSFER_RETRIES = 10  # UpdateFirmware / GetDiagnostics / GetLog ``retries``
MAX_RETRY_INTERVAL_S = 3600  # their ``retryInterval``

TYPE_CONSTRAINT = "TypeConstraintViolation"
PROPERTY_CONSTRAINT = "PropertyConstraintViolation"

_STRINGS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)  # "unrolled": fast in re
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_INNERMOST = re.compile(r"\[\]|\{\}")
_CALL_HEAD = re.compile(r'\s*\[\s*2\s*,\s*"((?:[^"\\]|\\.){0,36})"')


def _walk(node: Any, path: str) -> tuple[str, str] | None:
    if isinstance(node, bool):
        return None
    if isinstance(node, int):
        if not INT32_MIN <= node <= INT32_MAX:
            return TYPE_CONSTRAINT, f"{path or 'value'}: integer outside 32 bit"
        return None
    if isinstance(node, float):
        if not math.isfinite(node) or abs(node) > MAX_DECIMAL:
            return PROPERTY_CONSTRAINT, f"{path or 'value'}: number not finite or > {MAX_DECIMAL:g}"
        return None
    if isinstance(node, str):
        if not node.isascii():
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                return PROPERTY_CONSTRAINT, f"{path or 'value'}: string is not valid Unicode"
        return None
    if isinstance(node, dict):
        for key, value in node.items():
            found = _walk(key, path) or _walk(value, f"{path}.{key}" if path else str(key))
            if found is not None:
                return found
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found = _walk(value, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def unstorable(payload: Any) -> tuple[str, str] | None:
    """(error code, description) for the first value the station cannot store, else None.

    OCPP-J 1.6 section 4.2.3: an integer beyond 32 bit breaks the data type (1.6 ``integer``)
    -> TypeConstraintViolation; a non-finite or absurd decimal, or a string that is not
    Unicode, is an invalid value -> PropertyConstraintViolation. The description names the
    field, never its value."""
    return _walk(payload, "")


def json_depth_exceeded(text: str | bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when ``text`` nests arrays/objects deeper than ``limit`` (strings are skipped)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if text.count("[") + text.count("{") <= limit:
        return False  # cannot nest deeper than it has brackets
    # Only regular expressions (C speed, no recursion): keep the brackets outside strings,
    # then peel the innermost pairs off once per level.
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub("", text))
    for _ in range(limit):
        peeled = _INNERMOST.sub("", brackets)
        if peeled == brackets:  # unbalanced: too deep if that many are still open
            return len(peeled) > limit
        if not peeled:
            return False
        brackets = peeled
    return True


def nested_deeper(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when parsed JSON nests deeper than ``limit`` (an explicit stack, no recursion).
    For big frames: pure Python, so a worker thread running it leaves the event loop its
    share of the GIL (one regular expression over megabytes would not)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, dict | list))
    return False


def fewer_values(value: Any, limit: int = INLINE_VALIDATION_VALUES) -> bool:
    """True when ``value`` (parsed JSON) holds fewer than ``limit`` values, containers and
    object keys counted; the walk stops at ``limit``, so a huge payload costs no more."""
    count = 1
    stack: list[Any] = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            count += 2 * len(node)  # keys and values
            children: Any = node.values()
        elif isinstance(node, list):
            count += len(node)
            children = node
        else:
            continue
        if count >= limit:
            return False
        stack.extend(children)
    return count < limit


def call_unique_id(text: str | bytes) -> str | None:
    """The unique id of a frame that starts like a CALL (``[2, "id", ...``), else None."""
    if isinstance(text, bytes):
        text = text[:200].decode("utf-8", "replace")
    match = _CALL_HEAD.match(text[:200])
    return match.group(1) if match else None


def clock_plausible(dt: datetime) -> bool:
    """True when a CSMS time may be adopted (within ``EARLIEST_TIME`` .. ``LATEST_TIME``)."""
    return EARLIEST_TIME <= dt < LATEST_TIME


def clamp_transfer(action: str, retries: int | None,
                   retry_interval: int | None) -> tuple[int | None, float | None]:
    """``retries`` and ``retryInterval`` of a transfer request within the bounds (a line in
    the log when one was clamped); None stays None (the manager's default)."""
    r, i = retries, retry_interval
    if r is not None:
        r = min(max(r, 0), MAX_TRANSFER_RETRIES)
    if i is not None:
        i = min(max(i, 0), MAX_RETRY_INTERVAL_S)
    if (r, i) != (retries, retry_interval):
        LOG.warning("%s: retries %s / retryInterval %s clamped to %s / %s", action, retries,
                    retry_interval, r, i)
    return r, float(i) if i is not None else None
