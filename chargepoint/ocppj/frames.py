"""OCPP-J 1.6 frame checks, error codes and the redacting frame log.

- ``parse_frame(raw)`` looks at a text frame before the ``ocpp`` library routes it. The library
  only logs a frame it cannot parse; OCPP-J 1.6 section 4.2.3 wants a CALLERROR for a broken
  CALL. Returns the parsed frame (a JSON array) or a ``FrameProblem`` (with the CALLERROR to
  send, or ``None`` when the frame must only be ignored). A frame nested deeper than
  ``bounds.MAX_JSON_DEPTH`` or holding NaN / Infinity (not JSON) is a FormationViolation.
  ``check_frame(raw)``: the same, only the problem.
- ``schema_error(action, payload)`` validates a CALL payload against the official 1.6 schema
  and names the 1.6 error code (the library uses the 2.0 name FormatViolation and reports a bad
  enum value as a format problem).
- ``log_frame(direction, station, text, secrets)`` writes the frame log of
  ``chargepoint.logs`` with passwords, AuthorizationKey and BasicAuthPassword values replaced
  by "***".
"""

from __future__ import annotations

import decimal
import functools
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from jsonschema import FormatChecker  # type: ignore[import-untyped]
from jsonschema.exceptions import ValidationError as SchemaValidationError  # type: ignore[import-untyped]
from ocpp.charge_point import camel_to_snake_case  # type: ignore[import-untyped]
from ocpp.messages import MessageType, get_validator  # type: ignore[import-untyped]

from chargepoint import logs
from chargepoint.logs import FRAME_LOGGER
from chargepoint.ocppj import bounds
from chargepoint.ocppj.timestamps import parse_utc

# OCPP-J 1.6 section 4.2.3 error codes (1.6 spells FormationViolation, OccurenceConstraint...).
FORMATION_VIOLATION = "FormationViolation"
PROTOCOL_ERROR = "ProtocolError"
NOT_IMPLEMENTED = "NotImplemented"
NOT_SUPPORTED = "NotSupported"
TYPE_CONSTRAINT = "TypeConstraintViolation"
PROPERTY_CONSTRAINT = "PropertyConstraintViolation"
OCCURENCE_CONSTRAINT = "OccurenceConstraintViolation"

# JSON-schema keyword -> 1.6 error code (the meaning of each code per OCPP-J 1.6 table 4.2.3).
_SCHEMA_CODES = {
    "type": TYPE_CONSTRAINT,  # "violates data type constraints"
    "maxLength": TYPE_CONSTRAINT,  # CiStringN is a data type
    "minLength": TYPE_CONSTRAINT,
    "enum": PROPERTY_CONSTRAINT,  # "a field contains an invalid value"
    "minimum": PROPERTY_CONSTRAINT,
    "maximum": PROPERTY_CONSTRAINT,
    "pattern": PROPERTY_CONSTRAINT,
    "format": PROPERTY_CONSTRAINT,
    "multipleOf": PROPERTY_CONSTRAINT,
    "required": OCCURENCE_CONSTRAINT,  # "violates occurence constraints"
    "minItems": OCCURENCE_CONSTRAINT,
    "maxItems": OCCURENCE_CONSTRAINT,
    "additionalProperties": FORMATION_VIOLATION,  # "not conform the PDU structure"
}

# Library error codes with a different 1.6 spelling.
LIBRARY_TO_16 = {
    "FormatViolation": FORMATION_VIOLATION,
    "OccurrenceConstraintViolation": OCCURENCE_CONSTRAINT,
}

_DECIMAL_ACTIONS = frozenset({"SetChargingProfile", "RemoteStartTransaction"})


@functools.cache
def _known_actions() -> frozenset[str]:
    """The 1.6 actions (imported on first use: a 2.0.1 station never loads the 1.6 classes)."""
    from ocpp.v16.enums import Action  # type: ignore[import-untyped]

    return frozenset(a.value for a in Action)


_REDACT_KEYS = frozenset({"password", "authorizationkey", "basicauthpassword"})


@dataclass(frozen=True, slots=True)
class FrameProblem:
    reason: str
    reply: str | None  # the CALLERROR frame to send, None: ignore the frame


def call_error(unique_id: str, code: str, description: str, details: Any = None) -> str:
    """A CALLERROR frame ``[4, id, code, description, details]``."""
    return json.dumps(
        [MessageType.CallError, unique_id, code, description, details or {}],
        separators=(",", ":"),
    )


class _NotJson(ValueError):
    pass


def _no_constant(name: str) -> Any:
    raise _NotJson(f"{name} is not JSON")


def loads(text: str | bytes) -> Any:
    """``json.loads`` that refuses NaN / Infinity (not JSON; they would pass every bound)."""
    return json.loads(text, parse_constant=_no_constant)


def parse_frame(raw: str | bytes) -> list[Any] | FrameProblem:
    """The parsed frame, or the problem with it (see the module docstring)."""
    small = len(raw) <= bounds.THREAD_PARSE_BYTES
    if small and bounds.json_depth_exceeded(raw):
        return _too_deep(raw)
    try:
        msg = loads(raw)  # C code; a frame nested beyond ~1000 levels is a RecursionError
    except RecursionError:
        return _too_deep(raw)
    except (ValueError, UnicodeDecodeError):
        # The unique id cannot be known: "-1" as OCPP 2.0.1 prescribes for this case.
        return FrameProblem("not JSON", call_error("-1", FORMATION_VIOLATION, "Not valid JSON"))
    if not small and bounds.nested_deeper(msg):
        return _too_deep(raw)
    if not isinstance(msg, list) or not msg:
        return FrameProblem(
            "not a JSON array",
            call_error("-1", FORMATION_VIOLATION, "A frame must be a JSON array"),
        )
    unique_id = msg[1] if len(msg) > 1 and isinstance(msg[1], str) else "-1"
    kind = msg[0]
    if isinstance(kind, bool):
        kind = None  # true == 1 in Python, not in JSON
    if kind == MessageType.Call:
        if len(msg) != 4 or not isinstance(msg[1], str) or not isinstance(msg[2], str):
            return FrameProblem(
                "malformed CALL",
                call_error(unique_id, FORMATION_VIOLATION, "CALL needs [2, id, action, {}]"),
            )
        if not isinstance(msg[3], dict):
            return FrameProblem(
                "CALL payload is not an object",
                call_error(unique_id, FORMATION_VIOLATION, "Payload must be a JSON object"),
            )
        if msg[2] not in _known_actions():
            # 4.2.3: NotImplemented = "Requested Action is not known by receiver".
            return FrameProblem(
                f"unknown action {msg[2][:40]!r}",
                call_error(unique_id, NOT_IMPLEMENTED, f"Unknown action {msg[2][:40]}"),
            )
        return msg
    if kind == MessageType.CallResult:
        ok = len(msg) == 3 and isinstance(msg[1], str) and isinstance(msg[2], dict)
        return msg if ok else FrameProblem("malformed CALLRESULT ignored", None)
    if kind == MessageType.CallError:
        ok = (len(msg) == 5 and isinstance(msg[1], str) and isinstance(msg[2], str)
              and isinstance(msg[3], str))
        return msg if ok else FrameProblem("malformed CALLERROR ignored", None)
    # 4.1.3: a message with an unknown Message Type Number is ignored.
    return FrameProblem(f"unknown message type {str(kind)[:20]!r} ignored", None)


@functools.lru_cache(maxsize=1024)
def _snake_key(key: str) -> str:
    return str(camel_to_snake_case({key: None}).popitem()[0])


def snake_case(data: Any) -> Any:
    """``ocpp``'s ``camel_to_snake_case`` with each key converted once (a 940 KB
    SendLocalList repeats the same few keys thousands of times)."""
    if isinstance(data, dict):
        return {_snake_key(k): snake_case(v) for k, v in data.items()}
    if isinstance(data, list):
        return [snake_case(v) for v in data]
    return data


def _too_deep(raw: str | bytes) -> FrameProblem:
    return FrameProblem(
        f"nested deeper than {bounds.MAX_JSON_DEPTH} levels",
        call_error(bounds.call_unique_id(raw) or "-1", FORMATION_VIOLATION,
                   f"JSON nested deeper than {bounds.MAX_JSON_DEPTH} levels"))


def check_frame(raw: str | bytes) -> FrameProblem | None:
    """The problem of a frame (see ``parse_frame``), None when it is well formed."""
    parsed = parse_frame(raw)
    return parsed if isinstance(parsed, FrameProblem) else None


_DATE_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})?")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s\x00-\x1f\x7f]+")
_FORMATS = FormatChecker(formats=())


def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True  # the "type" keyword reports it
    return _DATE_TIME.fullmatch(value) is not None and bool(parse_utc(value))


def _is_uri(value: object) -> bool:
    return not isinstance(value, str) or _URI.fullmatch(value) is not None


_FORMATS.checks("date-time", raises=(ValueError, OverflowError))(_is_date_time)
_FORMATS.checks("uri")(_is_uri)


_VALIDATORS: dict[str, Any] = {}


def _validator(action: str) -> Any:
    """The 1.6 schema of a CALL with formats checked (cached); raises OSError: no schema."""
    found = _VALIDATORS.get(action)
    if found is None:
        parse_float = decimal.Decimal if action in _DECIMAL_ACTIONS else float
        base = get_validator(MessageType.Call, action, "1.6", parse_float=parse_float)
        found = type(base)(base.schema, format_checker=_FORMATS)
        _VALIDATORS[action] = found
    return found


def _where(error: SchemaValidationError) -> str:
    path = ".".join(str(p) for p in error.absolute_path)
    return path or "payload"


def schema_error(action: str, payload: dict[str, Any]) -> tuple[str, str] | None:
    """(1.6 error code, description) when a CALL payload breaks its schema or the station's
    bounds, else ``None``. Safe to call from a worker thread."""
    try:
        validator = _validator(action)
    except OSError:
        return None  # no schema: the library answers NotSupported/NotImplemented
    unstorable = bounds.unstorable(payload)
    if unstorable is not None:
        return unstorable  # first: a huge decimal would even break the multipleOf check
    checked: Any = payload
    if action in _DECIMAL_ACTIONS:
        # As the library does: these schemas use multipleOf 0.1, which only works with
        # Decimal on both sides (and its validator cache must hold the Decimal variant).
        checked = json.loads(json.dumps(payload), parse_float=decimal.Decimal)
    error: SchemaValidationError | None = next(iter(validator.iter_errors(checked)), None)
    if error is not None:
        code = _SCHEMA_CODES.get(str(error.validator), FORMATION_VIOLATION)
        rule = f"{error.validator} {error.validator_value}" if error.validator in (
            "type", "maxLength", "minLength", "format", "minimum", "maximum") else str(
            error.validator)
        return code, f"{_where(error)}: {rule}"[:200]
    return None


def _redact(value: Any, secrets: frozenset[str]) -> Any:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        variable = value.get("variable")
        is_secret_key = str(value.get("key", "")).lower() in _REDACT_KEYS or (  # 1.6 / 2.0.1
            isinstance(variable, dict) and str(variable.get("name", "")).lower() in _REDACT_KEYS)
        for k, v in value.items():
            if k.lower() in _REDACT_KEYS or (is_secret_key and k in ("value", "attributeValue")):
                out[k] = "***"
            else:
                out[k] = _redact(v, secrets)
        return out
    if isinstance(value, list):
        return [_redact(v, secrets) for v in value]
    if isinstance(value, str) and value in secrets:
        return "***"
    return value


def redact(text: str | bytes, secrets: frozenset[str] = frozenset()) -> str:
    """The frame text with secrets replaced (unparseable text: secrets replaced literally)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    try:
        if bounds.json_depth_exceeded(text):
            raise ValueError("too deep to walk")  # a hostile frame must not exhaust the stack
        parsed = json.loads(text)
    except (ValueError, RecursionError):
        text = text[:1000]  # unparseable: a sample is enough (the frame may be megabytes)
        for secret in secrets:
            text = text.replace(secret, "***")
        return text
    return json.dumps(_redact(parsed, secrets), separators=(",", ":"))


def log_frame(
    direction: str, station: str, text: str | bytes, secrets: frozenset[str] = frozenset()
) -> None:
    """Log one frame (``direction`` "<-" received, "->" sent) to the frame log of
    ``chargepoint.logs`` (on with ``[logging] frames``), with the journal fields OCPP_ACTION
    and OCPP_UNIQUE_ID. Free when the frame log is off."""
    if not logging.getLogger(FRAME_LOGGER).isEnabledFor(logging.INFO):
        return
    clean = redact(text, secrets)
    action = unique_id = None
    try:
        frame = json.loads(clean)
        if isinstance(frame, list) and len(frame) >= 2:
            unique_id = str(frame[1])[:40]
            if frame[0] == 2 and len(frame) > 2:
                action = str(frame[2])[:40]
    except (ValueError, RecursionError):
        pass
    logs.log_frame(direction, f"{station} {clean}", action=action, unique_id=unique_id)


class RedactingFilter(logging.Filter):
    """Redacts frames the ``ocpp`` library logs itself (e.g. "Error while handling request")."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: frozenset[str] = frozenset()

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        if args:
            record.args = tuple(self._clean(a) for a in args)
        return True

    def _clean(self, arg: object) -> object:
        to_json = getattr(arg, "to_json", None)
        if callable(to_json):
            return redact(str(to_json()), self.secrets)
        if isinstance(arg, str | bytes):
            return redact(arg, self.secrets)
        return arg


LIBRARY_LOG = logging.getLogger("chargepoint.ocpp.lib")
LIBRARY_FILTER = RedactingFilter()
LIBRARY_LOG.addFilter(LIBRARY_FILTER)
